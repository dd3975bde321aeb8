"""Crash records: one writer and one shape for every crash wagw sees.

Two kinds of crash are recorded, in the same shape:
- **native**: a native host died during a job (a Go panic in neonize/whatsmeow, a kill);
  written by the wa-worker through wagw.quarantine.record_crash, which also counts it
  toward poison targets and quarantine;
- **process**: a supervised child exited unexpectedly; written by the supervisor.

Each record is a JSON object (`FIELDS`): when, which process and account, the operation and
its target (masked, with its short id, never the raw address), how it ended (exit, signal),
the panic text and its top Go frames, the crash's signature (wagw.crashes.signature), the
neonize and whatsmeow versions, the job and what became of it (`outcome`).

Records go to two places in one transaction: `wagw:crash-log`, kept for `WAGW_CRASH_DAYS`
(at most MAX_RECORDS), which `wagw crashes` groups by signature, and the short list
`wagw:crashes` of the newest 100, which `wagw status` shows.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wagw import keys
from wagw.crashes import signature, versions

if TYPE_CHECKING:
    from redis import Redis

MAX_PANIC_CHARS = 4000  # what is kept of a panic trace
RECENT = 100  # entries of wagw:crashes
MAX_RECORDS = 10_000  # wagw:crash-log never holds more, whatever the retention
_SIGNATURE = re.compile(r"[0-9a-f]{1,64}")

NATIVE = "native"
PROCESS = "process"

# What became of the job (native) or the process (process) after the crash.
RETRIED = "retried"
FAILED = "failed"
POISONED = "poisoned"  # this crash poisoned its target: the job's next tries fail fast
QUARANTINED = "quarantined"  # this crash quarantined the operation
OUTCOME_UNKNOWN = "outcome_unknown"  # a send that may have reached WhatsApp: failed, not resent
RESTARTED = "restarted"
FATAL = "fatal"
OUTCOMES = (RETRIED, FAILED, POISONED, QUARANTINED, OUTCOME_UNKNOWN, RESTARTED, FATAL)

FIELDS = (
    "id",
    "time",
    "kind",
    "account",
    "process",
    "operation",
    "target",
    "target_id",
    "exit",
    "signal",
    "state",
    "panic",
    "stack",
    "signature",
    "neonize",
    "whatsmeow",
    "job_id",
    "outcome",
)


@dataclass(frozen=True)
class Crash:
    """One crash as its writer knows it; `record` adds the rest."""

    kind: str
    process: str
    exit: str
    outcome: str | None = None
    account: str | None = None
    operation: str | None = None  # scoped per account (Account.scoped), as quarantine counts it
    target: str | None = None  # masked
    target_id: str | None = None
    panic: str = ""
    job_id: str | None = None
    state: str | None = None  # the supervisor's state for the child afterwards


def shape(crash: Crash, now: float | None = None) -> dict:
    """The record of `crash`, in the one shape (FIELDS)."""
    panic = crash.panic[:MAX_PANIC_CHARS]
    found = versions.both()
    return {
        "id": uuid.uuid4().hex[:16],
        "time": time.time() if now is None else now,
        "kind": crash.kind,
        "account": crash.account,
        "process": crash.process,
        "operation": crash.operation,
        "target": crash.target,
        "target_id": crash.target_id,
        "exit": crash.exit,
        "signal": crash.exit.removeprefix("signal ") if crash.exit.startswith("signal ") else None,
        "state": crash.state,
        "panic": panic,
        "stack": signature.frames(panic),
        "signature": signature.sign(panic, exit=crash.exit, operation=crash.operation, process=crash.process),
        "neonize": found["neonize"],
        "whatsmeow": found["whatsmeow"],
        "job_id": crash.job_id,
        "outcome": crash.outcome,
    }


def record(conn: Redis, crash: Crash, *, retention_days: float, now: float | None = None) -> dict:
    """Write one crash record (the only writer) and drop those past the retention."""
    entry = shape(crash, now)
    body = json.dumps(entry)
    pipe = conn.pipeline()
    pipe.lpush(keys.CRASHES, body)
    pipe.ltrim(keys.CRASHES, 0, RECENT - 1)
    pipe.zadd(keys.CRASH_LOG, {body: entry["time"]})
    pipe.zremrangebyscore(keys.CRASH_LOG, "-inf", f"({entry['time'] - retention_days * 86_400}")
    pipe.zremrangebyrank(keys.CRASH_LOG, 0, -MAX_RECORDS - 1)
    pipe.execute()
    return entry


def load(conn: Redis, since: float | None = None) -> list[dict]:
    """Every kept crash record, oldest first (one that is not a record of this shape is skipped)."""
    raws = conn.zrangebyscore(keys.CRASH_LOG, "-inf" if since is None else since, "+inf")
    found = []
    for raw in raws:
        try:
            entry = json.loads(raw)  # type: ignore[arg-type]
        except ValueError:
            continue
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("signature"), str)
            and _SIGNATURE.fullmatch(entry["signature"])
            and isinstance(entry.get("time"), int | float)
            and 0 <= entry["time"] < 1e11
        ):
            found.append(entry)
    return found
