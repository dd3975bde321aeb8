"""Reading one field of a fake control message: the type it must have, or Malformed saying
which field and why."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Literal, overload

from wagw import events

# The latest time iso_time can write (9999-12-31, in milliseconds).
_LATEST = 253_402_300_799_999


class Malformed(ValueError):
    """The control message cannot become an event; the reason says why."""


@overload
def string(data: dict, name: str, *, required: Literal[True] = ..., default: str | None = None) -> str: ...
@overload
def string(data: dict, name: str, *, required: bool, default: str | None = None) -> str | None: ...
def string(data: dict, name: str, *, required: bool = True, default: str | None = None) -> str | None:
    value = data.get(name, default)
    if value is None or value == "":
        if required:
            raise Malformed(f"missing {name!r}")
        return None
    if not isinstance(value, str):
        raise Malformed(f"{name!r} must be a string")
    return value


def boolean(data: dict, name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise Malformed(f"{name!r} must be true or false")
    return value


def unix_time(data: dict) -> float:
    """ "timestamp": unix seconds (or milliseconds), default now; never one iso_time cannot write."""
    value = data.get("timestamp")
    if value is None:
        return time.time()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= _LATEST:
        raise Malformed("'timestamp' must be unix seconds")  # (NaN fails the range too)
    return value


def strings(data: dict, name: str) -> list[str]:
    value = data.get(name)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise Malformed(f"{name!r} must be a non-empty list of strings")
    return value


def jids(data: dict, name: str) -> list[str]:
    """An optional list of JIDs (empty when absent)."""
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and "@" in v for v in value):
        raise Malformed(f"{name!r} must be a list of JIDs")
    return value


def mapping(data: dict, name: str) -> dict | None:
    value = data.get(name)
    if value is not None and not isinstance(value, dict):
        raise Malformed(f"{name!r} must be an object")
    return value


def choice(data: dict, name: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = data.get(name, default)
    if value not in choices:
        raise Malformed(f"{name!r} must be one of {', '.join(repr(c) for c in choices)}")
    return value


def count(data: dict, name: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Malformed(f"{name!r} must be a whole number")
    return value


def people(data: dict) -> dict[str, Any]:
    """Chat, sender and the rest of a message-like event's head; "chat" defaults to "sender",
    and so does its alternate address ("chat_alt" to "sender_alt"), as in whatsmeow's
    MessageSource of a direct chat."""
    sender = string(data, "sender", required="chat" not in data)
    chat = string(data, "chat", required=False) or sender
    sender_alt = string(data, "sender_alt", required=False)
    chat_alt = string(data, "chat_alt", required=False)
    if chat_alt is None and chat == sender:
        chat_alt = sender_alt
    return {
        "chat": chat,
        "sender": sender or chat,
        "chat_alt": chat_alt,
        "sender_alt": sender_alt,
        "push_name": string(data, "push_name", required=False),
        "is_from_me": boolean(data, "is_from_me"),
        "timestamp": unix_time(data),
    }


def instance(data: dict) -> str | None:
    """For kinds whose event id holds the time (WhatsApp gives them none): without a
    "timestamp", the control message itself, so that a message handed over again after a
    restart is the same event (and two identical ones are one, as with a message id)."""
    if "timestamp" in data:
        return None
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "fake-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def newsletter_id(data: dict) -> str:
    jid = string(data, "newsletter_id")
    if not jid.endswith("@" + events.NEWSLETTER_SERVER) or jid.startswith("@"):
        raise Malformed("'newsletter_id' must be a channel JID ('…@newsletter')")
    return jid
