"""`wagw events tail` on a terminal: one coloured line per event, its fields in columns.

time · account · event · chat · sender · what it says (the message's text, or the payload's
other fields as `name=value`). Everything in it came from WhatsApp, so every value is shown
with control and invisible characters escaped (wagw.logs.escape_controls) and newlines as
`\\n`, and built as rich Text (never markup), so a message cannot colour, move or hide
anything on the terminal. Piped, the command prints the stored JSON lines unchanged instead.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

from wagw.logs import escape_controls

EVENT_WIDTH = 18  # the longest event names: group.participants, newsletter.message
CHAT_WIDTH = 26  # a phone number's JID: 15551234567@s.whatsapp.net
WHAT_LIMIT = 200  # characters of the last column; the JSON line (piped) has everything
# Payload fields the columns already show, or that say nothing at a glance.
SHOWN = frozenset(
    {"id", "chat_id", "chat_lid", "from", "from_lid", "from_name", "sender_display_name", "timestamp", "is_from_me"}
)
EVENT_STYLES = {"message": "bold green", "message.ack": "dim", "chat_presence": "dim"}


def shown(value: Any) -> str:
    """A value as one safe line of text."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return escape_controls(text).replace("\t", "\\t").replace("\n", "\\n")


def _what(payload: dict) -> str:
    if isinstance(payload.get("body"), str) and payload["body"]:
        return shown(payload["body"])
    rest = [f"{name}={shown(value)}" for name, value in payload.items() if name not in SHOWN]
    return " ".join(rest)


def line(body: str, account_width: int = 7) -> Text:
    """One stored event body (JSON) as a terminal line."""
    try:
        event = json.loads(body)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        return Text(shown(body))
    found = event.get("payload")
    payload: dict = found if isinstance(found, dict) else {}
    name = shown(event.get("event", "?"))
    when = shown(event.get("timestamp", "")).replace("T", " ").removesuffix("Z")
    chat = shown(payload.get("chat_id") or payload.get("from") or "")
    who = payload.get("from_name") or payload.get("sender_display_name") or ""
    mine = payload.get("is_from_me") is True
    what = _what(payload)
    if len(what) > WHAT_LIMIT:
        what = what[: WHAT_LIMIT - 1] + "…"
    text = Text()
    text.append(f"{when:<19}", style="dim")
    text.append("  ")
    text.append(f"{shown(event.get('account', '')):<{account_width}}", style="cyan")
    text.append("  ")
    text.append(f"{name:<{EVENT_WIDTH}}", style=EVENT_STYLES.get(name, "bold yellow"))
    text.append("  ")
    text.append(f"{chat:<{CHAT_WIDTH}}", style="blue")
    text.append("  ")
    if who or mine:
        text.append(shown(who) if who else "me", style="bold magenta" if mine else "bold")
        text.append(": ")
    text.append(what)
    return text


class Terminal:
    """Writes events to a terminal as pretty lines."""

    def __init__(self, account_width: int) -> None:
        # soft_wrap: a long line is cut by the terminal, not re-flowed into a second line.
        self.console = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)
        self.account_width = account_width

    def write(self, body: str) -> None:
        self.console.print(line(body, self.account_width))
