"""Message events written into a history store as the history writer writes them, for tests
of what reads the store."""

from __future__ import annotations

import json
from typing import Any

MESSAGE_TIME = "2026-11-29T10:30:00Z"


def message_event(event_id: str, account: str, message_id: str, chat: str, sender: str, text: str) -> dict[str, Any]:
    """A `message` event body, as webhooks and the event stream carry it."""
    return {
        "event": "message",
        "id": event_id,
        "account": account,
        "timestamp": MESSAGE_TIME,
        "payload": {
            "id": message_id,
            "chat_id": chat,
            "from": sender,
            "from_name": "Alice",
            "timestamp": MESSAGE_TIME,
            "is_from_me": False,
            "body": text,
        },
    }


def store_events(settings: Any, *bodies: dict[str, Any]) -> None:
    """Create the settings' history store (migrated) and write these events into it."""
    from wagw.history import open_store
    from wagw.history.ingest import Changes, add_event
    from wagw.history.store import migrate
    from wagw.history.write import apply

    store = open_store(settings, create=True)
    try:
        migrate(store)
        changes = Changes()
        for number, body in enumerate(bodies):
            add_event(changes, {"id": body["id"], "name": body["event"], "event": json.dumps(body)}, f"{number + 1}-0")
        with store.engine.begin() as conn:
            apply(conn, changes, {})
    finally:
        store.close()
