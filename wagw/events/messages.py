"""Constructors of the message-like events (`message`, `message.reaction`, `message.revoked`,
`message.edited`) and of receipts (`message.ack`)."""

from __future__ import annotations

from typing import Any

from wagw.events.content import MEDIA_KINDS, download_object
from wagw.events.kinds import ACK, EDITED, MESSAGE, REACTION, REVOKED
from wagw.events.model import InboundEvent, non_ad, sender_fields, split_lid, to_iso

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
    """The fields every message-like event starts with (kinds.MESSAGE_HEAD).

    WhatsApp may address a chat or sender by LID; the phone-number form (when known, as in
    neonize's SenderAlt) goes in chat_id/from and the LID in chat_lid/from_lid.
    """
    payload: dict[str, Any] = {"id": id}
    chat, chat_lid = split_lid(chat, chat_alt)
    payload["chat_id"] = chat
    if chat_lid:
        payload["chat_lid"] = chat_lid
    payload.update(sender_fields(sender, sender_alt, push_name)[0])
    if push_name:
        payload["from_name"] = push_name
    ts = to_iso(timestamp)
    payload["timestamp"] = ts
    payload["is_from_me"] = bool(is_from_me)
    return payload, ts


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
    mentions: list[str] | tuple[str, ...] = (),
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
    return InboundEvent(MESSAGE, _message_key(chat, id), ts, payload, tuple(mentions))


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


# Why an edit's new text is missing: WhatsApp encrypted it with the original message's secret
# (a secretEncryptedMessage), and neonize exports no call to decrypt that.
SECRET_EDIT_UNREADABLE = "encrypted with the original message's secret, which this WhatsApp library cannot decrypt"


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
    mentions: list[str] | tuple[str, ...] = (),
    body_unreadable: str | None = None,
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
    elif body_unreadable:
        payload["body_unreadable"] = body_unreadable
    return InboundEvent(EDITED, _message_key(chat, id), ts, payload, tuple(mentions))


def receipt(
    *,
    ids: list[str],
    chat: str,
    sender: str,
    receipt_type: str,
    timestamp: float | int | str | None,
    sender_alt: str | None = None,
    chat_alt: str | None = None,
) -> InboundEvent:
    """A `message.ack`. whatsmeow's empty receipt type is "delivered".

    The source key leaves the time out: a receipt is identified by who acknowledged which
    messages how, and the fake may omit the time on a redelivered receipt.
    """
    receipt_type = receipt_type or "delivered"
    payload: dict[str, Any] = {"ids": list(ids)}
    chat_id, chat_lid = split_lid(chat, chat_alt)
    payload["chat_id"] = chat_id
    if chat_lid:
        payload["chat_lid"] = chat_lid
    who, sender_key = sender_fields(sender, sender_alt)
    payload.update(who)
    payload["receipt_type"] = receipt_type
    payload["receipt_type_description"] = RECEIPT_DESCRIPTIONS.get(receipt_type, "unknown receipt type")
    key = f"receipt:{non_ad(chat)}:{sender_key}:{receipt_type}:{','.join(sorted(ids))}"
    return InboundEvent(ACK, key, to_iso(timestamp), payload)
