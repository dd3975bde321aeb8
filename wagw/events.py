"""wagw's event model: one JSON event per inbound WhatsApp event (SPEC "Inbound events").

Both backends build events only through the constructors here (the neonize backend from
protos, the fake from its JSON control messages), so the same WhatsApp event gives the same
JSON whichever backend saw it. The body is wire-compatible with go-whatsapp-web-multidevice's
webhook payload (docs/webhook-payload.md there), plus a top-level stable `id`.

Pure Python: nothing here imports neonize.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MESSAGE = "message"
REACTION = "message.reaction"
REVOKED = "message.revoked"
EDITED = "message.edited"
ACK = "message.ack"
GROUP_PARTICIPANTS = "group.participants"
CALL_OFFER = "call.offer"

EVENT_NAMES = (MESSAGE, REACTION, REVOKED, EDITED, ACK, GROUP_PARTICIPANTS, CALL_OFFER)

# Same wording as go-whatsapp-web-multidevice, so consumers that show it keep working.
RECEIPT_DESCRIPTIONS = {
    "delivered": "means the message was delivered to the device (but the user might not have noticed).",
    "sender": "sent by your other devices when a message you sent is delivered to them.",
    "retry": "the message was delivered to the device, but decrypting the message failed.",
    "read": "the user opened the chat and saw the message.",
    "read-self": "the current user read a message from a different device, and has read receipts "
    "disabled in privacy settings.",
    "played": "the media was played (dispatched for both incoming and outgoing messages).",
    "played-self": "the current user opened a view-once media message from a different device, and has "
    "read receipts disabled in privacy settings.",
}

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker", "video_note")
# Where WhatsApp status updates (stories) arrive: not messages to the account, never events.
STATUS_BROADCAST = "status@broadcast"
PARTICIPANT_CHANGES = ("join", "leave", "promote", "demote")


@dataclass(frozen=True)
class InboundEvent:
    """One WhatsApp event, already in wagw's model (SPEC: event name and payload).

    `source_key` identifies the WhatsApp event itself (e.g. "message:<chat>:<msg id>"), so
    the same event redelivered by WhatsApp yields the same wagw event id.
    """

    event: str
    source_key: str
    timestamp: str | None  # ISO 8601, UTC, "Z"; None when WhatsApp gave none
    payload: dict[str, Any] = field(default_factory=dict)


def iso_time(unix: float | int | None) -> str | None:
    """Unix seconds (or milliseconds) -> ISO 8601 UTC with "Z"; None/0 -> None."""
    if not unix:
        return None
    if unix > 10**11:  # milliseconds
        unix = unix / 1000
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# Identity and body ----------------------------------------------------------------------


def event_id(device_id: str | None, source_key: str) -> str:
    """Stable id of one WhatsApp event as seen by one account: same inputs, same id.

    32 hex chars (128 bits of SHA-256) of "<device>\\n<source key>"; the device part keeps
    two accounts that see the same group message apart.
    """
    digest = hashlib.sha256(f"{device_id or ''}\n{source_key}".encode()).hexdigest()
    return digest[:32]


def build_body(event: InboundEvent, device_id: str | None, account: str = "default") -> tuple[str, str]:
    """(event id, JSON body) for one event; the body is what webhooks sign and deliver."""
    eid = event_id(device_id, event.source_key)
    body: dict[str, Any] = {"event": event.event, "device_id": device_id or "", "account": account, "id": eid}
    if event.timestamp:
        body["timestamp"] = event.timestamp
    body["payload"] = event.payload
    return eid, json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def non_ad(jid: str | None) -> str | None:
    """Drop the device part of a JID ("1555…:12@s.whatsapp.net" -> "1555…@s.whatsapp.net")."""
    if not jid:
        return jid
    user, at, server = jid.partition("@")
    if not at:
        return jid
    user = user.split(":", 1)[0]
    if server != "lid":
        user = user.split(".", 1)[0]  # agent suffix ("1555….0:3")
    return f"{user}@{server}"


def is_status_broadcast(chat: str | None) -> bool:
    return non_ad(chat) == STATUS_BROADCAST


def is_lid(jid: str | None) -> bool:
    return bool(jid and jid.endswith("@lid"))


def _time(value: float | int | str | None) -> str | None:
    if isinstance(value, str):
        return value or None
    return iso_time(value)


# Constructors -----------------------------------------------------------------------------


def _message_head(
    *,
    id: str,
    chat: str,
    sender: str,
    timestamp: float | int | str | None,
    is_from_me: bool,
    push_name: str | None,
    chat_alt: str | None,
    sender_alt: str | None,
) -> tuple[dict[str, Any], str | None]:
    """The fields every message-like event starts with (go-whatsapp's buildFromFields).

    WhatsApp may address a chat or sender by LID; the phone-number form (when known, as in
    neonize's SenderAlt) goes in chat_id/from and the LID in chat_lid/from_lid.
    """
    payload: dict[str, Any] = {"id": id}
    chat, chat_lid = _split_lid(chat, chat_alt)
    payload["chat_id"] = chat
    if chat_lid:
        payload["chat_lid"] = chat_lid
    sender, sender_lid = _split_lid(sender, sender_alt)
    payload["from"] = sender
    if sender_lid:
        payload["from_lid"] = sender_lid
    if sender:
        payload["sender_display_name"] = display_name(sender, push_name)
    if push_name:
        payload["from_name"] = push_name
    ts = _time(timestamp)
    payload["timestamp"] = ts
    payload["is_from_me"] = bool(is_from_me)
    return payload, ts


def display_name(sender: str, push_name: str | None) -> str:
    """go-whatsapp's best-effort sender label: the push name, else the JID's user part.

    Its saved-contact lookup is left out on purpose: the session handler makes no native
    calls beyond the one that delivered the event (docs/events.md).
    """
    return push_name or sender.split("@", 1)[0]


def _split_lid(jid: str, alt: str | None) -> tuple[str, str | None]:
    """(phone-number JID if known else the JID as given, LID or None)."""
    jid, alt = non_ad(jid) or "", non_ad(alt)
    if is_lid(jid):
        return (alt if alt and not is_lid(alt) else jid), jid
    if alt and is_lid(alt):
        return jid, alt
    return jid, None


def _message_key(chat: str, id: str) -> str:
    return f"message:{non_ad(chat)}:{id}"


def message(
    *,
    id: str,
    chat: str,
    sender: str,
    timestamp: float | int | str | None,
    is_from_me: bool = False,
    push_name: str | None = None,
    chat_alt: str | None = None,
    sender_alt: str | None = None,
    body: str | None = None,
    replied_to_id: str | None = None,
    quoted_body: str | None = None,
    media: tuple[str, dict[str, Any]] | None = None,
    forwarded: bool = False,
    view_once: bool = False,
    extra: dict[str, Any] | None = None,
) -> InboundEvent:
    """A `message` event. `media` is (kind, object) with kind in MEDIA_KINDS; the object's
    `caption` also becomes `body` when there is no text (as go-whatsapp does)."""
    payload, ts = _message_head(
        id=id,
        chat=chat,
        sender=sender,
        timestamp=timestamp,
        is_from_me=is_from_me,
        push_name=push_name,
        chat_alt=chat_alt,
        sender_alt=sender_alt,
    )
    if not body and media and media[1].get("caption"):
        body = media[1]["caption"]
    if body:
        payload["body"] = body
    if replied_to_id:
        payload["replied_to_id"] = replied_to_id
    if quoted_body:
        payload["quoted_body"] = quoted_body
    if view_once:
        payload["view_once"] = True
    if forwarded:
        payload["forwarded"] = True
    if media:
        kind, obj = media
        if kind not in MEDIA_KINDS:
            raise ValueError(f"unknown media kind {kind!r}")
        payload[kind] = {k: v for k, v in obj.items() if v not in (None, "")}
        download = download_object(kind, obj)
        if download is not None:
            payload["media"] = download
    if extra:
        payload.update(extra)
    return InboundEvent(MESSAGE, _message_key(chat, id), ts, payload)


# What download_media needs of a media message (docs/events.md "The media object").
DOWNLOAD_FIELDS = ("mime_type", "direct_path", "media_key", "file_sha256", "file_enc_sha256", "file_length")


def download_object(kind: str, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The payload's top-level `media` object, the argument of download_media: the kind and
    what WhatsApp needs to find, decrypt and verify the file. None when the message lacks a
    direct path, key, encrypted hash or length (nothing download_media could fetch)."""
    if not all(obj.get(name) for name in ("direct_path", "media_key", "file_enc_sha256", "file_length")):
        return None
    media: dict[str, Any] = {"kind": kind}
    for name in DOWNLOAD_FIELDS:
        if obj.get(name) not in (None, ""):
            media[name] = obj[name]
    return media


def reaction(
    *,
    id: str,
    chat: str,
    sender: str,
    timestamp: float | int | str | None,
    emoji: str,
    target_id: str,
    is_from_me: bool = False,
    push_name: str | None = None,
    chat_alt: str | None = None,
    sender_alt: str | None = None,
) -> InboundEvent:
    """A `message.reaction`; an empty emoji means the reaction was removed."""
    payload, ts = _message_head(
        id=id,
        chat=chat,
        sender=sender,
        timestamp=timestamp,
        is_from_me=is_from_me,
        push_name=push_name,
        chat_alt=chat_alt,
        sender_alt=sender_alt,
    )
    payload["reaction"] = emoji
    payload["reacted_message_id"] = target_id
    return InboundEvent(REACTION, _message_key(chat, id), ts, payload)


def revoked(
    *,
    id: str,
    chat: str,
    sender: str,
    timestamp: float | int | str | None,
    revoked_message_id: str,
    revoked_from_me: bool = False,
    revoked_chat: str | None = None,
    is_from_me: bool = False,
    push_name: str | None = None,
    chat_alt: str | None = None,
    sender_alt: str | None = None,
) -> InboundEvent:
    payload, ts = _message_head(
        id=id,
        chat=chat,
        sender=sender,
        timestamp=timestamp,
        is_from_me=is_from_me,
        push_name=push_name,
        chat_alt=chat_alt,
        sender_alt=sender_alt,
    )
    payload["revoked_message_id"] = revoked_message_id
    payload["revoked_from_me"] = bool(revoked_from_me)
    if revoked_chat:
        payload["revoked_chat"] = revoked_chat
    return InboundEvent(REVOKED, _message_key(chat, id), ts, payload)


def edited(
    *,
    id: str,
    chat: str,
    sender: str,
    timestamp: float | int | str | None,
    original_message_id: str,
    body: str | None,
    is_from_me: bool = False,
    push_name: str | None = None,
    chat_alt: str | None = None,
    sender_alt: str | None = None,
) -> InboundEvent:
    payload, ts = _message_head(
        id=id,
        chat=chat,
        sender=sender,
        timestamp=timestamp,
        is_from_me=is_from_me,
        push_name=push_name,
        chat_alt=chat_alt,
        sender_alt=sender_alt,
    )
    payload["original_message_id"] = original_message_id
    if body:
        payload["body"] = body
    return InboundEvent(EDITED, _message_key(chat, id), ts, payload)


def receipt(
    *,
    ids: list[str],
    chat: str,
    sender: str,
    receipt_type: str,
    timestamp: float | int | str | None,
    sender_alt: str | None = None,
) -> InboundEvent:
    """A `message.ack`. whatsmeow's empty receipt type is "delivered".

    The source key leaves the time out: a receipt is identified by who acknowledged which
    messages how, and the fake may omit the time on a redelivered receipt.
    """
    receipt_type = receipt_type or "delivered"
    payload: dict[str, Any] = {"ids": list(ids)}
    chat_id, _chat_lid = _split_lid(chat, None)
    payload["chat_id"] = chat_id
    sender, sender_lid = _split_lid(sender, sender_alt)
    payload["from"] = sender
    if sender_lid:
        payload["from_lid"] = sender_lid
    if sender:
        payload["sender_display_name"] = display_name(sender, None)
    payload["receipt_type"] = receipt_type
    payload["receipt_type_description"] = RECEIPT_DESCRIPTIONS.get(receipt_type, "unknown receipt type")
    key = f"receipt:{chat_id}:{sender_lid or sender}:{receipt_type}:{','.join(sorted(ids))}"
    return InboundEvent(ACK, key, _time(timestamp), payload)


def group_participants(
    *,
    chat: str,
    change: str,
    jids: list[str],
    timestamp: float | int | str | None,
    sender: str | None = None,
) -> InboundEvent:
    """A `group.participants` event: change is join, leave, promote or demote."""
    if change not in PARTICIPANT_CHANGES:
        raise ValueError(f"unknown participant change {change!r}")
    members = [non_ad(jid) or "" for jid in jids]
    payload: dict[str, Any] = {"chat_id": non_ad(chat), "type": change, "jids": members}
    if sender:
        payload["by"] = non_ad(sender)
    ts = _time(timestamp)
    key = f"group:{non_ad(chat)}:{change}:{','.join(sorted(members))}:{ts}"
    return InboundEvent(GROUP_PARTICIPANTS, key, ts, payload)


def call_offer(
    *,
    call_id: str,
    sender: str,
    timestamp: float | int | str | None,
    remote_platform: str | None = None,
    remote_version: str | None = None,
    sender_alt: str | None = None,
) -> InboundEvent:
    """A `call.offer`. No `group_jid`: neonize does not pass on whatsmeow's group of a call."""
    sender, sender_lid = _split_lid(sender, sender_alt)
    payload: dict[str, Any] = {"call_id": call_id, "from": sender}
    if sender_lid:
        payload["from_lid"] = sender_lid
    payload["auto_rejected"] = False
    if remote_platform:
        payload["remote_platform"] = remote_platform
    if remote_version:
        payload["remote_version"] = remote_version
    return InboundEvent(CALL_OFFER, f"call:{call_id}:offer", _time(timestamp), payload)
