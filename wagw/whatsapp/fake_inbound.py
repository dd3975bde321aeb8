"""The fake backend's inbound control messages (JSON on `wagw:fake:inbound`) -> wagw events.

Each message is one JSON object with a "type". WhatsApp events (built with wagw.events, so
they match what the neonize backend produces for the same thing):

    {"type": "message", "id", "chat", "sender", "push_name", "text", "timestamp",
     "is_from_me", "chat_alt", "sender_alt", "reply_to", "quoted_text", "forwarded",
     "view_once", "media": {"kind": "image"|"video"|"audio"|"document"|"sticker"|"video_note",
                            "url", "mimetype", "caption", "filename", ...,
                            "download": "crash"|"hang"|"fail"|"expired"},
     "poll": {"question", "options": [...], "max_answers"},
     "location": {"latitude", "longitude", "name", "address"},
     "live_location": {"latitude", "longitude"},
     "contact": {"name", "vcard"}, "contacts": [{"name", "vcard"}, ...],
     "poll_vote": {"poll_id"},
     "referral": {"ctwa_clid", "source_url", …, "media_type", "ad_type", …}}
    {"type": "reaction", "id", "chat", "sender", "target_id", "emoji", ...}
    {"type": "receipt", "ids", "chat", "sender", "receipt_type", "timestamp"}
    {"type": "revoked", "id", "chat", "sender", "target_id", "target_from_me", ...}
    {"type": "edited", "id", "chat", "sender", "target_id", "text", ...}
    {"type": "group_participants", "chat", "change": "join"|"leave"|"promote"|"demote", "jids", "by"}
    {"type": "group_joined", "chat" (…@g.us), "reason": ""|"invite", "group_name", "version"}
    {"type": "call_offer", "call_id", "sender", "platform", "version"}
    {"type": "chat_presence", "chat", "sender", "state": "composing"|"paused", "media": ""|"audio"}
    {"type": "newsletter_joined", "newsletter_id", "name", "description"}
    {"type": "newsletter_left", "newsletter_id", "role": "subscriber"|"guest"|"admin"|"owner"}
    {"type": "newsletter_mute", "newsletter_id", "mute": "on"|"off"}
    {"type": "newsletter_message", "newsletter_id", "messages": [{"server_id", "views_count",
                                                                  "reaction_counts": {emoji: n}}]}

"message_deleted", "label_edit" and "label_association" are refused (Malformed, saying why):
neonize 0.5.2 never passes those whatsmeow events on, so the real backend cannot make them.

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
import json
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
    return events.poll(poll["question"], options, max_answers)


def _object(data: dict, name: str) -> dict | None:
    value = data.get(name)
    if value is not None and not isinstance(value, dict):
        raise Malformed(f"{name!r} must be an object")
    return value


def _coordinates(place: dict, name: str) -> tuple[float, float]:
    found = []
    for axis, limit in (("latitude", 90), ("longitude", 180)):
        value = place.get(axis)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not -limit <= value <= limit:
            raise Malformed(f"'{name}.{axis}' must be a number from -{limit} to {limit}")
        found.append(float(value))
    return found[0], found[1]


def _card(card: Any, name: str) -> dict:
    if not isinstance(card, dict):
        raise Malformed(f"{name!r} must be an object with 'name' and 'vcard'")
    return events.contact_card(_str(card, "name"), _str(card, "vcard"))


def _referral(ad: dict) -> dict:
    """A Click-to-WhatsApp ad's attribution, in go-whatsapp's names and types."""
    unknown = set(ad) - {*events.REFERRAL_TEXTS, *events.REFERRAL_FLAGS, *events.REFERRAL_CHOICES}
    if unknown:
        raise Malformed(f"'referral' has unknown fields: {', '.join(repr(k) for k in sorted(unknown))}")
    for name in events.REFERRAL_TEXTS:
        _str(ad, name, required=False)
    for name in events.REFERRAL_FLAGS:
        if name in ad and not isinstance(ad[name], bool):
            raise Malformed(f"'referral.{name}' must be true or false")
    for name, choices in events.REFERRAL_CHOICES.items():
        if name in ad and ad[name] not in choices:
            raise Malformed(f"'referral.{name}' must be one of {', '.join(choices)}")
    found = events.referral(**ad)
    if found is None:
        raise Malformed("'referral' is empty")
    return found


def _content(data: dict) -> dict[str, Any] | None:
    """A message's non-media content: poll, location, live location, contact card(s), vote."""
    extra: dict[str, Any] = {}
    poll = _poll(data)
    if poll is not None:
        extra["poll"] = poll
    place = _object(data, "location")
    if place is not None:
        latitude, longitude = _coordinates(place, "location")
        extra["location"] = events.location(
            latitude, longitude, _str(place, "name", required=False), _str(place, "address", required=False)
        )
    live = _object(data, "live_location")
    if live is not None:
        extra["live_location"] = events.live_location(*_coordinates(live, "live_location"))
    if data.get("contact") is not None:
        extra["contact"] = _card(data["contact"], "contact")
    if data.get("contacts") is not None:
        cards = data["contacts"]
        if not isinstance(cards, list) or not cards:
            raise Malformed("'contacts' must be a non-empty list of contact cards")
        extra["contacts_array"] = [_card(card, "contacts[]") for card in cards]
    ad = _object(data, "referral")
    if ad is not None:
        extra["referral"] = _referral(ad)
    vote = _object(data, "poll_vote")
    if vote is not None:
        extra["poll_vote"] = {"poll_id": _str(vote, "poll_id")}
    return extra or None


def _choice(data: dict, name: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = data.get(name, default)
    if value not in choices:
        raise Malformed(f"{name!r} must be one of {', '.join(repr(c) for c in choices)}")
    return value


def _instance(data: dict) -> str | None:
    """For kinds whose event id holds the time (WhatsApp gives them none): without a
    "timestamp", the control message itself, so that a message handed over again after a
    restart is the same event (and two identical ones are one, as with a message id)."""
    if "timestamp" in data:
        return None
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "fake-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _newsletter_id(data: dict) -> str:
    jid = _str(data, "newsletter_id")
    if not jid.endswith("@" + events.NEWSLETTER_SERVER) or jid.startswith("@"):
        raise Malformed("'newsletter_id' must be a channel JID ('…@newsletter')")
    return jid


def _count(data: dict, name: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Malformed(f"{name!r} must be a whole number")
    return value


def _posts(data: dict) -> list[dict]:
    posts = data.get("messages")
    if not isinstance(posts, list) or not posts or not all(isinstance(post, dict) for post in posts):
        raise Malformed("'messages' must be a non-empty list of objects")
    found = []
    for post in posts:
        if "server_id" not in post:
            raise Malformed("'messages[].server_id' is missing")
        reactions = post.get("reaction_counts") or {}
        if not isinstance(reactions, dict) or not all(
            isinstance(k, str) and k and not isinstance(v, bool) and isinstance(v, int) and v >= 0
            for k, v in reactions.items()
        ):
            raise Malformed("'messages[].reaction_counts' must map emoji to whole numbers")
        found.append(
            events.newsletter_post(
                server_id=_count(post, "server_id"), views_count=_count(post, "views_count"), reaction_counts=reactions
            )
        )
    return found


# Event kinds neonize 0.5.2 never hands to Python (whatsmeow's app-state events): the fake
# refuses them rather than produce what the real backend cannot (docs/events.md).
NOT_FROM_NEONIZE = {
    "message_deleted": "DeleteForMe",
    "label_edit": "LabelEdit",
    "label_association": "LabelAssociationChat",
}


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
            extra=_content(data),
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
    if kind == "group_joined":
        chat = _str(data, "chat")
        if not chat.endswith("@g.us"):
            raise Malformed(f"'chat' must be a group JID (…@g.us), not {chat!r}")
        return events.group_joined(
            chat=chat,
            reason=_choice(data, "reason", events.GROUP_JOIN_REASONS, default=""),
            group_name=_str(data, "group_name", required=False),
            version=_str(data, "version", required=False),
            timestamp=_timestamp(data),
            instance=_instance(data),
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
    if kind == "chat_presence":
        return events.chat_presence(
            chat=_str(data, "chat", required=False) or _str(data, "sender"),
            sender=_str(data, "sender"),
            sender_alt=_str(data, "sender_alt", required=False),
            state=_choice(data, "state", events.CHAT_PRESENCE_STATES),
            media=_choice(data, "media", events.CHAT_PRESENCE_MEDIA, default=""),
            timestamp=_timestamp(data),
            instance=_instance(data),
        )
    if kind == "newsletter_joined":
        return events.newsletter_joined(
            newsletter_id=_newsletter_id(data),
            name=_str(data, "name", required=False),
            description=_str(data, "description", required=False),
            timestamp=_timestamp(data),
            instance=_instance(data),
        )
    if kind == "newsletter_left":
        return events.newsletter_left(
            newsletter_id=_newsletter_id(data),
            role=_choice(data, "role", events.NEWSLETTER_ROLES, default="subscriber"),
            timestamp=_timestamp(data),
            instance=_instance(data),
        )
    if kind == "newsletter_mute":
        return events.newsletter_mute(
            newsletter_id=_newsletter_id(data),
            mute=_choice(data, "mute", events.NEWSLETTER_MUTE_STATES),
            timestamp=_timestamp(data),
            instance=_instance(data),
        )
    if kind == "newsletter_message":
        return events.newsletter_message(
            newsletter_id=_newsletter_id(data),
            messages=_posts(data),
            timestamp=_timestamp(data),
            instance=_instance(data),
        )
    if kind in NOT_FROM_NEONIZE:
        raise Malformed(
            f"type {kind!r}: neonize 0.5.2 never passes whatsmeow's {NOT_FROM_NEONIZE[kind]} event on, "
            "so the real backend cannot produce it and neither does the fake"
        )
    raise Malformed(f"unknown type {kind!r}")
