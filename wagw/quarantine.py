"""Poison targets and quarantine: native crashes that repeat fail fast instead of killing one
host after another.

Each native crash of a job (e.g. fetch_avatar hitting a Go panic) is recorded in Redis,
shared by all wa-workers, against its operation and, when the job has one, its *target*:
the JID, phone number or list of them that the operation table (wagw.operations,
`Operation.target`) names as what the job is about. A target is kept only as a short hash
(its id) and a masked form (wagw.addresses.masked), never as the raw number.

- **Poison target.** When one operation crashed hosts `poison_crashes` times within
  `quarantine_window` seconds on the same target, that target is poisoned for that
  operation for `poison_duration` seconds: its jobs fail at once with PoisonedTarget
  ("poisoned target: …"), never retried, never reaching a host, while every other target
  carries on. This is the incident's shape: one contact's data (a privacy token) crashes
  the library, and nobody else should pay for it.
- **Quarantine.** When one operation's crashes within the window reach `quarantine_crashes`
  *and* come from at least `quarantine_targets` distinct targets (each crash of a job
  without a target counts as a target of its own), the operation as a whole is quarantined
  for `quarantine_duration` seconds: its jobs fail at once with Quarantined ("quarantined
  after repeated native crashes"). Crashes on many targets mean the library is broken for
  everyone (a protocol change), and a crash loop would starve every other operation.

When either lifts, its count starts from zero.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from loguru import logger

from wagw import crashes, keys
from wagw.addresses import masked
from wagw.errors import PoisonedTarget, Quarantined

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from redis import Redis

    from wagw.config import Settings

MAX_PANIC_CHARS = 4000  # what is kept of a panic trace in Redis
TARGET_ID_CHARS = 12  # hex digits of a target's sha256 kept as its id
MAX_SHOWN_TARGETS = 3  # addresses of a list target shown in its masked form
NO_TARGET = "-"  # the target id of a crash of a job without a target


@dataclass(frozen=True)
class Target:
    """What a job is about, as crash records keep it."""

    id: str  # a short sha256 of the normalised target: the same on every worker and restart
    shown: str  # masked, for logs, status and messages

    @classmethod
    def of(cls, target: str | None) -> Target | None:
        """From Operation.target_of(): an address, or a list's addresses joined with ","."""
        if not target:
            return None
        parts = target.split(",")
        shown = ",".join(masked(part) for part in parts[:MAX_SHOWN_TARGETS])
        if len(parts) > MAX_SHOWN_TARGETS:
            shown += f",… ({len(parts)} in all)"
        return cls(hashlib.sha256(target.encode()).hexdigest()[:TARGET_ID_CHARS], shown)

    def __str__(self) -> str:
        return f"{self.shown} (target {self.id})"


@dataclass
class Engaged:
    """What one crash engaged: a poison target, a quarantine, both or neither."""

    poison: dict | None = None
    quarantine: dict | None = None


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def record_crash(
    conn: Redis,
    settings: Settings,
    operation: str,
    *,
    target: Target | None = None,
    process: str,
    exit: str,
    panic: str,
    now: float | None = None,
    account: str | None = None,
    job_id: str | None = None,
    outcome: str | None = None,
) -> Engaged:
    """Count one native crash of `operation` (on `target`) and write its crash record
    (wagw.crashes). `outcome`: what becomes of the job unless this crash poisons its target
    or quarantines the operation (retried, failed, outcome_unknown)."""
    now = time.time() if now is None else now
    panic = panic[:MAX_PANIC_CHARS]
    window = settings.quarantine_window
    crashes_key = keys.NATIVE_CRASHES.format(operation=operation)
    member = f"{now:.6f}:{uuid.uuid4().hex[:8]}:{target.id if target else NO_TARGET}"
    pipe = conn.pipeline()
    pipe.zadd(crashes_key, {member: now})
    pipe.zremrangebyscore(crashes_key, "-inf", now - window)
    pipe.zrange(crashes_key, 0, -1)
    pipe.pexpire(crashes_key, _ms(window))
    if target is not None:
        target_key = keys.POISON_CRASHES.format(operation=operation, target=target.id)
        pipe.zadd(target_key, {member: now})
        pipe.zremrangebyscore(target_key, "-inf", now - window)
        pipe.zcard(target_key)
        pipe.pexpire(target_key, _ms(window))
    replies = pipe.execute()
    members = [m.decode() if isinstance(m, bytes) else str(m) for m in replies[2]]
    engaged = Engaged()
    last = {"last_exit": exit, "last_panic": panic, "process": process, "window": window}
    if target is not None and replies[6] >= settings.poison_crashes:
        engaged.poison = _poison(conn, settings, operation, target, replies[6], now, last)
    targets = distinct_targets(members)
    if len(members) >= settings.quarantine_crashes and targets >= settings.quarantine_targets:
        engaged.quarantine = _quarantine(conn, settings, operation, len(members), targets, now, last)
    if outcome != crashes.OUTCOME_UNKNOWN:  # a send that may have gone stays "outcome unknown"
        outcome = crashes.QUARANTINED if engaged.quarantine else crashes.POISONED if engaged.poison else outcome
    crash = crashes.Crash(
        kind=crashes.NATIVE,
        process=process,
        exit=exit,
        outcome=outcome,
        account=account,
        operation=operation,
        target=target.shown if target else None,
        target_id=target.id if target else None,
        panic=panic,
        job_id=job_id,
    )
    crashes.record(conn, crash, retention_days=settings.crash_days, now=now)
    return engaged


def distinct_targets(members: Iterable[str]) -> int:
    """Distinct targets among crash-set members; each crash without a target is one of its own."""
    ids: set[str] = set()
    for member in members:
        parts = member.split(":")  # "<time>:<nonce>:<target id>"
        target_id = parts[2] if len(parts) == 3 else NO_TARGET
        ids.add(member if target_id == NO_TARGET else target_id)
    return len(ids)


def _poison(
    conn: Redis, settings: Settings, operation: str, target: Target, count: int, now: float, last: dict
) -> dict:
    record = {
        "operation": operation,
        "target": target.shown,
        "target_id": target.id,
        "since": now,
        "until": now + settings.poison_duration,
        "crashes": count,
        **last,
    }
    key = keys.POISON.format(operation=operation)
    pipe = conn.pipeline()
    pipe.hset(key, target.id, json.dumps(record))
    # Every record in the hash ends within poison_duration of now: the newest write's TTL covers all.
    pipe.pexpire(key, _ms(settings.poison_duration))
    pipe.delete(keys.POISON_CRASHES.format(operation=operation, target=target.id))
    pipe.execute()
    _prune(conn, key, now)
    logger.warning(
        "{} on {} poisoned for {:g} s after {} native crashes within {:g} s (other targets carry on); last: {}",
        operation,
        target,
        settings.poison_duration,
        count,
        last["window"],
        first_line(last["last_panic"]) or last["last_exit"],
    )
    return record


def _quarantine(
    conn: Redis, settings: Settings, operation: str, count: int, targets: int, now: float, last: dict
) -> dict:
    record = {
        "operation": operation,
        "since": now,
        "until": now + settings.quarantine_duration,
        "crashes": count,
        "targets": targets,
        **last,
    }
    pipe = conn.pipeline()
    pipe.set(keys.QUARANTINE.format(operation=operation), json.dumps(record), px=_ms(settings.quarantine_duration))
    pipe.delete(keys.NATIVE_CRASHES.format(operation=operation))
    pipe.execute()
    logger.warning(
        "{} quarantined for {:g} s after {} native crashes on {} targets within {:g} s; last: {}",
        operation,
        settings.quarantine_duration,
        count,
        targets,
        last["window"],
        first_line(last["last_panic"]) or last["last_exit"],
    )
    return record


def _prune(conn: Redis, key: str, now: float) -> None:
    """Drop lifted poison records (the hash's own TTL follows the newest one)."""
    lifted = [field for field, raw in conn.hgetall(key).items() if json.loads(raw)["until"] <= now]
    if lifted:
        conn.hdel(key, *lifted)


# Reading ---------------------------------------------------------------------------------
def get(conn: Redis, operation: str) -> dict | None:
    raw = conn.get(keys.QUARANTINE.format(operation=operation))
    return json.loads(raw) if raw else None


def _active(raw: dict, now: float) -> dict[str, dict]:
    """Poison records by target id, lifted ones left out."""
    records = {}
    for field, value in raw.items():
        record = json.loads(value)
        if record["until"] > now:
            records[field.decode() if isinstance(field, bytes) else str(field)] = record
    return records


def poisons(conn: Redis, operation: str) -> dict[str, dict]:
    """The targets poisoned for `operation` now, by target id."""
    return _active(conn.hgetall(keys.POISON.format(operation=operation)), time.time())


def check(conn: Redis, operation: str, target: Target | None = None) -> None:
    """Raise PoisonedTarget while `target` is poisoned for `operation`, Quarantined while the
    operation is quarantined."""
    if target is not None:
        record = poisons(conn, operation).get(target.id)
        if record is not None:
            raise PoisonedTarget(describe_poison(record))
    record = get(conn, operation)
    if record is not None:
        raise Quarantined(describe(record))


class Checker:
    """check() for a worker's hot path. The operation's quarantine is read at most once per
    `max_age` seconds (another worker's new quarantine is seen at most that late: a crash or
    so more; one this process engages is seen at once). A job's target is looked up in the
    same round trip, every time: a poisoned target must never reach a host again, and its
    retry often lands on another worker within a second of the crash that poisoned it."""

    def __init__(self, conn: Redis, max_age: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.conn = conn
        self.max_age = max_age
        self.clock = clock
        self._seen: dict[str, tuple[float, dict | None]] = {}  # operation -> (monotonic, quarantine)

    def check(self, operation: str, target: Target | None = None) -> None:
        now = self.clock()
        seen = self._seen.get(operation)
        stale = seen is None or now - seen[0] >= self.max_age
        poisoned = None
        if stale:
            pipe = self.conn.pipeline(transaction=False)
            pipe.get(keys.QUARANTINE.format(operation=operation))
            if target is not None:
                pipe.hget(keys.POISON.format(operation=operation), target.id)
            replies = pipe.execute()
            seen = self._seen[operation] = (now, json.loads(replies[0]) if replies[0] else None)
            poisoned = replies[1] if target is not None else None
        elif target is not None:
            poisoned = self.conn.hget(keys.POISON.format(operation=operation), target.id)
        if poisoned:
            record = json.loads(poisoned)
            if record["until"] > time.time():
                raise PoisonedTarget(describe_poison(record))
        assert seen is not None
        record = seen[1]
        if record is not None and record["until"] > time.time():
            raise Quarantined(describe(record))

    def note(self, engaged: Engaged) -> None:
        """What a crash in this process just engaged (a poison target is read per job anyway)."""
        if engaged.quarantine is not None:
            self._seen[engaged.quarantine["operation"]] = (time.monotonic(), engaged.quarantine)


def _until(record: dict) -> tuple[str, float]:
    until = datetime.fromtimestamp(record["until"], UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return until, max(0.0, record["until"] - time.time())


def describe(record: dict) -> str:
    until, remaining = _until(record)
    targets = f" on {record['targets']} targets" if record.get("targets") else ""
    text = (
        f"{record['operation']} quarantined after repeated native crashes "
        f"({record['crashes']}{targets} within {record['window']:g} s) until {until} "
        f"({remaining:.0f} s left); last crash: {record['last_exit']}"
    )
    if record.get("last_panic"):
        text += f"; last panic:\n{record['last_panic']}"
    return text


def describe_poison(record: dict) -> str:
    until, remaining = _until(record)
    text = (
        f"poisoned target: {record['operation']} on {record['target']} (target {record['target_id']}) "
        f"crashed native hosts {record['crashes']} times within {record['window']:g} s, so its "
        f"{record['operation']} jobs fail fast until {until} ({remaining:.0f} s left); other targets "
        f"carry on; last crash: {record['last_exit']}"
    )
    if record.get("last_panic"):
        text += f"; last panic:\n{record['last_panic']}"
    return text


def _for_status(record: dict) -> dict:
    record["remaining"] = max(0.0, record["until"] - time.time())
    record["panic"] = record.get("last_panic", "")  # the name wagw:crashes entries use
    return record


def active_quarantines(conn: Redis) -> list[dict]:
    """Every operation quarantined now, soonest to lift first (for `wagw status`).

    Each dict: operation, since, until (unix time), remaining (s), crashes, targets, window,
    last_exit, last_panic (the panic trace; also as "panic"), process.
    """
    found = []
    for key in conn.scan_iter(match=keys.QUARANTINE.format(operation="*"), count=100):
        raw = conn.get(key)
        if raw is None:  # lifted between SCAN and GET
            continue
        found.append(_for_status(json.loads(raw)))
    return sorted(found, key=lambda record: record["until"])


def active_poisons(conn: Redis) -> list[dict]:
    """Every poisoned target now, soonest to lift first (for `wagw status`).

    Each dict: operation, target (masked), target_id, since, until, remaining, crashes,
    window, last_exit, last_panic (also as "panic"), process.
    """
    found: list[dict] = []
    now = time.time()
    prefix = keys.POISON.format(operation="")
    for key in conn.scan_iter(match=keys.POISON.format(operation="*"), count=100):
        name = key.decode() if isinstance(key, bytes) else str(key)
        if name.startswith(prefix):
            found.extend(_for_status(record) for record in _active(conn.hgetall(key), now).values())
    return sorted(found, key=lambda record: record["until"])


def poisoned_counts(conn: Redis, operations: Iterable[str]) -> dict[str, int]:
    """Targets poisoned now, per operation (for the metrics exporter)."""
    names = list(operations)
    pipe = conn.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.POISON.format(operation=name))
    now = time.time()
    return {name: len(_active(raw, now)) for name, raw in zip(names, pipe.execute(), strict=True)}


def lift(conn: Redis, operation: str) -> bool:
    """End a quarantine early (an operator fixed the cause). True if there was one."""
    pipe = conn.pipeline()
    pipe.delete(keys.QUARANTINE.format(operation=operation))
    pipe.delete(keys.NATIVE_CRASHES.format(operation=operation))
    return bool(pipe.execute()[0])


def lift_poison(conn: Redis, operation: str, target_id: str) -> bool:
    """Let a poisoned target be tried again (e.g. after an upgrade). True if it was poisoned."""
    pipe = conn.pipeline()
    pipe.hdel(keys.POISON.format(operation=operation), target_id)
    pipe.delete(keys.POISON_CRASHES.format(operation=operation, target=target_id))
    return bool(pipe.execute()[0])


def first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")
