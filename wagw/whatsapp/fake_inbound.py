"""The fake backend's inbound control messages (JSON on `wagw:fake:inbound`) -> wagw events.

Each message is one JSON object with a "type". WhatsApp events (built with wagw.events, so
they match what the neonize backend produces for the same thing):

    {"type": "message", "id", "chat", "sender", "push_name", "text", "timestamp",
     "is_from_me", "chat_alt", "sender_alt", "reply_to", "quoted_text", "forwarded",
     "view_once", "media": {"kind": "image"|"video"|"audio"|"document"|"sticker"|"video_note",
                            "url", "mimetype", "caption", "filename", ...,
                            "download": "crash"|"hang"|"fail"|"expired"},
     "poll": {"question", "options": [...], "max_answers"}}
    {"type": "reaction", "id", "chat", "sender", "target_id", "emoji", ...}
    {"type": "receipt", "ids", "chat", "sender", "receipt_type", "timestamp"}
    {"type": "revoked", "id", "chat", "sender", "target_id", "target_from_me", ...}
    {"type": "edited", "id", "chat", "sender", "target_id", "text", ...}
    {"type": "group_participants", "chat", "change": "join"|"leave"|"promote"|"demote", "jids", "by"}
    {"type": "call_offer", "call_id", "sender", "platform", "version"}

A media message's direct_path, media_key, hashes, file_length and url are the fake's own,
derived from the message id and kind (fake_media): the fake's download_media serves bytes
whose sha256 is that file_sha256.
"chat" defaults to "sender" (a direct chat). "timestamp" is unix seconds, default now.
As with the neonize backend, a call offer carries no group (neonize does not pass it on: a
"group" key is refused) and anything on "status@broadcast" (status updates) becomes no event:
to_event returns None and the message is acknowledged without reaching the session.
Control messages (not WhatsApp events): {"type": "crash"} and
{"type": "disconnect", "reason": "logged_out"|"stream_replaced"|"temporary_ban"|"connect_failure"}.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any, Literal, overload

from wagw import events
from wagw.events import InboundEvent

CONTROL_TYPES = ("crash", "disconnect")


class Malformed(ValueError):
    """The control message cannot become an event; the reason says why."""


@overload
def _str(data: dict, name: str, *, required: Literal[True] = ..., default: str | None = None) -> str: ...
@overload
def _str(data: dict, name: str, *, required: bool, default: str | None = None) -> str | None: ...
def _str(data: dict, name: str, *, required: bool = True, default: str | None = None) -> str | None:
    value = data.get(name, default)
    if value is None or value == "":
        if required:
            raise Malformed(f"missing {name!r}")
        return None
    if not isinstance(value, str):
        raise Malformed(f"{name!r} must be a string")
    return value


def _bool(data: dict, name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise Malformed(f"{name!r} must be true or false")
    return value


def _timestamp(data: dict) -> float:
    value = data.get("timestamp")
    if value is None:
        return time.time()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise Malformed("'timestamp' must be unix seconds")
    return value


def _str_list(data: dict, name: str) -> list[str]:
    value = data.get(name)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise Malformed(f"{name!r} must be a non-empty list of strings")
    return value


def _people(data: dict) -> dict[str, Any]:
    sender = _str(data, "sender", required="chat" not in data)
    chat = _str(data, "chat", required=False) or sender
    return {
        "chat": chat,
        "sender": sender or chat,
        "chat_alt": _str(data, "chat_alt", required=False),
        "sender_alt": _str(data, "sender_alt", required=False),
        "push_name": _str(data, "push_name", required=False),
        "is_from_me": _bool(data, "is_from_me"),
        "timestamp": _timestamp(data),
    }


# The fake's media: bytes derived from a 32-byte media key, so that download_media on the
# fake returns deterministic content whose sha256 is the event's file_sha256.
FAKE_MEDIA_PREFIX = "/v/t62.fake/"
# `"media": {…, "download": <one of these>}` stages what download_media meets for it.
STAGED_DOWNLOADS = ("crash", "hang", "fail", "expired")


def fake_media_bytes(media_key: bytes, length: int) -> bytes:
    """The fake's content for a media key: `length` bytes of a SHA-256 counter stream."""
    blocks = (hashlib.sha256(media_key + i.to_bytes(4, "big")).digest() for i in range((length + 31) // 32))
    return b"".join(blocks)[:length]


def fake_media(message_id: str, kind: str) -> dict[str, Any]:
    """Deterministic download fields of the fake's media message `message_id`."""
    key = hashlib.sha256(f"wagw-fake-media:{kind}:{message_id}".encode()).digest()
    length = 1024 + key[0] * 16
    content = fake_media_bytes(key, length)
    encrypted = hashlib.sha256(b"enc" + content).digest()
    direct_path = f"{FAKE_MEDIA_PREFIX}{encrypted.hex()[:24]}.enc"
    return {
        "url": f"https://mmg.whatsapp.net{direct_path}?ccb=11-4&oh=fake&oe=fake",
        "direct_path": direct_path,
        "media_key": base64.b64encode(key).decode(),
        "file_sha256": base64.b64encode(hashlib.sha256(content).digest()).decode(),
        "file_enc_sha256": base64.b64encode(encrypted).decode(),
        "file_length": length,
    }


def _media(data: dict, message_id: str = "") -> tuple[str, dict] | None:
    media = data.get("media")
    if media is None:
        return None
    if not isinstance(media, dict):
        raise Malformed("'media' must be an object")
    kind = media.get("kind")
    if kind not in events.MEDIA_KINDS:
        raise Malformed(f"'media.kind' must be one of {', '.join(events.MEDIA_KINDS)}")
    obj = {k: v for k, v in media.items() if k not in ("kind", "download")}
    if "mimetype" in obj:
        obj["mime_type"] = obj.pop("mimetype")
    obj.update(fake_media(message_id, kind))
    staged = media.get("download")
    if staged is not None:
        # The fake's download_media conventions (docs/jobs.md): this message's media crashes
        # the host with a real Go panic, hangs, fails or has expired when downloaded.
        if staged not in STAGED_DOWNLOADS:
            raise Malformed(f"'media.download' must be one of {', '.join(STAGED_DOWNLOADS)}")
        obj["direct_path"] = f"{FAKE_MEDIA_PREFIX}{staged}.enc"
        obj["url"] = f"https://mmg.whatsapp.net{obj['direct_path']}?ccb=11-4&oh=fake&oe=fake"
    return kind, obj


def _poll(data: dict) -> dict[str, Any] | None:
    poll = data.get("poll")
    if poll is None:
        return None
    if not isinstance(poll, dict) or not isinstance(poll.get("question"), str):
        raise Malformed("'poll' must be an object with a 'question'")
    options = _str_list(poll, "options")
    max_answers = poll.get("max_answers", 1)
    if isinstance(max_answers, bool) or not isinstance(max_answers, int) or max_answers < 0:
        raise Malformed("'poll.max_answers' must be a whole number")
    return {"poll": {"question": poll["question"], "options": options, "max_answers": max_answers}}


def to_event(data: Any) -> InboundEvent | None:
    """One parsed control message -> one wagw event, or None when WhatsApp's event is not one
    wagw delivers (a status update); raise Malformed when it cannot be."""
    if not isinstance(data, dict):
        raise Malformed("not a JSON object")
    kind = data.get("type")
    chat = data.get("chat") if isinstance(data.get("chat"), str) else None
    if kind in ("message", "reaction", "revoked", "edited", "receipt") and events.is_status_broadcast(chat):
        return None
    if kind == "message":
        return events.message(
            id=_str(data, "id"),
            **_people(data),
            body=_str(data, "text", required=False),
            replied_to_id=_str(data, "reply_to", required=False),
            quoted_body=_str(data, "quoted_text", required=False),
            media=_media(data, _str(data, "id")),
            forwarded=_bool(data, "forwarded"),
            view_once=_bool(data, "view_once"),
            extra=_poll(data),
        )
    if kind == "reaction":
        return events.reaction(
            id=_str(data, "id"),
            **_people(data),
            emoji=_str(data, "emoji", required=False) or "",
            target_id=_str(data, "target_id"),
        )
    if kind == "revoked":
        people = _people(data)
        return events.revoked(
            id=_str(data, "id"),
            **people,
            revoked_message_id=_str(data, "target_id"),
            revoked_from_me=_bool(data, "target_from_me"),
            revoked_chat=people["chat"],
        )
    if kind == "edited":
        return events.edited(
            id=_str(data, "id"),
            **_people(data),
            original_message_id=_str(data, "target_id"),
            body=_str(data, "text", required=False),
        )
    if kind == "receipt":
        people = _people(data)
        return events.receipt(
            ids=_str_list(data, "ids"),
            chat=people["chat"],
            sender=people["sender"],
            sender_alt=people["sender_alt"],
            receipt_type=_str(data, "receipt_type", required=False) or "delivered",
            timestamp=people["timestamp"],
        )
    if kind == "group_participants":
        change = data.get("change")
        if change not in events.PARTICIPANT_CHANGES:
            raise Malformed(f"'change' must be one of {', '.join(events.PARTICIPANT_CHANGES)}")
        return events.group_participants(
            chat=_str(data, "chat"),
            change=change,
            jids=_str_list(data, "jids"),
            timestamp=_timestamp(data),
            sender=_str(data, "by", required=False),
        )
    if kind == "call_offer":
        if "group" in data:
            raise Malformed("'group': neonize does not pass on the group of a call, so neither does the fake")
        return events.call_offer(
            call_id=_str(data, "call_id"),
            sender=_str(data, "sender"),
            sender_alt=_str(data, "sender_alt", required=False),
            timestamp=_timestamp(data),
            remote_platform=_str(data, "platform", required=False),
            remote_version=_str(data, "version", required=False),
        )
    raise Malformed(f"unknown type {kind!r}")
