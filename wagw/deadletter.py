"""The dead-letter lists: ids found on a queue, and entries of its started registry, that
cannot be read as jobs.

Anyone who can enqueue can push any bytes onto a queue's list, and write any member into its
started registry (`rq:wip:<queue>`). rq lets a worker die on an id it cannot fetch or decode,
and the stranded-job rescue would then put the id back for the next worker: one bad id
crash-looped a wa-worker; one bad started entry did the same to the orphaned-job reaper (in
the scheduler and at each wa-worker's start) and to rq's own cleanup in every worker's
maintenance. wagw's workers, the rescue and the reaper instead move such an id or entry to
`wagw:deadletter:<queue>` (capped, newest first) with the reason and the time, count it and
carry on (wagw.rqcompat reads and moves it; docs/operations.md "Dead-letter lists" says how
to look at and clear them).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from loguru import logger

from wagw import keys, metrics

if TYPE_CHECKING:
    from redis import Redis

KEEP = 1000  # entries per queue; older ones drop off
SHOWN_ID_BYTES = 256  # of an id, in its entry and the log: any valid id whole (an id can be megabytes)

# reason -> what it means; the reason is the metric's label, so the set stays fixed.
REASONS: dict[str, str] = {
    "invalid_id": "not a job id: only letters, digits, '-' and '_' (rq's rule)",
    "id_too_long": "not a job id: longer than any client makes",
    "no_job": "no job under this id (deleted, or expired while queued)",
    "not_a_hash": "the job's key holds something other than a job hash",
    "missing_fields": "the job hash lacks data, origin or status",
    "unreadable_fields": "the job hash has fields rq cannot read",
    "pickled": "the job's data is a pickle (wagw reads jobs as JSON only)",
    "not_json": "the job's data is not JSON",
    "not_a_call": "the job's data is not [function, instance, args, kwargs]",
    "too_large": "the job's data inflates past the cap on a job's size (WAGW_MAX_JOB_BYTES, at least 24 MiB)",
    "not_an_entry": "not a started-registry entry: rq writes '<job id>:<execution id>'",
    "bad_execution": "the entry's execution record is not rq's (not a hash, or a worker name that is not text)",
}
STARTED = "started"  # the registry an entry was found in (an id from a queue names none)
SCHEDULED = "scheduled"


def shown_id(raw: bytes | str) -> str:
    """An id as printable ASCII, cut to SHOWN_ID_BYTES: other bytes and characters escaped."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    text = data[:SHOWN_ID_BYTES].decode("ascii", "backslashreplace")
    text = "".join(char if char.isprintable() else char.encode("unicode_escape").decode() for char in text)
    return text if len(data) <= SHOWN_ID_BYTES else f"{text}… ({len(data)} bytes)"


def entry(queue: str, raw: bytes | str, reason: str, by: str, registry: str | None = None) -> str:
    """The dead-letter record of one id (JSON): where, what, why, when and who moved it; an
    entry of a registry (STARTED) says which."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    record = {
        "queue": queue,
        "id": shown_id(data),
        "bytes": len(data),
        "reason": reason,
        "why": REASONS[reason],
        "at": round(time.time(), 3),
        "by": by,
    }
    if registry is not None:
        record["registry"] = registry
    return json.dumps(record, separators=(",", ":"))


def recorded(conn: Redis, queue: str, raw: bytes | str, reason: str, by: str, registry: str | None = None) -> None:
    """Count and log an id (or a registry's entry) just moved to the dead-letter list."""
    metrics.incr(conn, "jobs_dead_lettered", queue=queue, reason=reason)
    logger.warning(
        "queue {}: {} {} cannot be read as a job ({}): moved to {}",
        queue,
        f"{registry} registry entry" if registry else "id",
        shown_id(raw),
        REASONS[reason],
        keys.DEAD_LETTER.format(queue=queue),
    )


def read(conn: Redis, queues: list[str], recent: int = 5) -> dict:
    """For `wagw status`: how many entries each queue's list holds, and the newest ones."""
    with conn.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.llen(keys.DEAD_LETTER.format(queue=queue))
            pipe.lrange(keys.DEAD_LETTER.format(queue=queue), 0, recent - 1)
        replies = pipe.execute()
    counts = {queue: int(count) for queue, count in zip(queues, replies[::2], strict=True) if count}
    entries = []
    for raw in (item for items in replies[1::2] for item in items):
        try:
            item = json.loads(raw)
        except ValueError:
            continue
        if isinstance(item, dict):  # else written by something other than wagw
            entries.append(item)
    entries.sort(key=_when, reverse=True)
    return {"count": sum(counts.values()), "queues": counts, "recent": entries[:recent]}


def _when(item: dict) -> float:
    at = item.get("at")
    return float(at) if isinstance(at, int | float) else 0.0
