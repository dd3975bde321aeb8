"""The record of each send's outcome, written by the wa-worker that ran it and read by the
history writer: one entry on the capped stream `wagw:history:sends` per attempt's end.

The wa-worker calls `record` once the job's outcome is recorded in rq (the enqueuer can
already see it): it costs that worker one XADD, and whatever goes wrong here is logged and
dropped, never raised into the worker. Only operations that send (wagw.operations: `sends`)
are recorded; their media arguments (bytes, URLs, paths) never are.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from loguru import logger

from wagw import keys, rqcompat
from wagw.operations import operation_of

if TYPE_CHECKING:
    from redis import Redis
    from rq.job import Job

# The stream is capped like the event log (approximately): a writer down for longer than it
# covers loses the oldest outcomes, and says so (docs/history.md "Gaps").
SENDS_MAXLEN = 100_000
ARG_MAX_CHARS = 8192  # an argument longer than this is left out of the record
ERROR_MAX_CHARS = 500


def _ms(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment is not None else None


def build(job: Job, account: str, exc_string: str | None = None, *, final: bool | None = None) -> dict[str, Any] | None:
    """The record of `job`'s end (None: not a send). `final`: a failure is not retried (read
    before rq's handling spends a retry; None: from the job's retries left)."""
    operation = operation_of(job.func_name)
    if operation is None or not operation.sends:
        return None
    args: dict[str, Any] = dict(zip(operation.parameters, job.args or (), strict=False))
    args.update(job.kwargs or {})
    kept = {
        name: value
        for name, value in args.items()
        if name != operation.media and len(json.dumps(value, default=str)) <= ARG_MAX_CHARS
    }
    target = args.get(operation.target) if operation.target else None
    record: dict[str, Any] = {
        "job_id": job.id,
        "account": account,
        "operation": operation.name,
        "chat": target if isinstance(target, str) else None,
        "args": kept,
        "enqueued_ms": _ms(job.enqueued_at),
        "started_ms": _ms(job.started_at),
        "ended_ms": _ms(job.ended_at) or int(time.time() * 1000),
    }
    if exc_string is None:
        # The worker that ran it holds the value; its Result may not be written yet (the
        # wa-worker records this outcome in the same script call as rq's records).
        result = rqcompat.performed_result(job)
        if result is None:
            result = job.return_value()
        record["status"] = "finished"
        record["result"] = result if isinstance(result, dict) else None
    else:
        lines = [line for line in exc_string.strip().splitlines() if line.strip()]
        if final is None:
            final = not job.should_retry
        record["status"] = "failed" if final else "retrying"
        record["error"] = (lines[-1] if lines else "failed")[:ERROR_MAX_CHARS]
    return record


def record(conn: Redis, job: Job, account: str, exc_string: str | None = None, *, final: bool | None = None) -> None:
    """Append `job`'s outcome for the history writer (success when `exc_string` is None)."""
    try:
        found = build(job, account, exc_string, final=final)
        if found is not None:
            body = json.dumps(found, ensure_ascii=False, separators=(",", ":"), default=str)
            conn.xadd(keys.HISTORY_SENDS, {"record": body}, maxlen=SENDS_MAXLEN, approximate=True)
    except Exception as error:  # never the job's or the worker's problem
        logger.warning("job {}: outcome not recorded for the history store: {}", job.id, type(error).__name__)
