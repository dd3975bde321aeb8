"""Constructor of `chat_presence`: someone typing, recording or stopping in a chat."""

from __future__ import annotations

from wagw.events.kinds import CHAT_PRESENCE
from wagw.events.model import InboundEvent, iso_time, moment, non_ad, seen_at, sender_fields, split_lid

CHAT_PRESENCE_STATES = ("composing", "paused")
CHAT_PRESENCE_MEDIA = ("", "audio")  # whatsmeow's ChatPresenceMediaText is ""


def chat_presence(
    *,
    chat: str,
    sender: str,
    state: str,
    media: str = "",
    timestamp: float | int | None = None,
    sender_alt: str | None = None,
    instance: str | None = None,
    chat_alt: str | None = None,
) -> InboundEvent:
    """A `chat_presence`: someone typing ("composing"), recording ("composing" with media
    "audio") or stopping ("paused"). WhatsApp gives no time, so `timestamp` is when the
    session saw it (as go-whatsapp does), and the source key carries it to the millisecond:
    the same person typing again later is a new event, not a duplicate."""
    if state not in CHAT_PRESENCE_STATES:
        raise ValueError(f"unknown chat presence state {state!r}")
    if media not in CHAT_PRESENCE_MEDIA:
        raise ValueError(f"unknown chat presence media {media!r}")
    unix = seen_at(timestamp)
    payload, sender_key = sender_fields(sender, sender_alt)
    chat_key = non_ad(chat) or ""
    chat_id, chat_lid = split_lid(chat_key, chat_alt)
    payload["chat_id"] = chat_id
    if chat_lid:
        payload["chat_lid"] = chat_lid
    payload["state"] = state
    payload["media"] = media
    payload["is_group"] = chat_id.endswith("@g.us")
    key = f"chat_presence:{chat_key}:{sender_key}:{state}:{media}:{moment(unix, instance)}"
    return InboundEvent(CHAT_PRESENCE, key, iso_time(unix), payload)
