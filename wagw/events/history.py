"""The `history.sync` event: past messages of one chat that WhatsApp sends in a history sync
(whatsmeow's HistorySync: at pairing, then on demand), those sent from the phone included.

Each message is the payload a `message` event of it would carry, so the history store and any
consumer read them alike. WhatsApp sends a chat's history in chunks, and the same messages may
come again in a later sync: an event's id is made from its chat and its messages' ids, so the
same chunk is the same event (dropped as a duplicate), and a chat's messages go in events of
at most MAX_MESSAGES (bodies stay small; the neonize backend splits a longer chunk).
"""

from __future__ import annotations

import hashlib
from typing import Any

from wagw.events.kinds import HISTORY_SYNC, MESSAGE
from wagw.events.model import InboundEvent, non_ad, split_lid

MAX_MESSAGES = 100  # messages in one history.sync event


def history_sync(*, chat: str, chat_alt: str | None, messages: list[InboundEvent]) -> InboundEvent:
    """One `history.sync` event of `chat` from its `message` events (oldest first, at most MAX_MESSAGES)."""
    if len(messages) > MAX_MESSAGES:
        raise ValueError(f"a history.sync event carries at most {MAX_MESSAGES} messages, not {len(messages)}")
    if any(m.event != MESSAGE for m in messages):
        raise ValueError("a history.sync event carries message events only")
    ordered = sorted(messages, key=lambda m: m.timestamp or "")
    chat_id, chat_lid = split_lid(chat, chat_alt)
    payload: dict[str, Any] = {"chat_id": chat_id}
    if chat_lid:
        payload["chat_lid"] = chat_lid
    payload["messages"] = [m.payload for m in ordered]
    digest = hashlib.sha256("\n".join(sorted(m.payload["id"] for m in ordered)).encode()).hexdigest()[:32]
    newest = max((m.timestamp for m in ordered if m.timestamp), default=None)
    return InboundEvent(
        event=HISTORY_SYNC,
        source_key=f"history:{non_ad(chat)}:{digest}",
        timestamp=newest,
        payload=payload,
        mentions=tuple(jid for m in ordered for jid in m.mentions),
    )


def chunks(*, chat: str, chat_alt: str | None, messages: list[InboundEvent]) -> list[InboundEvent]:
    """`history.sync` events of `chat` for any number of messages: MAX_MESSAGES each, oldest first."""
    ordered = sorted((m for m in messages if m.event == MESSAGE), key=lambda m: m.timestamp or "")
    return [
        history_sync(chat=chat, chat_alt=chat_alt, messages=ordered[start : start + MAX_MESSAGES])
        for start in range(0, len(ordered), MAX_MESSAGES)
    ]
