"""Quarantine: an operation that keeps crashing native hosts fails fast for a while.

Each native crash of a job (e.g. fetch_avatar hitting a Go panic) is counted per operation
in Redis, shared by all wa-workers. When an operation reaches `quarantine_crashes` crashes
within `quarantine_window` seconds it is quarantined for `quarantine_duration` seconds: its
jobs fail at once with "quarantined after repeated native crashes" instead of killing one
host after another (a crash loop that would also starve every other operation). When the
quarantine lifts, the count starts from zero.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from loguru import logger

from wagw import keys

if TYPE_CHECKING:
    from redis import Redis

    from wagw.config import Settings

MAX_PANIC_CHARS = 4000  # what is kept of a panic trace in Redis


class Quarantined(RuntimeError):
    """The operation is quarantined: the job fails without touching the native host."""

    permanent = True  # read by the wa-worker: retrying during the quarantine cannot help


def record_crash(
    conn: Redis,
    settings: Settings,
    operation: str,
    *,
    process: str,
    exit: str,
    panic: str,
    now: float | None = None,
) -> dict | None:
    """Count one native crash of `operation` and log it on wagw:crashes.

    Returns the quarantine record when this crash engaged one, else None.
    """
    now = time.time() if now is None else now
    panic = panic[:MAX_PANIC_CHARS]
    window = settings.quarantine_window
    crashes_key = keys.NATIVE_CRASHES.format(operation=operation)
    entry = {"time": now, "process": process, "operation": operation, "exit": exit, "panic": panic}
    pipe = conn.pipeline()
    pipe.zadd(crashes_key, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
    pipe.zremrangebyscore(crashes_key, "-inf", now - window)
    pipe.zcard(crashes_key)
    pipe.pexpire(crashes_key, max(1, math.ceil(window * 1000)))
    pipe.lpush(keys.CRASHES, json.dumps(entry))
    pipe.ltrim(keys.CRASHES, 0, 99)
    count = pipe.execute()[2]
    if count < settings.quarantine_crashes:
        return None

    record = {
        "operation": operation,
        "since": now,
        "until": now + settings.quarantine_duration,
        "crashes": count,
        "window": window,
        "last_exit": exit,
        "last_panic": panic,
        "process": process,
    }
    pipe = conn.pipeline()
    pipe.set(
        keys.QUARANTINE.format(operation=operation),
        json.dumps(record),
        px=max(1, math.ceil(settings.quarantine_duration * 1000)),
    )
    pipe.delete(crashes_key)
    pipe.execute()
    logger.warning(
        "{} quarantined for {:g} s after {} native crashes within {:g} s; last: {}",
        operation,
        settings.quarantine_duration,
        count,
        window,
        first_line(panic) or exit,
    )
    return record


def get(conn: Redis, operation: str) -> dict | None:
    raw = conn.get(keys.QUARANTINE.format(operation=operation))
    return json.loads(raw) if raw else None


def check(conn: Redis, operation: str) -> None:
    """Raise Quarantined while `operation` is quarantined."""
    record = get(conn, operation)
    if record is not None:
        raise Quarantined(describe(record))


class Checker:
    """check() with a short memory, for a worker's hot path: one GET per operation per
    `max_age` seconds instead of one per job. Another worker's new quarantine is seen at
    most that late (a crash or so more); one this process engages is seen at once."""

    def __init__(self, conn: Redis, max_age: float = 1.0):
        self.conn = conn
        self.max_age = max_age
        self._seen: dict[str, tuple[float, dict | None]] = {}

    def check(self, operation: str) -> None:
        now = time.monotonic()
        seen = self._seen.get(operation)
        if seen is None or now - seen[0] >= self.max_age:
            seen = (now, get(self.conn, operation))
            self._seen[operation] = seen
        record = seen[1]
        if record is not None and record["until"] > time.time():
            raise Quarantined(describe(record))

    def note(self, record: dict) -> None:
        """A quarantine this process just engaged."""
        self._seen[record["operation"]] = (time.monotonic(), record)


def describe(record: dict) -> str:
    remaining = max(0.0, record["until"] - time.time())
    until = datetime.fromtimestamp(record["until"], UTC).isoformat(timespec="seconds")
    text = (
        f"{record['operation']} quarantined after repeated native crashes "
        f"({record['crashes']} within {record['window']:g} s) until {until.replace('+00:00', 'Z')} "
        f"({remaining:.0f} s left); last crash: {record['last_exit']}"
    )
    if record.get("last_panic"):
        text += f"; last panic:\n{record['last_panic']}"
    return text


def active_quarantines(conn: Redis) -> list[dict]:
    """Every operation quarantined now, soonest to lift first (for `wagw status`).

    Each dict: operation, since, until (unix time), remaining (s), crashes, window, last_exit,
    last_panic (the panic trace; also as "panic"), process.
    """
    found = []
    for key in conn.scan_iter(match=keys.QUARANTINE.format(operation="*"), count=100):
        raw = conn.get(key)
        if raw is None:  # lifted between SCAN and GET
            continue
        record = json.loads(raw)
        record["remaining"] = max(0.0, record["until"] - time.time())
        record["panic"] = record.get("last_panic", "")  # the name wagw:crashes entries use
        found.append(record)
    return sorted(found, key=lambda record: record["until"])


def lift(conn: Redis, operation: str) -> bool:
    """End a quarantine early (an operator fixed the cause). True if there was one."""
    pipe = conn.pipeline()
    pipe.delete(keys.QUARANTINE.format(operation=operation))
    pipe.delete(keys.NATIVE_CRASHES.format(operation=operation))
    return bool(pipe.execute()[0])


def first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")
