"""The one call core of the HTTP API: every way in (the native routes, the compatible
routes, MCP) calls an operation through `Caller.call`.

It enqueues the operation's job as wagw.client.enqueue does (the operation table, its argument
checks, the default timeout and Retry, the account's queue; wagw.api.jobrecord writes it, and
an idempotent call goes through wagw.client.enqueue itself), waits up to WAGW_API_WAIT for its
end on an asyncio connection (no thread held), and returns a typed outcome:

- Finished: the job's result.
- Failed: the error's name and message, whether retrying could help, and for a native crash
  what became of the job (`crash`: outcome_unknown, poisoned_target, quarantined, crashed).
- Pending: the job id, still queued or running (`crash`: "retried" when an attempt crashed
  its native host and the job waits for its retry).
- Rejected: nothing was enqueued (bad arguments, naming the argument; the account not served).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from rq.job import Job, JobStatus
from rq.results import Result

from wagw import operations, rqcompat, serving
from wagw.api.jobrecord import JobWriter, QueuedJob, queue_of_account
from wagw.errors import DuplicateJob, IdempotencyConflict, InvalidArguments, Permanent, WagwError, exception_line
from wagw.redisconn import SERIALIZER

if TYPE_CHECKING:
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis

    from wagw.accounts import Account
    from wagw.operations import Operation

# A crash's fate, by the error a job ended with (docs/jobs.md "Errors").
CRASH_OUTCOMES = {
    operations.OUTCOME_UNKNOWN: "outcome_unknown",
    "wagw.quarantine.PoisonedTarget": "poisoned_target",
    "wagw.quarantine.Quarantined": "quarantined",
    "workers.host_client.HostCrashed": "crashed",
}
RETRIED = "retried"  # an attempt crashed its native host; the job waits for its retry
_ENDED_BADLY = (Result.Type.FAILED, Result.Type.STOPPED, Result.Type.MAX_RETRIES_EXCEEDED)
_STILL_RUNNING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.CREATED}
BLOCK_SECONDS = 1.0  # one XREAD's block: a stopping server is never held longer


@dataclass(frozen=True)
class Finished:
    job_id: str
    result: Any


@dataclass(frozen=True)
class Failed:
    job_id: str
    error: str  # the exception's public name, e.g. "workers.wa.OutcomeUnknown"
    message: str
    permanent: bool  # retrying the same call cannot help
    crash: str | None = None  # a native crash's outcome (CRASH_OUTCOMES), else None

    @property
    def short_name(self) -> str:
        return self.error.rpartition(".")[2] or "JobFailed"


@dataclass(frozen=True)
class Pending:
    job_id: str
    crash: str | None = None  # RETRIED when an attempt crashed and a retry is scheduled


@dataclass(frozen=True)
class Rejected:
    """Nothing was enqueued. `status`: 400 for bad arguments, 422 for an idempotency key
    first used with other arguments, 409 when the key's job could not be settled, 503 for an
    account no running wagw serves."""

    status: int
    code: str
    message: str
    argument: str | None = None  # the argument named by the message, when it names one


CallOutcome = Finished | Failed | Pending | Rejected


@functools.cache
def _error_classes() -> dict[str, type[BaseException]]:
    from wagw import errors

    return {
        f"{value.__module__}.{value.__name__}": value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, WagwError)
    }


def failure_of(job_id: str, exc_string: str) -> Failed:
    """A failed job's outcome from its recorded traceback."""
    line = exception_line(exc_string or "")
    name, sep, message = line.partition(": ")
    if not sep or " " in name:
        name, message = "JobFailed", line or "the job failed without details"
    known = _error_classes().get(name)
    permanent = known is not None and issubclass(known, Permanent)
    return Failed(job_id, name, message, permanent, CRASH_OUTCOMES.get(name))


def _crashed(result: Result) -> bool:
    return exception_line(result.exc_string or "").startswith("workers.host_client.HostCrashed")


def _argument_of(message: str, operation: str) -> str | None:
    """'invalid arguments for send_text: text: …' -> 'text'."""
    rest = message.partition(f"invalid arguments for {operation}: ")[2]
    name = rest.partition(":")[0]
    return name if name.isidentifier() else None


class Caller:
    """Enqueue and await wa jobs for the HTTP API: one per process, sharing its connections."""

    def __init__(self, conn: Redis, aconn: AsyncRedis, wait: float) -> None:
        self.conn = conn  # rq's enqueue and job reads
        self.aconn = aconn  # waits: XREAD BLOCK on each job's results
        self.writer = JobWriter(aconn)  # enqueues: the jobs of one event loop step in one transaction
        self.wait = wait  # WAGW_API_WAIT
        self.stopping = False  # set when the server stops: waits end with Pending at once
        self._served_until: dict[str, float] = {}  # account -> until when its being served is known

    async def call(
        self,
        account: Account,
        operation: str,
        arguments: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        respond_async: bool = False,
        wait: float | None = None,
    ) -> CallOutcome:
        """Run `operation` with `arguments` (its argument names only) for `account`."""
        if idempotency_key is None:
            rejected, job_id = await self.enqueue_pipelined(account, operation, arguments)
        else:  # the claim takes several round trips of its own (wagw.idempotency)
            rejected, job_id = await anyio.to_thread.run_sync(
                functools.partial(self.enqueue, account, operation, arguments, idempotency_key=idempotency_key)
            )
        if rejected is not None:
            return rejected
        assert job_id is not None
        if respond_async:
            return Pending(job_id)
        return await self.await_job(job_id, self.wait if wait is None else wait)

    async def enqueue_pipelined(
        self, account: Account, operation: str, arguments: dict[str, Any]
    ) -> tuple[Rejected | None, str | None]:
        """`enqueue` without a thread: the job's record written in a transaction on the
        asyncio connection (QueuedJob, JobWriter). Only whether the account is served may need
        reads (a SCAN): looked at in a thread while that answer is not known fresh
        (wagw.serving keeps it SERVED_FRESH seconds)."""
        if time.monotonic() < self._served_until.get(account.name, 0.0):
            checked = self._check(account, operation, arguments)
        else:
            checked = await anyio.to_thread.run_sync(self._check, account, operation, arguments)
            if not isinstance(checked, Rejected):
                self._served_until[account.name] = time.monotonic() + serving.SERVED_FRESH - 1
        if isinstance(checked, Rejected):
            return checked, None
        try:
            job = QueuedJob.of(checked, queue_of_account(account), arguments)
        except InvalidArguments as error:
            return Rejected(400, "VALIDATION_ERROR", str(error), _argument_of(str(error), operation)), None
        except ValueError as error:  # the arguments too large for a job
            return Rejected(400, "VALIDATION_ERROR", str(error)), None
        await self.writer.write(job)
        return None, job.id

    def _check(self, account: Account, operation: str, arguments: dict[str, Any]) -> Operation | Rejected:
        """The operation, or why no job of it is enqueued: no such operation, arguments that
        are not its own (an rq option, job_id, meta, retry…, is not an app's to set here), an
        account no running wagw serves (blocking: reads Redis while not known fresh)."""
        try:
            op = operations.get(operation)
        except ValueError as error:
            return Rejected(404, "OPERATION_NOT_FOUND", str(error))
        if not isinstance(arguments, dict):
            return Rejected(400, "VALIDATION_ERROR", f"invalid arguments for {operation}: give a JSON object")
        unknown = sorted(set(arguments) - set(op.parameters))
        if unknown:
            name = str(unknown[0])[:64]
            message = f"invalid arguments for {operation}: {name}: Extra inputs are not permitted"
            return Rejected(400, "VALIDATION_ERROR", message, name)
        try:
            serving.refuse_unserved(self.conn, account.name)
        except ValueError as error:
            return Rejected(503, "ACCOUNT_NOT_SERVED", str(error))
        return op

    def enqueue(
        self, account: Account, operation: str, arguments: dict[str, Any], *, idempotency_key: str
    ) -> tuple[Rejected | None, str | None]:
        """The job of an idempotent call (its key's first job), or why none was enqueued
        (blocking: run it in a thread). wagw.client.enqueue claims the key (wagw.idempotency)."""
        from wagw import client  # the first idempotent call loads it

        checked = self._check(account, operation, arguments)
        if isinstance(checked, Rejected):
            return checked, None
        try:
            # The first account's jobs go on queue `wa`, which it serves too: its workers wait on
            # that queue itself, and look at `wa.<account>` between waits.
            queue_account = None if account.primary else account.name
            job = client.enqueue(
                operation, connection=self.conn, account=queue_account, idempotency_key=idempotency_key, **arguments
            )
        except IdempotencyConflict as error:  # the key stands for another request
            return Rejected(422, "IDEMPOTENCY_CONFLICT", str(error)), None
        except DuplicateJob as error:  # the key's job could not be settled now: nothing enqueued
            return Rejected(409, "DUPLICATE_JOB", str(error)), None
        except InvalidArguments as error:
            return Rejected(400, "VALIDATION_ERROR", str(error), _argument_of(str(error), operation)), None
        except ValueError as error:  # the arguments too large for a job
            return Rejected(400, "VALIDATION_ERROR", str(error)), None
        return None, job.id

    async def await_job(self, job_id: str, wait: float) -> CallOutcome:
        """Finished or Failed when the job ends within `wait` seconds, else Pending."""
        deadline = time.monotonic() + wait
        last_id = "0-0"
        crash: str | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.stopping:
                return Pending(job_id, crash)
            block_ms = max(1, int(min(remaining, BLOCK_SECONDS) * 1000))
            for result_id, result in await rqcompat.results_after_async(
                self.aconn, self.conn, job_id, last_id, block_ms
            ):
                last_id = result_id
                if result.type == Result.Type.SUCCESSFUL:
                    return Finished(job_id, result.return_value)
                if result.type in _ENDED_BADLY:
                    return failure_of(job_id, result.exc_string or "")
                if result.type == Result.Type.RETRIED and _crashed(result):
                    crash = RETRIED

    def job_outcome(self, job_id: str) -> tuple[CallOutcome, str] | None:
        """Where a wa job stands now, and the queue it was enqueued on (blocking: run it in a
        thread); None when there is no such wa job (never existed, expired, or not a wa job)."""
        try:
            job = Job.fetch(job_id, connection=self.conn, serializer=SERIALIZER)
            if operations.operation_of(job.func_name) is None:
                return None
        except Exception:  # no job, or a record rq cannot read: no job an app may see
            return None
        status = job.get_status(refresh=False)
        latest = job.latest_result()
        outcome: CallOutcome
        if status == JobStatus.FINISHED:
            outcome = Finished(job.id, job.return_value())
        elif status in _STILL_RUNNING:
            crashed = latest is not None and latest.type == Result.Type.RETRIED and _crashed(latest)
            outcome = Pending(job.id, RETRIED if crashed else None)
        else:
            recorded = (latest.exc_string or "") if latest is not None else f"JobStopped: job {status}"
            outcome = failure_of(job.id, recorded)
        return outcome, job.origin
