"""`wagw events tail`: print the event log (`wagw:events`) and follow it.

Piped or redirected, each line is one event body exactly as webhooks receive it (JSON); on a
terminal, one coloured line per event with its fields in columns (wagw.session.pretty). `-n N`
shows the last N events first (0: only new ones), `--no-follow` prints them and exits.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable

import redis

from wagw import accounts, keys
from wagw.accounts import DEFAULT
from wagw.config import Settings
from wagw.exitcodes import ExitCode
from wagw.redisconn import connect, newest_entries, read_stream

BLOCK_MS = 1000  # one XREAD wait; also how fast a stop request is noticed
SCAN_FACTOR = 50  # with --account, `-n N` looks at the newest N*50 events of all accounts


def _text(fields: dict) -> str:
    return fields.get(b"event", b"{}").decode("utf-8", "replace")


def _write(line: bytes, account: str | None, show: Callable[[str], None]) -> None:
    text = line.decode("utf-8", "replace")
    if account is not None and _account_of(text) != account:
        return
    show(text)


def _json_line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _shower(settings: Settings) -> Callable[[str], None]:
    """How events are shown: pretty on a terminal, the stored JSON lines otherwise."""
    if not sys.stdout.isatty():
        return _json_line
    from wagw.session.pretty import Terminal  # rich: only for a person watching

    return Terminal(max((len(name) for name in accounts.configured_names(settings)), default=7)).write


def _account_of(body: str) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed.get("account", DEFAULT) if isinstance(parsed, dict) else None


def main(settings: Settings, args: argparse.Namespace) -> int:
    lines = max(0, int(getattr(args, "lines", 10) or 0))
    follow = not getattr(args, "no_follow", False)
    account = getattr(args, "account", None)
    if account is not None:
        try:
            account = accounts.find(settings, account).name
        except ValueError as error:
            print(f"wagw events tail: {error}", file=sys.stderr)
            return ExitCode.USAGE
    stop = {"now": False}

    def on_signal(signum, frame) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    show = _shower(settings)
    conn = connect(settings, socket_timeout=BLOCK_MS / 1000 + 10)
    try:
        # One account's last N are among the newest events of all: look further back for them.
        recent = newest_entries(conn, keys.EVENTS_STREAM, max(lines, 1) * (1 if account is None else SCAN_FACTOR))
        shown = [fields for _entry_id, fields in recent if account is None or _account_of(_text(fields)) == account]
        for fields in reversed(shown[:lines]):
            _write(fields.get(b"event", b"{}"), account, show)
        # Pinned to what exists now ("$" would be re-evaluated on every XREAD).
        last_id: bytes | str = recent[0][0] if recent else "0-0"
        while follow and not stop["now"]:
            for entry_id, fields in read_stream(conn, keys.EVENTS_STREAM, last_id, block_ms=BLOCK_MS, count=500):
                _write(fields.get(b"event", b"{}"), account, show)
                last_id = entry_id
    except BrokenPipeError:
        pass  # `wagw events tail | head`
    except redis.RedisError as error:
        print(f"wagw: cannot read the event log: {error}", file=sys.stderr)
        return ExitCode.TEMPFAIL
    return ExitCode.OK
