"""Constructors of the kinds whatsmeow reports through app-state sync (DeleteForMe, LabelEdit,
LabelAssociationChat): `message.deleted`, `label.edit`, `label.association`.

goneonize (neonize 0.5.2) never hands these to Python, so no backend produces them today
(kinds.NOT_FROM_NEONIZE, docs/events.md); they are here for the day it does.
"""

from __future__ import annotations

from typing import Any

from wagw.events.kinds import DELETED, KINDS, LABEL_ASSOCIATION, LABEL_EDIT
from wagw.events.model import InboundEvent, display_name, iso_time, non_ad, seen_at, split_lid

# LabelEditAction's fields after label_id, in go-whatsapp's order; each only when WhatsApp sent it.
LABEL_EDIT_FIELDS = KINDS[LABEL_EDIT].fields[1:]


def message_deleted(
    *,
    deleted_message_id: str,
    chat: str,
    sender: str,
    was_from_me: bool,
    timestamp: float | int | None = None,
    sender_alt: str | None = None,
) -> InboundEvent:
    """A `message.deleted` (whatsmeow's DeleteForMe: deleted on this account only).

    go-whatsapp adds `original_content` and friends from its message store; wagw keeps none,
    so only what the event itself says is here."""
    unix = seen_at(timestamp)
    sender, _sender_lid = split_lid(sender, sender_alt)
    payload: dict[str, Any] = {"deleted_message_id": deleted_message_id, "timestamp": iso_time(unix)}
    payload["from"] = sender
    if sender:
        payload["sender_display_name"] = display_name(sender, None)
    payload["chat_id"] = non_ad(chat) or ""
    payload["original_sender"] = sender
    payload["was_from_me"] = bool(was_from_me)
    return InboundEvent(DELETED, f"deleted:{non_ad(chat)}:{deleted_message_id}", iso_time(unix), payload)


def label_edit(*, label_id: str, timestamp: float | int | None = None, **fields: Any) -> InboundEvent:
    """A `label.edit`: a label created, renamed, reordered or deleted; `fields` are those of
    LABEL_EDIT_FIELDS WhatsApp sent."""
    unknown = set(fields) - set(LABEL_EDIT_FIELDS)
    if unknown:
        raise ValueError(f"unknown label fields {sorted(unknown)}")
    unix = seen_at(timestamp)
    payload: dict[str, Any] = {"label_id": label_id}
    payload.update((name, fields[name]) for name in LABEL_EDIT_FIELDS if fields.get(name) is not None)
    key = f"label:{label_id}:edit:{round(unix * 1000)}"
    return InboundEvent(LABEL_EDIT, key, iso_time(unix), payload)


def label_association(
    *, label_id: str, chat: str, labeled: bool, timestamp: float | int | None = None, chat_alt: str | None = None
) -> InboundEvent:
    """A `label.association`: a label put on (labeled) or taken off a chat."""
    unix = seen_at(timestamp)
    chat_id, chat_lid = split_lid(chat, chat_alt)
    payload: dict[str, Any] = {"label_id": label_id, "labeled": bool(labeled), "chat_id": chat_id}
    if chat_lid:
        payload["chat_lid"] = chat_lid
    key = f"label:{label_id}:chat:{chat_lid or chat_id}:{bool(labeled)}:{round(unix * 1000)}"
    return InboundEvent(LABEL_ASSOCIATION, key, iso_time(unix), payload)
