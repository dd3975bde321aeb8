"""The public WhatsApp jobs (queue "wa"). Their paths are the contract (SPEC):

    Queue("wa", connection=redis, serializer=JSONSerializer).enqueue(
        "workers.wa.fetch_avatar", jid="15551234567@s.whatsapp.net")

Each job validates its arguments (bad ones fail at once, never retried, never reaching the
host), fails fast while its target is poisoned or its operation quarantined (wagw.quarantine),
and forwards the call to the native host owned by the `wagw wa-worker` running it. A send
whose host crashed or timed out after the request was handed to the backend fails with
OutcomeUnknown instead of being retried. Results, defaults and errors: docs/jobs.md.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loguru import logger
from redis.exceptions import RedisError
from rq import get_current_job
from rq.timeouts import JobTimeoutException

from wagw import crashes, idempotency, keys, metrics, operations, quarantine
from wagw.accounts import DEFAULT, SINGLE_ACCOUNT, Account
from wagw.errors import DuplicateJob, IdempotencyConflict, InvalidArguments, OutcomeUnknown, ReachOutLimited
from wagw.operations import OPERATIONS, Operation
from workers.wa import downloads, media, reachout_limits
from workers.wa.host_client import HostCallError, HostCrashed

# A send's marker outlives the job's deadline by this much: the reaper (at a wa-worker's
# start, or the scheduler every second) finds a dead worker's job well within it.
HANDED_GRACE = 600.0

if TYPE_CHECKING:
    from redis import Redis

    from wagw.config import Settings
    from workers.wa.host_client import HostClient


class JobCounts:
    """wa job metrics added up in memory; the wa-worker writes them every couple of seconds in
    one round trip (a worker killed outright loses that much counting, never a job)."""

    def __init__(self, account: str = DEFAULT) -> None:
        self.account = account
        self._lock = threading.Lock()
        self._outcomes: Counter[tuple[str, str]] = Counter()
        self._seconds: dict[str, list[float]] = defaultdict(list)

    def add(self, operation: str, outcome: str, seconds: float) -> None:
        with self._lock:
            self._outcomes[operation, outcome] += 1
            self._seconds[operation].append(seconds)

    def flush(self, conn: Redis) -> None:
        with self._lock:
            outcomes, self._outcomes = self._outcomes, Counter()
            seconds, self._seconds = self._seconds, defaultdict(list)
        if not outcomes:
            return
        pipe = conn.pipeline(transaction=False)
        for (operation, outcome), count in outcomes.items():
            metrics.incr(pipe, "wa_jobs", count, operation=operation, outcome=outcome, account=self.account)
        for operation, samples in seconds.items():
            for sample in samples:
                metrics.observe(pipe, "wa_job_seconds", sample, operation=operation, account=self.account)
        try:
            pipe.execute()
        except RedisError as error:
            logger.debug("metrics: {} job samples lost: {}", sum(outcomes.values()), error)


@dataclass
class Runtime:
    """What a job needs from the wa-worker running it; bound once at worker start."""

    settings: Settings
    conn: Redis
    host: HostClient
    slot: int
    deadline: float | None = None  # time.monotonic() by which the current job must end
    resend_on_unknown: bool = False  # the current job's enqueuer accepts a resend (job meta)
    stored_bytes: int = 0  # what the current job's arguments take in Redis
    job_id: str | None = None  # the current job's id (a send's marker names it)
    idempotency_key: object = None  # the current job's meta "idempotency_key", as the enqueuer set it
    counts: JobCounts = field(default_factory=JobCounts)
    account: Account = SINGLE_ACCOUNT
    quarantines: quarantine.Checker = field(init=False)

    def __post_init__(self) -> None:
        self.quarantines = quarantine.Checker(self.conn)
        self.counts.account = self.account.name

    @property
    def process(self) -> str:
        return self.account.host_process(self.slot)

    def begin(
        self,
        timeout: float | None,
        *,
        job_id: str | None = None,
        resend_on_unknown: bool = False,
        stored_bytes: int = 0,
        idempotency_key: object = None,
    ) -> None:
        self.deadline = time.monotonic() + timeout if timeout and timeout > 0 else None
        self.job_id = job_id
        self.idempotency_key = idempotency_key
        self.resend_on_unknown = resend_on_unknown
        self.stored_bytes = stored_bytes

    def end(self) -> None:
        self.deadline = None
        self.stored_bytes = 0
        self.job_id = None
        self.idempotency_key = None
        self.resend_on_unknown = False


_runtime: Runtime | None = None


def bind(runtime: Runtime | None) -> None:
    """Called by the wa-worker before it takes jobs."""
    global _runtime
    _runtime = runtime


def _current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("workers.wa jobs run only in `wagw wa-worker` (queue 'wa'), not in a plain rq worker")
    return _runtime


def resend_on_unknown(meta: object) -> bool:
    """Whether a job's meta opts in to resending after an unknown outcome (JSON true only)."""
    return isinstance(meta, dict) and meta.get(operations.RESEND_ON_UNKNOWN) is True


def run(operation: str, args: tuple, kwargs: dict[str, Any]) -> Any:
    """Validate, check poison targets and the quarantine, and execute one job in the native host."""
    started = time.monotonic()
    runtime = _runtime
    op = OPERATIONS[operation]
    outcome = "error"
    target: quarantine.Target | None = None
    calling = False  # the request went to the host (runtime.host.reached: and on to the backend)
    try:
        if runtime is not None and runtime.stored_bytes > runtime.settings.max_job_bytes:
            raise InvalidArguments(too_big(operation, runtime.stored_bytes, runtime.settings.max_job_bytes))
        fake = runtime is not None and runtime.settings.backend == "fake"
        valid = operations.validate(operation, args, kwargs, fake=fake)
        params = valid.model_dump()
        for name in operations.WORKER_ARGUMENTS:  # acted on before the send (workers/wa/gate.py)
            params.pop(name, None)
        target = quarantine.Target.of(op.target_of(valid))
        runtime = _current()
        if runtime.idempotency_key is not None and (first := _holder(runtime, op, valid.model_dump(mode="json"))):
            outcome = "duplicate"
            return idempotency.first_outcome(runtime.conn, first, operation, op.path, runtime.account.queues)
        runtime.quarantines.check(runtime.account.scoped(operation), target)
        if operation in media.MEDIA:
            params = media.prepare(operation, params, runtime.settings, runtime.deadline)
        calling = True
        mark = _mark_handed(runtime, op)
        result = runtime.host.call(
            operation,
            params,
            deadline=runtime.deadline,
            connect_wait=runtime.settings.wa_connect_wait,
            acknowledge=op.sends,
            before_write=mark,
        )
        if operation == "download_media":  # the host returns bytes; the worker stores them
            result = downloads.store(result, params["media"], runtime.settings)
        outcome = "ok"
        return result
    except HostCrashed as crash:
        outcome = "crashed"
        unknown = calling and _outcome_unknown(runtime, op)
        if crash.native and runtime is not None:
            _count_crash(runtime, operation, target, crash, crashes.OUTCOME_UNKNOWN if unknown else _next_try())
        if unknown:
            outcome = "outcome_unknown"
            raise _unknown(op, target, crash) from None
        raise
    except ReachOutLimited as limit:  # WhatsApp's 463, after the host's warm-up and retry
        outcome = "reach_out_limited"
        if runtime is not None:
            raise reachout_limits.limited(runtime, operation, params, limit) from None
        raise
    except BaseException as error:
        outcome = _outcome(error)
        if calling and isinstance(error, JobTimeoutException | HostCallError) and _outcome_unknown(runtime, op):
            outcome = "outcome_unknown"
            raise _unknown(op, target, error) from None
        raise
    finally:
        if runtime is not None:
            runtime.counts.add(operation, outcome, time.monotonic() - started)
            if calling and op.sends and outcome != "ok" and not runtime.host.reached:
                _unmark_handed(runtime)


def _holder(runtime: Runtime, op: Operation, arguments: dict[str, Any]) -> str | None:
    """The job holding the current job's idempotency key if another one does: then this job
    is its duplicate and never reaches the host (wagw.idempotency)."""
    key = idempotency.check_key(runtime.idempotency_key)
    if runtime.job_id is None:
        return None
    first = idempotency.take(
        runtime.conn, runtime.account.name, key, op.name, arguments, runtime.job_id, runtime.settings.idempotency_ttl
    )
    if first is not None:
        logger.info("job {} ({}) has the idempotency key of job {}: not run", runtime.job_id, op.name, first)
    return first


def too_big(operation: str, size: int, cap: int) -> str:
    """Why a job whose arguments take `size` bytes in Redis is refused (WAGW_MAX_JOB_BYTES)."""
    return (
        f"invalid arguments for {operation}: they take {size} bytes in Redis, more than WAGW_MAX_JOB_BYTES "
        f"({cap}); send large media by path in the media folder or by URL"
    )


def _outcome(error: BaseException) -> str:
    if isinstance(error, quarantine.PoisonedTarget):
        return "poisoned"
    if isinstance(error, quarantine.Quarantined):
        return "quarantined"
    if isinstance(error, InvalidArguments):
        return "invalid"
    if isinstance(error, DuplicateJob | IdempotencyConflict):
        return "duplicate"
    if isinstance(error, JobTimeoutException):
        return "timeout"
    return "error"


def _outcome_unknown(runtime: Runtime | None, op: Operation) -> bool:
    """A send whose request reached the backend, and whose enqueuer did not accept a resend."""
    return runtime is not None and op.sends and runtime.host.reached and not runtime.resend_on_unknown


def _unknown(op: Operation, target: quarantine.Target | None, error: BaseException) -> OutcomeUnknown:
    name = f"{type(error).__module__}.{type(error).__name__}"
    cause = f"the call failed after it was handed to WhatsApp's library: {name}: {error}"
    return OutcomeUnknown(operations.outcome_unknown(op.name, target.shown if target else None, cause))


def _mark_handed(runtime: Runtime, op: Operation) -> Callable[[], None] | None:
    """For a send: a marker written right before the request goes to the host, so that if this
    worker dies mid-call the reaper fails the job "outcome unknown" instead of retrying it."""
    job_id = runtime.job_id
    if not op.sends or runtime.resend_on_unknown or job_id is None:
        return None
    ttl = math.ceil(((runtime.deadline or time.monotonic()) - time.monotonic() + HANDED_GRACE) * 1000)

    def mark() -> None:
        runtime.conn.set(
            keys.SEND_HANDED.format(job_id=job_id), runtime.account.wa_worker_process(runtime.slot), px=max(1000, ttl)
        )

    return mark


def _unmark_handed(runtime: Runtime) -> None:
    """The request certainly did not reach the backend: a dead worker now is a plain retry."""
    if runtime.job_id is None:
        return
    try:
        runtime.conn.delete(keys.SEND_HANDED.format(job_id=runtime.job_id))
    except RedisError as error:
        logger.debug("send marker of job {} not cleared: {}", runtime.job_id, error)


def _next_try() -> str:
    """What RQ does next with the current job after a crash: retry it, or fail it."""
    job = get_current_job()
    return crashes.RETRIED if job is not None and (job.retries_left or 0) > 0 else crashes.FAILED


def _count_crash(
    runtime: Runtime, operation: str, target: quarantine.Target | None, crash: HostCrashed, outcome: str
) -> None:
    try:
        account = runtime.account.name
        engaged = quarantine.record_crash(
            runtime.conn,
            runtime.settings,
            runtime.account.scoped(operation),
            target=target,
            process=runtime.process,
            exit=crash.exit,
            panic=crash.panic,
            account=account,
            job_id=runtime.job_id,
            outcome=outcome,
        )
        metrics.incr(runtime.conn, "native_host_crashes", operation=operation, account=account)
        runtime.quarantines.note(engaged)
        if engaged.poison:
            metrics.incr(runtime.conn, "poisonings", operation=operation, account=account)
        if engaged.quarantine:
            metrics.incr(runtime.conn, "quarantines", operation=operation, account=account)
    except RedisError as error:  # the job still fails with the crash; only the count is lost
        logger.error("could not record the native crash of {}: {}", operation, error)


# The jobs ---------------------------------------------------------------------------------
def _job(op: Operation) -> Callable[..., Any]:
    """A job function bound to its operation, published as `workers.wa.<name>`.

    It takes *args/**kwargs so that a missing or unknown argument becomes a validation
    failure (no retry) rather than a TypeError at call time (which RQ would retry).
    """

    def job(*args: Any, **kwargs: Any) -> Any:
        return run(op.name, args, kwargs)

    job.__name__ = job.__qualname__ = op.name
    job.__module__ = "workers.wa"
    job.__doc__ = op.summary
    job.__signature__ = op.signature()  # type: ignore[attr-defined]
    return job


JOBS: dict[str, Callable[..., Any]] = {name: _job(op) for name, op in OPERATIONS.items()}
