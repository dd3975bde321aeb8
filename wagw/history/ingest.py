"""What each stream entry becomes in the history store: pure mapping, no database.

An event from `wagw:events` is stored whole (the events table) and, by its kind, also as a
message, a change to one (edit, revoke, delete), a reaction, receipts or a chat's name. A
send's outcome (wagw.history.outcomes) becomes a sends row and, for a send that succeeded, the
message it made. `Changes` gathers a batch; wagw.history.write applies it in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wagw.events import kinds
from wagw.events.content import MEDIA_KINDS

# WhatsApp's history sync (kinds.HISTORY_SYNC): payload {"chat_id", "chat_lid"?, "messages":
# [payloads shaped like a `message` event's]}; its messages are stored as messages.
HISTORY_SYNC = kinds.HISTORY_SYNC

# An event MAC's length (hex SHA-256), the events table's `mac` column's.
EVENT_MAC_CHARS = 64

# The message content fields besides the text, in the order a kind is named by.
CONTENT_FIELDS = (*MEDIA_KINDS, "location", "live_location", "contact", "contacts_array", "poll", "poll_vote")
CONTENT_KIND = {"contacts_array": "contacts"}
MEDIA_DETAIL_FIELDS = (*CONTENT_FIELDS, "media", "view_once", "forwarded", "unsupported")

# What a successful send made, by operation: the message's kind and the argument holding its text.
SEND_KINDS: dict[str, tuple[str, str | None]] = {
    "send_text": ("text", "text"),
    "send_image": ("image", "caption"),
    "send_file": ("document", "caption"),
    "send_video": ("video", "caption"),
    "send_audio": ("audio", None),
    "send_sticker": ("sticker", None),
    "send_location": ("location", "name"),
    "send_contact": ("contact", "name"),
    "send_link": ("text", "url"),
    "send_poll": ("poll", "question"),
}
# The arguments of a send kept as its message's details (never media bytes).
SEND_DETAILS = ("filename", "mimetype", "view_once", "ptt", "latitude", "longitude", "address", "phone", "options")


def time_ms(value: object, default: int) -> int:
    """An event's RFC 3339 time (or unix seconds) as unix ms; `default` when absent or unreadable."""
    if isinstance(value, int | float) and value > 0:
        return int(value * 1000) if value < 10**11 else int(value)
    if isinstance(value, str) and value:
        try:
            return int(datetime.fromisoformat(value).timestamp() * 1000)
        except ValueError:
            return default
    return default


def text_of(value: object) -> str | None:
    """A text column's value: strings as they are, nothing else (whoever can write to Redis
    can append entries; a list where text belongs must not make the store refuse a batch)."""
    return value if isinstance(value, str) else None


def _mac_of(value: object) -> str | None:
    """An entry's `mac` as the column takes it: a longer one is no MAC the session made, and
    must not make a PostgreSQL store refuse the batch."""
    return value if isinstance(value, str) and 0 < len(value) <= EVENT_MAC_CHARS else None


def stream_ms(entry_id: str) -> int:
    """The unix ms a stream entry id ("<ms>-<seq>") was appended at."""
    return int(entry_id.split("-", 1)[0])


@dataclass
class Changes:
    """One batch of rows to write, in the order they must be applied."""

    events: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # first one wins
    chats: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # ("edited" | "revoked" | "deleted", values), applied after the messages, in order
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    reactions: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)  # last one wins
    receipts: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    sends: dict[str, dict[str, Any]] = field(default_factory=dict)  # last one wins
    skipped: int = 0  # entries that could not be read (logged by id, never by content)

    def __len__(self) -> int:
        return len(self.events) + len(self.sends) + self.skipped

    # Building blocks ---------------------------------------------------------------------

    def message(self, row: dict[str, Any]) -> None:
        self.messages.setdefault((row["account"], row["message_id"]), row)
        self.chat(row["account"], row["chat"], row["time_ms"], chat_lid=row.get("chat_lid"))

    def chat(self, account: str, chat: str, when: int, *, chat_lid: str | None = None, name: str | None = None) -> None:
        if not chat:
            return
        found = self.chats.get((account, chat))
        if found is None:
            self.chats[(account, chat)] = {
                "account": account,
                "chat": chat,
                "chat_lid": chat_lid,
                "name": name,
                "first_ms": when,
                "last_ms": when,
            }
            return
        found["first_ms"] = min(found["first_ms"], when)
        found["last_ms"] = max(found["last_ms"], when)
        found["chat_lid"] = chat_lid or found["chat_lid"]
        found["name"] = name or found["name"]


# Events ------------------------------------------------------------------------------------


def add_event(changes: Changes, fields: dict[str, str], entry_id: str) -> None:
    """One `wagw:events` entry (fields id, name, event): stored whole, then mapped by kind."""
    body_text = fields.get("event")
    try:
        body = json.loads(body_text or "")
        payload = body.get("payload") or {}
        if not isinstance(payload, dict):
            raise ValueError("payload is not an object")
    except (ValueError, AttributeError):
        changes.skipped += 1
        return
    event_id = str(fields.get("id") or body.get("id") or "")
    name = str(fields.get("name") or body.get("event") or "")
    if not event_id or not name:
        changes.skipped += 1
        return
    account = str(body.get("account") or "default")
    when = time_ms(body.get("timestamp"), stream_ms(entry_id))
    changes.events.append(
        {
            "id": event_id,
            "account": account,
            "name": name,
            "time_ms": when,
            "stream_id": entry_id,
            "body": body_text,
            # The session's event MAC, kept for `wagw events replay` to check (this process
            # holds no secret, so cannot): None when the entry has none, or none that fits.
            "mac": _mac_of(fields.get("mac")),
        }
    )
    mapper = MAPPERS.get(name)
    if mapper is not None:
        mapper(changes, account, payload, when, event_id)


def message_row(account: str, payload: dict[str, Any], when: int, event_id: str | None) -> dict[str, Any] | None:
    """A `message` payload (also each message of a history sync) as a messages row."""
    message_id, chat = payload.get("id"), payload.get("chat_id")
    if not isinstance(message_id, str) or not message_id or not isinstance(chat, str) or not chat:
        return None
    kind = next((CONTENT_KIND.get(name, name) for name in CONTENT_FIELDS if name in payload), None)
    if kind is None:
        kind = "unsupported" if "unsupported" in payload else "text"
    details = {name: payload[name] for name in MEDIA_DETAIL_FIELDS if name in payload}
    return {
        "account": account,
        "chat": chat,
        "chat_lid": text_of(payload.get("chat_lid")),
        "message_id": message_id,
        "sender": text_of(payload.get("from")),
        "sender_name": text_of(payload.get("from_name")),
        "from_me": bool(payload.get("is_from_me")),
        "time_ms": time_ms(payload.get("timestamp"), when),
        "kind": kind,
        "text": text_of(payload.get("body")),
        "media": json.dumps(details, ensure_ascii=False, separators=(",", ":")) if details else None,
        "reply_to": text_of(payload.get("replied_to_id")),
        "event_id": event_id,
        "job_id": None,
    }


def _message(changes: Changes, account: str, payload: dict[str, Any], when: int, event_id: str) -> None:
    row = message_row(account, payload, when, event_id)
    if row is None:
        changes.skipped += 1
        return
    changes.message(row)
    if not row["from_me"] and row["sender_name"] and not row["chat"].endswith("@g.us"):
        changes.chat(account, row["chat"], row["time_ms"], name=row["sender_name"])


def _history_sync(changes: Changes, account: str, payload: dict[str, Any], when: int, event_id: str) -> None:
    chat, chat_lid = payload.get("chat_id"), payload.get("chat_lid")
    for item in payload.get("messages") or ():
        if not isinstance(item, dict):
            continue
        item = {"chat_id": chat, **({"chat_lid": chat_lid} if chat_lid else {}), **item}
        row = message_row(account, item, when, None)
        if row is not None:
            changes.message(row)


def _reaction(changes: Changes, account: str, payload: dict[str, Any], when: int, event_id: str) -> None:
    target = text_of(payload.get("reacted_message_id"))
    if not target:
        return
    reactor = "" if payload.get("is_from_me") else str(payload.get("from") or "")
    changes.reactions[(account, target, reactor)] = {
        "account": account,
        "message_id": target,
        "reactor": reactor,
        "emoji": str(payload.get("reaction") or ""),
        "time_ms": when,
    }


def _update(state: str, target_field: str) -> Callable[[Changes, str, dict[str, Any], int, str], None]:
    def mapper(changes: Changes, account: str, payload: dict[str, Any], when: int, event_id: str) -> None:
        target = text_of(payload.get(target_field))
        if target:
            values: dict[str, Any] = {"account": account, "message_id": target, "at": when}
            if state == "edited":
                values["text"] = text_of(payload.get("body"))
            changes.updates.append((state, values))

    return mapper


def _receipt(changes: Changes, account: str, payload: dict[str, Any], when: int, event_id: str) -> None:
    reader = str(payload.get("from") or "")
    kind = str(payload.get("receipt_type") or "delivered")
    for message_id in payload.get("ids") or ():
        if isinstance(message_id, str) and message_id:
            changes.receipts.setdefault(
                (account, message_id, kind, reader),
                {
                    "account": account,
                    "message_id": message_id,
                    "type": kind,
                    "reader": reader,
                    "chat": text_of(payload.get("chat_id")),
                    "time_ms": when,
                },
            )


def _group_joined(changes: Changes, account: str, payload: dict[str, Any], when: int, event_id: str) -> None:
    chat = text_of(payload.get("chat_id"))
    if chat:
        changes.chat(account, chat, when, name=text_of(payload.get("group_name")))


Mapper = Callable[[Changes, str, dict[str, Any], int, str], None]

# Every kind of wagw.events.kinds, and what it becomes besides its events row (None: only that).
MAPPERS: dict[str, Mapper | None] = {
    kinds.MESSAGE: _message,
    kinds.REACTION: _reaction,
    kinds.REVOKED: _update("revoked", "revoked_message_id"),
    kinds.EDITED: _update("edited", "original_message_id"),
    kinds.DELETED: _update("deleted", "deleted_message_id"),
    kinds.ACK: _receipt,
    kinds.GROUP_JOINED: _group_joined,
    kinds.CHAT_PRESENCE: None,
    kinds.GROUP_PARTICIPANTS: None,
    kinds.LABEL_EDIT: None,
    kinds.LABEL_ASSOCIATION: None,
    kinds.NEWSLETTER_JOINED: None,
    kinds.NEWSLETTER_LEFT: None,
    kinds.NEWSLETTER_MESSAGE: None,
    kinds.NEWSLETTER_MUTE: None,
    kinds.CALL_OFFER: None,
    HISTORY_SYNC: _history_sync,
}


# Send outcomes -----------------------------------------------------------------------------


def _ms_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def add_outcome(changes: Changes, record: dict[str, Any]) -> None:
    """One send's outcome record (wagw.history.outcomes.record): its sends row, and what a
    send that succeeded changed: its message, an edit, a revoke, a reaction."""
    job_id, account, operation = record.get("job_id"), record.get("account"), record.get("operation")
    ended = record.get("ended_ms")
    if not (isinstance(job_id, str) and isinstance(account, str) and isinstance(operation, str) and ended):
        changes.skipped += 1
        return
    result = record.get("result") if isinstance(record.get("result"), dict) else {}
    args = record.get("args") if isinstance(record.get("args"), dict) else {}
    assert isinstance(result, dict) and isinstance(args, dict)
    message_id = text_of(result.get("id")) if record.get("status") == "finished" else None
    changes.sends[job_id] = {
        "job_id": job_id,
        "account": account,
        "operation": operation,
        "chat": text_of(record.get("chat")),
        "message_id": message_id if operation in SEND_KINDS else None,
        "outcome": str(record.get("status") or "failed")[:32],
        "error": text_of(record.get("error")),
        "attempts": int(record.get("attempts") or 1),
        "enqueued_ms": _ms_or_none(record.get("enqueued_ms")),
        "started_ms": _ms_or_none(record.get("started_ms")),
        "ended_ms": int(ended),
    }
    if record.get("status") != "finished":
        return
    when = time_ms(result.get("timestamp"), int(ended))
    chat = text_of(result.get("to")) or text_of(record.get("chat"))
    if operation in SEND_KINDS and message_id and chat:
        kind, text_arg = SEND_KINDS[operation]
        text = args.get(text_arg) if text_arg else None
        details = {name: args[name] for name in SEND_DETAILS if name in args}
        changes.message(
            {
                "account": account,
                "chat": chat,
                "chat_lid": None,
                "message_id": message_id,
                "sender": None,
                "sender_name": None,
                "from_me": True,
                "time_ms": when,
                "kind": kind,
                "text": text if isinstance(text, str) else None,
                "media": json.dumps({kind: details}, ensure_ascii=False, separators=(",", ":")) if details else None,
                "reply_to": text_of(args.get("reply_to")),
                "event_id": None,
                "job_id": job_id,
            }
        )
    target = text_of(args.get("message_id"))
    if not target:
        return
    if operation == "edit_message":
        changes.updates.append(
            ("edited", {"account": account, "message_id": target, "at": when, "text": text_of(args.get("text"))})
        )
    elif operation == "revoke":
        changes.updates.append(("revoked", {"account": account, "message_id": target, "at": when}))
    elif operation == "react":
        key = (account, target, "")
        changes.reactions[key] = {
            "account": account,
            "message_id": target,
            "reactor": "",
            "emoji": str(args.get("emoji") or ""),
            "time_ms": when,
        }
