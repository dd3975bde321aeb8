"""The history store: every inbound event and every send, per account (docs/history.md).

Written only by the `history` process (wagw.history.writer) from the event stream and the
send outcomes the wa-workers record (wagw.history.outcomes); never in the session's path.
Read with `wagw history` or these functions (each takes a Store from `open_store`):

    store = open_store(settings)
    page = messages_page(store, "15551234567@s.whatsapp.net", limit=50)
    older = messages_page(store, "15551234567@s.whatsapp.net", before=page.next_cursor)

The names below load SQLAlchemy on first use, so that importing wagw.history.outcomes (the
wa-worker's hook) costs nothing more.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wagw.history.read import (
        Chat,
        Message,
        Page,
        Receipt,
        Send,
        StoredEvent,
        chats_page,
        gowa_chat_messages,
        gowa_chats,
        messages_page,
        search_page,
        sends_page,
        stored_event,
        stored_events,
    )
    from wagw.history.store import Store, StoreMissing, open_store, open_url

_LAZY = {
    **dict.fromkeys(
        (
            "Chat",
            "Message",
            "Page",
            "Receipt",
            "Send",
            "StoredEvent",
            "chats_page",
            "gowa_chat_messages",
            "gowa_chats",
            "messages_page",
            "search_page",
            "sends_page",
            "stored_event",
            "stored_events",
        ),
        "wagw.history.read",
    ),
    **dict.fromkeys(("Store", "StoreMissing", "open_store", "open_url"), "wagw.history.store"),
}

__all__ = [
    "Chat",
    "Message",
    "Page",
    "Receipt",
    "Send",
    "Store",
    "StoreMissing",
    "StoredEvent",
    "chats_page",
    "gowa_chat_messages",
    "gowa_chats",
    "messages_page",
    "open_store",
    "open_url",
    "search_page",
    "sends_page",
    "stored_event",
    "stored_events",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wagw.history' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
