"""`wagw history chats | messages CHAT | search TEXT`: read the history store.

Text mode prints one line per row, every value from WhatsApp with its control characters
escaped (wagw.session.pretty.shown), then the cursor of the next page; `--json` prints one
object {"rows": […], "next_cursor"} for scripts."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from wagw.exitcodes import ExitCode
from wagw.history import read
from wagw.history.store import StoreMissing, open_store, store_error
from wagw.session.pretty import shown

if TYPE_CHECKING:
    import argparse

    from wagw.config import Settings


def main(settings: Settings, args: argparse.Namespace) -> int:
    try:
        store = open_store(settings)
    except StoreMissing as error:
        print(f"wagw history: {error}", file=sys.stderr)
        return ExitCode.FAILURE
    try:
        page: read.Page[Any]
        if args.subcommand == "chats":
            page = read.chats_page(store, account=args.account, limit=args.limit, before=args.before)
        elif args.subcommand == "messages":
            page = read.messages_page(store, args.chat, account=args.account, limit=args.limit, before=args.before)
        else:
            page = read.search_page(store, args.text, account=args.account, limit=args.limit, before=args.before)
    except ValueError as error:
        print(f"wagw history: {error}", file=sys.stderr)
        return ExitCode.USAGE
    except SQLAlchemyError as error:  # no tables yet, or the server is down: say so, no traceback
        print(f"wagw history: the store {store.shown} cannot be read: {store_error(error)}", file=sys.stderr)
        return ExitCode.FAILURE
    finally:
        store.close()
    if args.json:
        print(json.dumps({"rows": [row.as_json() for row in page.rows], "next_cursor": page.next_cursor}))
        return ExitCode.OK
    for row in page.rows:
        print(chat_line(row) if isinstance(row, read.Chat) else message_line(row))
    if page.next_cursor:
        print(f"(more: --before {page.next_cursor})")
    return ExitCode.OK


def chat_line(chat: read.Chat) -> str:
    return f"{chat.last_time}  {chat.account}  {shown(chat.chat)}  {shown(chat.name or '')}"


def message_line(message: read.Message) -> str:
    who = "me" if message.from_me else shown(message.sender_name or message.sender or "")
    states = [
        name
        for name, at in (
            ("edited", message.edited_at),
            ("revoked", message.revoked_at),
            ("deleted", message.deleted_at),
        )
        if at
    ]
    marks = f" [{', '.join(states)}]" if states else ""
    kind = "" if message.kind == "text" else f"<{message.kind}> "
    reactions = " " + " ".join(shown(e) for e in message.reactions.values()) if message.reactions else ""
    receipt = f" ({message.receipts[-1].type})" if message.receipts else ""
    return f"{message.time}  {shown(message.chat)}  {who}: {kind}{shown(message.text or '')}{marks}{reactions}{receipt}"
