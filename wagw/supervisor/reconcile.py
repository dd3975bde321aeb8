"""`wagw accounts [list|add NAME|remove NAME|token NAME|release NAME]`, and how a running `wagw run`
follows it (`release` lifts an account's reach-out hold: wagw.reachout).

The change is recorded in `<data dir>/accounts.json` (wagw.accounts.Overlay), on top of
WAGW_ACCOUNTS, so it works whether or not wagw runs and lasts across restarts. The supervisor
looks at that file every second (AccountWatch): a new account's children start, a removed
one's stop, and every other process keeps its pid. A removed account's queue `wa.<name>` is
left as it is: its jobs wait until the account is added back (docs/configuration.md).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from wagw import accounts
from wagw.errors import AccountExists
from wagw.exitcodes import ExitCode

if TYPE_CHECKING:
    import argparse

    from wagw.config import Settings
    from wagw.supervisor.state import ChildSpec


class AccountWatch:
    """Tells the supervisor when the accounts file changed, and what to run then: the
    accounts' children only (building the shared ones again would touch a live Redis)."""

    def __init__(self, settings: Settings, desired: Callable[[], list[ChildSpec]]) -> None:
        self.path = accounts.overlay_path(settings)
        self.desired = desired
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def changed(self) -> bool:
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        return True


def _write_overlay(settings: Settings, overlay: accounts.Overlay) -> None:
    path = accounts.overlay_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(overlay.as_json(), handle, indent=2)
        handle.write("\n")
    os.replace(temporary, path)  # the supervisor never reads half a file


def add(settings: Settings, name: str) -> str:
    accounts.check_name(name)
    roster = accounts.Roster.load(settings)
    if name in roster.names:
        raise AccountExists(f"account {name!r} is already configured")
    added, removed = roster.overlay.added, tuple(each for each in roster.overlay.removed if each != name)
    if name not in settings.accounts:
        added = (*added, name)
    _write_overlay(settings, accounts.Overlay(added, removed))
    return (
        f"account {name} added: a running wagw starts its session and wa-worker(s) within seconds; "
        f"link its devices with `wagw pair --account {name} --role all`"
    )


def remove(settings: Settings, name: str) -> str:
    roster = accounts.Roster.load(settings)
    if name not in roster.names:
        raise ValueError(f"no account {name!r} is configured")
    if name == settings.accounts[0]:
        raise ValueError(
            f"account {name!r} is the first of WAGW_ACCOUNTS and serves queue `wa`: "
            "change WAGW_ACCOUNTS and restart instead"
        )
    added, removed = roster.overlay.added, roster.overlay.removed
    if name in added:
        added = tuple(each for each in added if each != name)
    else:
        removed = (*removed, name)
    _write_overlay(settings, accounts.Overlay(added, removed))
    return (
        f"account {name} removed: a running wagw stops its processes; jobs still on queue "
        f"{accounts.queue_of(name)} wait there until it is added again; its devices stay paired"
    )


def listing(settings: Settings) -> list[dict]:
    roster = accounts.Roster.load(settings)
    return [
        {
            "name": account.name,
            "primary": account.primary,
            "queues": account.queues,
            "wa_workers": account.wa_workers,
            "roles": account.roles(),
            "source": "accounts add" if account.name in roster.overlay.added else "WAGW_ACCOUNTS",
        }
        for account in roster.configured
    ]


def _print_token(settings: Settings, name: str) -> int:
    """A new API token for one account on stdout (its previous one stops working)."""
    from redis.exceptions import RedisError

    from wagw.api import tokens
    from wagw.redisconn import connect

    account = accounts.Roster.load(settings).find(name)  # ValueError names the accounts
    try:
        print(tokens.issue(connect(settings), account.name))
    except (RedisError, OSError) as error:
        print(
            f"wagw accounts token: Redis at {settings.redis_url_shown} does not answer ({error}): is wagw running?",
            file=sys.stderr,
        )
        return ExitCode.TEMPFAIL
    return ExitCode.OK


def release(settings: Settings, name: str) -> str:
    """Lift an account's reach-out hold now (wagw.reachout): its first messages to new chats go
    again, those waiting for the hold at once. For an operator who knows better, e.g. when the
    phone shows the limit gone."""
    from wagw import reachout, sendorder
    from wagw.redisconn import connect

    account = accounts.Roster.load(settings).find(name).name  # ValueError names the accounts
    conn = connect(settings, socket_timeout=3)
    until = reachout.held_until(conn, account)
    if not reachout.release(conn, account) or until is None:
        return f"account {account}: first-contact sends are not held"
    # The sends waiting for the hold are looked at again now (any other waiting send due by
    # then is looked at early, and waits again if its time has not come). A second past the
    # end: the wait's time was written with Lua's 14 significant digits.
    woken = sendorder.release_due(conn, account, now=until + 1.0)
    return (
        f"account {account}: first-contact sends were held until {reachout.shown_time(until)}; released "
        f"({woken} waiting send(s) looked at again)"
    )


def main(settings: Settings, args: argparse.Namespace) -> int:
    action = args.action
    if action in ("add", "remove", "token", "release") and not args.name:
        print(f"wagw accounts {action}: name the account", file=sys.stderr)
        return ExitCode.USAGE
    try:
        if action == "add":
            print(add(settings, args.name))
        elif action == "remove":
            print(remove(settings, args.name))
        elif action == "token":
            return _print_token(settings, args.name)
        elif action == "release":
            print(release(settings, args.name))
        elif args.json:
            print(json.dumps(listing(settings), indent=2))
        else:
            for entry in listing(settings):
                mark = " (first: also serves queue wa)" if entry["primary"] else ""
                print(
                    f"{entry['name']}{mark}: {entry['wa_workers']} wa-worker slot(s), "
                    f"queue {entry['queues'][0]}, from {entry['source']}"
                )
    except ValueError as error:
        print(f"wagw accounts: {error}", file=sys.stderr)
        return ExitCode.USAGE
    return ExitCode.OK
