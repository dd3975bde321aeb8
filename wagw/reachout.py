"""WhatsApp's reach-out limit: an account's first-contact sends held until it lifts.

WhatsApp answers a message with server error 463 (its "reach-out timelock") when it keeps the
account from starting chats with people it has no conversation with. whatsmeow's SendMessage
returns only "server returned error 463"; the end of the restriction comes, when WhatsApp
sends it at all, in a separate notification that neonize 0.5.2 does not pass on. So a send
path that still meets 463 after its one warm-up and retry (workers/wa/jobs.py) fails the job
with ReachOutLimited and `hold`s the account: its first messages to new chats wait until the
hold's end (the time WhatsApp gave, else now + WAGW_REACHOUT_HOLD), while sends into chats
the account already has go on.

One hash per account (keys.REACHOUT_HOLD: until, reason, since), expiring at its end, so a
lifted hold leaves nothing behind. A second hold keeps the later end. Only wagw writes it:
a wa-worker after WhatsApp's answer, and an operator with `wagw accounts release NAME`;
nothing in a job's arguments reaches it (tests/security).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from wagw import keys
from wagw.redisconn import as_text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from redis import Redis

# Keeps the later end of two holds and expires the hash at it; an end that is no time up to
# ARGV[5] (written by hand) is replaced. ARGV: until, reason, since, expiry (unix ms), latest.
# Returns the end now in force.
_HOLD = """
local current = tonumber(redis.call('HGET', KEYS[1], 'until') or '')
if current and current >= tonumber(ARGV[1]) and current <= tonumber(ARGV[5]) then
  return redis.call('HGET', KEYS[1], 'until')
end
redis.call('HSET', KEYS[1], 'until', ARGV[1], 'reason', ARGV[2], 'since', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return ARGV[1]
"""
MAX_REASON_CHARS = 300
# The latest end a hold can have: the last second a datetime can show (9999-12-31T23:59:59Z).
# A later one was not written by wagw, which holds for a day or until WhatsApp's end.
LATEST_END = 253_402_300_799.0
FAKE_SUFFIX = "463"  # the fake backend answers a message to a user part ending in it as WhatsApp does


def chat_argument(operation: str) -> str | None:
    """The argument naming the chat a message goes into ("to", "chat") when `operation` sends
    one through whatsmeow's SendMessage (the sends and the message actions); None otherwise
    (group changes, lookups): only such a message can meet the reach-out limit."""
    from wagw.operations import OPERATIONS

    op = OPERATIONS.get(operation)
    if op is None or not op.sends or op.target not in ("to", "chat"):
        return None
    return op.target


@dataclass(frozen=True)
class Hold:
    """An account's first-contact sends held until `until` (unix time)."""

    account: str
    until: float
    reason: str
    since: float

    def as_dict(self) -> dict:
        return {"account": self.account, "until": self.until, "reason": self.reason, "since": self.since}


def hold_end(given: float | None, default_seconds: float, now: float | None = None) -> float:
    """When a hold ends: the time WhatsApp gave when it is still ahead, else now + the default."""
    now = time.time() if now is None else now
    if given is not None and math.isfinite(given) and now < given <= LATEST_END:
        return float(given)
    return now + default_seconds


def hold(conn: Redis, account: str, until: float, reason: str, now: float | None = None) -> float:
    """Hold `account`'s first-contact sends until `until`; returns the end in force (the later
    one when the account was already held)."""
    now = time.time() if now is None else now
    expiry = math.ceil(until * 1000)
    key = keys.REACHOUT_HOLD.format(account=account)
    ended = conn.eval(_HOLD, 1, key, repr(until), reason[:MAX_REASON_CHARS], repr(now), expiry, repr(LATEST_END))
    return float(as_text(ended) or until)


def held_until(conn: Redis, account: str, now: float | None = None) -> float | None:
    """The unix time until which `account`'s first-contact sends are held; None when not held."""
    found = _read(conn.hgetall(keys.REACHOUT_HOLD.format(account=account)), account, now)
    return found.until if found else None


def holds(conn: Redis, accounts: Iterable[str], now: float | None = None) -> dict[str, Hold]:
    """The holds in force, by account (one round trip)."""
    names = list(accounts)
    pipe = conn.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.REACHOUT_HOLD.format(account=name))
    found = {name: _read(fields, name, now) for name, fields in zip(names, pipe.execute(), strict=True)}
    return {name: held for name, held in found.items() if held is not None}


def all_holds(conn: Redis, now: float | None = None) -> dict[str, Hold]:
    """Every hold in force in this Redis, by account (for the metrics exporter: no roster)."""
    prefix = keys.REACHOUT_HOLD.format(account="")
    names = sorted((as_text(key) or "")[len(prefix) :] for key in conn.scan_iter(match=prefix + "*", count=100))
    return holds(conn, names, now)


def shown_time(when: float) -> str:
    """A hold's end as messages and `wagw status` show it: ISO 8601 UTC to the second."""
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def release(conn: Redis, account: str) -> bool:
    """Lift `account`'s hold now (an operator's decision); False when it was not held."""
    return bool(conn.delete(keys.REACHOUT_HOLD.format(account=account)))


def _read(fields: dict, account: str, now: float | None) -> Hold | None:
    """A hold out of its hash, or None when absent, ended or unreadable (then it holds nothing)."""
    if not fields:
        return None
    try:
        text = {as_text(name): as_text(value) or "" for name, value in fields.items()}
        until = float(text.get("until", ""))
        since = float(text.get("since") or 0.0)
    except ValueError:
        return None
    if not math.isfinite(until) or until > LATEST_END or until <= (time.time() if now is None else now):
        return None
    return Hold(account, until, text.get("reason", ""), since)
