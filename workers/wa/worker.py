"""`wagw wa-worker --slot N`: an RQ worker on queue "wa" that owns slot N's native host.

Pure Python: it never imports neonize. Jobs run in this process (an RQ SimpleWorker: no
fork per job) and forward their call to the native host (workers.wa.host_client), which is
the process allowed to die. The worker:

- applies each job's default timeout and Retry (wagw.operations) when the enqueuer set
  none: a job counts as "no timeout given" when it carries RQ's default of 180 s, and as
  "no Retry given" when it has no retries configured and was never retried. An enqueuer opts
  out of all defaults with meta={"wagw_defaults": False};
- fails permanent errors (bad arguments, poison target, quarantine, a send's unknown
  outcome) without RQ's Retry;
- bounds every call by the job timeout itself (killing the host) and keeps RQ's SIGALRM
  as a backstop a little later;
- hands jobs left "started" by dead workers to their Retry at start (wagw.scheduler.reaper);
- publishes the slot's device status (wagw:status:device:worker-N) every 2 s and at each
  change of the host's state, and writes the jobs' metrics on the same beat;
- while the slot waits for pairing (not paired, logged out, replaced), notices at each idle
  beat (at most WORKER_TTL - 15 s apart) and before each job a pairing that `wagw pair`
  recorded, and starts a fresh host with the new keys; a job on an unpaired slot also looks
  at the keys again at once (host_restarts.NOT_PAIRED_RECHECK). Meanwhile, and during a
  temporary ban's long pause, the slot's jobs fail at once naming the fix.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import TYPE_CHECKING

from loguru import logger
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue
from rq.exceptions import StopRequested
from rq.timeouts import UnixSignalDeathPenalty
from rq.worker import SimpleWorker, WorkerStatus

from wagw import accounts, devices, idempotency, keys, refusals, rqcompat, sendorder
from wagw.config import MAX_LINKED_DEVICES
from wagw.errors import Permanent
from wagw.exitcodes import ExitCode
from wagw.history import outcomes as history_outcomes
from wagw.operations import JOB_PATHS, operation_of
from wagw.redisconn import SERIALIZER, connect
from wagw.scheduler.reaper import reap_orphaned_jobs
from workers.wa import jobs as wa
from workers.wa.gate import SendGate
from workers.wa.host_client import HostClient
from workers.wa.host_forker import HostForker

if TYPE_CHECKING:
    import argparse

    from redis import Redis
    from redis.client import Pipeline
    from rq.job import Job

    from wagw.config import Settings

# RQ's alarm fires this long after the job timeout: the host client's own deadline (exactly
# the job timeout) should always win, so the host is killed and the error says why.
BACKSTOP_GRACE = 2
# A short idle wait (BLPOP) lets the main thread look after a host that died between jobs.
WORKER_TTL = 35
HEARTBEAT_EVERY = 1.0  # seconds; RQ's extra beats in between are skipped
# An idle worker wakes this often (rq: WORKER_TTL - 15 = 20 s) to notice that its host died
# and start the next one: a host that lost its connection is back within seconds, not at the
# next job. Each wake is one beat (a pipeline) and one more BLPOP.
IDLE_LOOK_EVERY = 5
REFUSED_PAUSE = 0.5  # seconds between tries while Redis refuses to give out a job
REFUSED_WARN_EVERY = 60.0


class BackstopDeathPenalty(UnixSignalDeathPenalty):
    def __init__(self, timeout, exception, **kwargs):
        if timeout and timeout > 0:
            timeout += BACKSTOP_GRACE
        super().__init__(timeout, exception, **kwargs)


def apply_defaults(job: Job, settings: Settings, pipeline: Pipeline | None = None) -> bool:
    """Give a wa job its documented timeout, Retry and failure TTL where the enqueuer set none.
    True if changed (written on `pipeline` when given)."""
    try:
        defaults = operation_of(job.func_name)
    except Exception:  # undecodable (e.g. pickled): RQ fails the job when it tries to run it
        return False
    if defaults is None:
        return False
    changed: list[str] = []
    if job.failure_ttl is None:  # rq's default keeps a failed job, its arguments too, for a year
        job.failure_ttl = settings.wa_failure_ttl
        changed.append("failure_ttl")
    if isinstance(job.meta, dict) and job.meta.get(idempotency.META) is not None:
        # A duplicate takes the first job's outcome: it stays as long as the key does.
        floor = settings.idempotency_ttl
        if job.result_ttl is None or 0 <= job.result_ttl < floor:
            job.result_ttl = floor  # read by rq when the job ends in this process; not saved
        if 0 <= job.failure_ttl < floor:
            job.failure_ttl = floor
            changed.append("failure_ttl")
    if job.meta.get("wagw_defaults") is not False:  # wagw.client sets both itself
        if job.timeout is None or job.timeout == Queue.DEFAULT_TIMEOUT:
            job.timeout = defaults.timeout
            changed.append("timeout")
        if job.retries_left is None and not job.number_of_retries:
            job.retries_left = defaults.retries
            job.retry_intervals = [defaults.interval] * defaults.retries
            changed += ["retries_left", "retry_intervals"]
    if changed:
        rqcompat.save_fields(job, changed, pipeline)
    return bool(changed)


def no_retry_for_permanent_errors(job: Job, exc_type, exc_value, traceback) -> bool:
    """RQ exception handler: a Permanent failure (wagw.errors: bad arguments, a refused job,
    poison target, quarantine, outcome unknown) is final.

    RQ calls the handlers before deciding on a retry, so clearing retries_left here is enough.
    """
    if isinstance(exc_value, Permanent) and job.retries_left:
        job.retries_left = 0
    return True


def job_path(job: Job) -> str:
    try:
        return job.func_name or "<no function>"
    except Exception:  # undecodable data: rq says so in the job's result
        return "<unreadable job>"


def one_line_reason(error: BaseException) -> str:
    """`module.Name: message`, its first line (a crash's stderr tail stays in the job's result)."""
    kind = type(error)
    first, *rest = str(error).splitlines() or [""]
    return f"{kind.__module__}.{kind.__qualname__}: {first}" + (" […]" if rest else "")


_PER_JOB_LINES = (rqcompat.PER_JOB_LOG_MESSAGE, rqcompat.PER_JOB_LOG_MESSAGE_SHORT)


class OneLinePerJob(logging.Filter):
    """RQ logs four INFO lines per job; at hundreds of jobs a second that is most of the log
    stream. Keep "Successfully completed <job> in <time>" and demote the dequeue and "Job OK"
    lines to DEBUG. A failure is logged as an error with its traceback, except a permanent one
    (bad arguments, a refused job, poison, quarantine, an unknown outcome): that is the
    enqueuer's or the target's, not a bug here, and rq's error becomes one warning with the
    reason (the job's result keeps the traceback)."""

    def __init__(self) -> None:
        super().__init__()
        self.permanent: tuple[str, str, str] | None = None  # (job id, path, reason) while rq logs it

    def filter(self, record: logging.LogRecord) -> bool:
        if self.permanent is not None and record.levelno >= logging.ERROR:
            record.msg, record.args = "job %s (%s) failed, not retried: %s", self.permanent
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
            return True
        if record.levelno == logging.INFO and record.msg in _PER_JOB_LINES:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG) or logging.root.level <= logging.DEBUG
        return True


class WaWorker(refusals.WorkerHoldsOn, rqcompat.PromptCommandListener, rqcompat.SetsAsideUnreadable, SimpleWorker):
    death_penalty_class = BackstopDeathPenalty
    log_result_lifespan = False  # "result is kept for 500 seconds" after every job

    def __init__(self, *args, runtime: wa.Runtime, **kwargs):
        super().__init__(*args, **kwargs)
        # Park every id taken in its queue's intermediate list with this worker as its taker:
        # the rescue requeues it if this worker dies before starting it, and only then.
        self.send_gate = SendGate(runtime.conn, runtime.settings, runtime.account, runtime.host)
        # Every id taken is ticketed in the step that takes it (wagw.sendorder): each chat's
        # order is the order of the queue, whichever worker took what.
        self.queue_class = rqcompat.taker_queue_class(
            self.name,
            stopping=lambda: self.stop_requested,
            ticket_keys=sendorder.ticket_keys(runtime.account.name),
        )
        self.runtime = runtime
        self.stop_requested = False
        self._last_beat = float("-inf")
        self._taken: Job | None = None  # its taker record goes in the MULTI that starts it
        self._state_written: tuple[str, float] | None = None  # (state, monotonic) last sent to Redis
        self._ended_size: int | None = None  # the ended job's record size, read with its last heartbeat
        self._ending = (False, False)  # (went out, final) of the job whose end rq is recording
        self._not_suspended_at: float | None = None  # rq suspend was not in force then (monotonic)
        self._defaults: list[tuple[tuple, dict]] = []  # the job's defaults, written in the MULTI that starts it
        self._refused = refusals.Every(REFUSED_WARN_EVERY)
        self.push_exc_handler(no_retry_for_permanent_errors)
        one_line = next((f for f in self.log.filters if isinstance(f, OneLinePerJob)), None)
        if one_line is None:
            one_line = OneLinePerJob()
            self.log.addFilter(one_line)
        self.one_line = one_line
        self._rq_log = logger.bind(logger_name=self.log.name)  # as wagw.logs hands rq's lines over

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        # Every id this worker takes is parked (rqcompat.TakerQueue), from one queue or several.
        # One MULTI: refused (Redis full), nothing of it was written; tried again until taken.
        # Started: its taker record goes in the same MULTI (heartbeat() adds it), or a retry of
        # this job taken by another worker within the rescue's next pass could not claim it.
        self._taken = job
        try:
            started = refusals.until_accepted(
                lambda: super(WaWorker, self).prepare_job_execution(job, remove_from_intermediate_queue=True) or True,
                what=f"job {job.id} not started",
                stopping=lambda: self.stop_requested,
            )
        finally:
            self._taken = None
        if started is None:
            raise StopRequested  # the job fails, and its Retry applies

    def handle_exception(self, job: Job, *exc_info) -> None:
        error = exc_info[1]
        if not isinstance(error, Permanent):
            super().handle_exception(job, *exc_info)
            return
        self.one_line.permanent = (job.id, job_path(job), one_line_reason(error))
        try:
            super().handle_exception(job, *exc_info)  # logs (one line) and runs the handlers
        finally:
            self.one_line.permanent = None

    def execute_job(self, job: Job, queue: Queue) -> None:
        self._notice_pairing()  # a job right after `wagw pair` gets the new keys
        taken = getattr(self.queue_class, "taken_data_bytes", None)
        if taken is not None and taken[0] == job.id:  # its size (jobs.run checks it) read with its take
            stored = taken[1]
            with self.connection.pipeline(transaction=False) as defaults:  # recorded, never sent
                apply_defaults(job, self.runtime.settings, defaults)
                self._defaults = [(args, options) for args, options in defaults.command_stack]
        else:
            try:
                with self.connection.pipeline(transaction=False) as pipe:  # one round trip
                    apply_defaults(job, self.runtime.settings, pipe)
                    rqcompat.queue_stored_data_bytes(pipe, job)  # checked by the job itself (jobs.run)
                    stored = int(pipe.execute()[-1])
            except RedisError as error:  # Redis full: the job runs with what it carries
                logger.warning("job {}: defaults not applied: {}", job.id, refusals.reason(error))
                stored = 0
        self.runtime.begin(
            job.timeout,
            job_id=job.id,
            resend_on_unknown=wa.resend_on_unknown(job.meta),
            stored_bytes=stored,
            idempotency_key=job.meta.get(idempotency.META) if isinstance(job.meta, dict) else None,
        )
        try:
            super().execute_job(job, queue)
        finally:
            self._defaults = []
            self.runtime.end()

    @property
    def dequeue_timeout(self) -> int:
        return IDLE_LOOK_EVERY

    def heartbeat(self, timeout=None, pipeline=None):
        if pipeline is not None:
            super().heartbeat(timeout, pipeline)
            if self._taken is not None:  # rq's MULTI that starts the job (prepare_job_execution)
                pipeline.hdel(keys.TAKERS.format(queue=self._taken.origin), self._taken.id)
                self.send_gate.started(self._taken.id, pipeline)  # its take ticket settled
                for args, options in self._defaults:  # the job's defaults (execute_job), with its start
                    pipeline.execute_command(*args, **options)
                # rq's prepare_execution, in the same MULTI (see prepare_execution)
                lease = self.get_heartbeat_ttl(self._taken)
                self.execution = rqcompat.record_execution(self._taken, self.name, lease, pipeline)
                self.set_state(WorkerStatus.BUSY, pipeline)
            return
        # RQ beats up to five times per job, two round trips each; the worker key lives for
        # WORKER_TTL + 60 s, so a beat within HEARTBEAT_EVERY of the last one adds nothing.
        now = time.monotonic()
        if timeout is not None or now - self._last_beat >= HEARTBEAT_EVERY:
            try:
                with self.connection.pipeline(transaction=False) as pipe:
                    super().heartbeat(timeout, pipe)
                    pipe.execute()
            except RedisError as error:  # Redis full: the worker key lives WORKER_TTL + 60 s
                if self._refused.due():
                    logger.warning("worker heartbeat skipped: {}", refusals.reason(error))
            self._last_beat = now
        # Called from the main thread between jobs: respawn a host that died meanwhile.
        if self.get_state() != WorkerStatus.BUSY:
            self._notice_pairing()
            self.runtime.host.maintain()

    # While Redis refuses writes (full, read-only), the worker waits instead of dying: taking a
    # job and recording how one ended are tried again until Redis takes them (or a stop).

    def refusals_stopping(self) -> bool:
        return self.stop_requested

    def set_state(self, state, pipeline=None) -> None:
        now = time.monotonic()
        if pipeline is not None:
            super().set_state(state, pipeline)
            self._state_written = (state, now)
            return
        # rq writes "idle" after each job and again before taking the next one: the second adds
        # nothing (the worker key is alive, it was written just now).
        if self._state_written is not None and self._state_written[0] == state and now - self._state_written[1] < 1:
            rqcompat.keep_state(self, state)
            return
        try:
            super().set_state(state)  # rq keeps the state in memory first; Redis's copy is for show
            self._state_written = (state, now)
        except RedisTimeoutError:
            raise
        except RedisError as error:
            if self._refused.due():
                logger.warning("worker state not recorded: {}", refusals.reason(error))

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        # rq's (the job's end and last heartbeat), and in the same round trip the job record's
        # size for _keep_small: nothing writes to it in between, unless a callback runs there.
        self._ended_size = None
        try:
            job.ended_at = rqcompat.now()
            with self.connection.pipeline(transaction=False) as pipe:
                job.heartbeat(rqcompat.now(), heartbeat_ttl, pipeline=pipe)
                rqcompat.queue_stored_bytes(pipe, job)
                written, size = pipe.execute(raise_on_error=False)
            if isinstance(written, Exception):
                raise written
            known = isinstance(size, int) and not rqcompat.has_callbacks(job)
            self._ended_size = size if known else None  # else _keep_small asks
        except RedisTimeoutError:
            raise
        except RedisError as error:
            if self._refused.due():
                logger.warning("job {}: last heartbeat not recorded: {}", job.id, refusals.reason(error))

    def check_for_suspension(self, burst: bool) -> None:
        read, self._not_suspended_at = self._not_suspended_at, None
        if read is not None and time.monotonic() - read < HEARTBEAT_EVERY:
            return  # read with the end of the job just recorded (_succeed_in_one_step)
        try:
            super().check_for_suspension(burst)
        except RedisTimeoutError:
            raise
        except RedisError as error:  # it writes a heartbeat first: refused, the check waits
            if self._refused.due():
                logger.warning("worker heartbeat skipped: {}", refusals.reason(error))

    def prepare_execution(self, job: Job) -> None:  # type: ignore[override]  # SimpleWorker.execute_job drops it
        """rq's record of the job's execution (its own MULTI in rq, just before the one that
        starts the job) is written in the MULTI that starts it (heartbeat() adds it there): one
        round trip for both. Refused, nothing of either was written (prepare_job_execution)."""
        self.execution = None

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        while True:
            result = self._dequeue(timeout, max_idle_time)
            if result is None:
                return None
            job, queue = result
            try:
                if self.send_gate.admit(job, queue):
                    return result
            except RedisError as error:  # Redis refusing writes: the send runs unordered
                logger.warning("job {}: sending order not applied: {}", job.id, refusals.reason(error))
                return result
            # It waits off the queue (wagw.sendorder) and holds no worker: take the next one.

    def _dequeue(self, timeout, max_idle_time=None):
        while True:
            try:
                return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            except RedisTimeoutError:
                raise  # rq's loop: ends the worker, as before
            except RedisError as error:  # rq retries connection errors itself
                if self.stop_requested:
                    return None
                if self._refused.due():
                    logger.warning("cannot take jobs: {}; waiting", refusals.reason(error))
                time.sleep(REFUSED_PAUSE)

    def handle_job_success(self, job: Job, queue: Queue, started_job_registry) -> None:
        self._keep_small(job)
        if self._succeed_in_one_step(job):
            return
        self._ending = (True, True)  # a send's end goes in rq's MULTI (cleanup_execution)
        self._record(lambda: super(WaWorker, self).handle_job_success(job, queue, started_job_registry), job)
        history_outcomes.record(self.connection, job, self.runtime.account.name)  # after rq's record

    def _succeed_in_one_step(self, job: Job) -> bool:
        """rq's success bookkeeping, a send's end (its chat's next send let go) and its outcome
        for the history store, in one script call (rqcompat.succeed_alone) instead of rq's
        WATCH, SMEMBERS and MULTI/EXEC and an XADD. False, with nothing written, where rq's own
        path must run: the job has dependents to enqueue, a Repeat, or keeps no result."""
        execution = self.execution
        ttl = job.get_result_ttl(self.default_result_ttl)
        if execution is None or ttl is None or ttl <= 0 or (job.repeats_left or 0) > 0:
            return False
        if not job.started_at or not job.ended_at:
            return False
        chat = self.send_gate.chats.get(job.id)
        with self.connection.pipeline(transaction=False) as after:  # recorded, never sent
            self.send_gate.ended(job, went_out=True, final=True, pipeline=after)
            history_outcomes.record(after, job, self.runtime.account.name)
            rqcompat.queue_suspension_check(after)  # rq's loop asks next: read here, in the same step
            state = self.get_state()
            SimpleWorker.set_state(self, WorkerStatus.IDLE, after)  # what rq writes right after it
            commands = [args for args, _options in after.command_stack]
        recorded = refusals.until_accepted(  # None: a stop came while Redis refused it
            lambda: [rqcompat.succeed_alone(job, execution, self, ttl, commands)],
            what=f"outcome of job {job.id} not recorded",
            stopping=lambda: self.stop_requested,
        )
        replies = recorded[0] if recorded is not None else []
        if replies is None:  # dependents: rq's path enqueues them, and ends the send there
            if chat is not None:
                self.send_gate.chats[job.id] = chat
            rqcompat.keep_state(self, state)
            return False
        if recorded is None:
            rqcompat.keep_state(self, state)
        else:
            self._state_written = (WorkerStatus.IDLE, time.monotonic())  # rq's next set_state: skipped
        if replies and replies[-1] == 0:
            self._not_suspended_at = time.monotonic()
        self.execution = None  # rq's cleanup_execution
        took = job.ended_at - job.started_at
        # rq's line, straight to loguru (the stdlib record and its hand-over cost as much again)
        self._rq_log.info("Successfully completed job {} in {}s on worker {}", job.id, took, self.name)
        return True

    def handle_job_failure(self, job: Job, queue: Queue, started_job_registry=None, exc_string="") -> None:
        final = not job.should_retry  # read before rq's handling spends a retry
        self._ending = (False, final)
        if final:  # a retry needs its arguments
            self._keep_small(job)
        self._record(
            lambda: super(WaWorker, self).handle_job_failure(job, queue, started_job_registry, exc_string), job
        )
        history_outcomes.record(self.connection, job, self.runtime.account.name, exc_string or "failed", final=final)

    def cleanup_execution(self, job: Job, pipeline: Pipeline) -> None:
        """rq's end of an execution, in the MULTI that records how the job ended: a send that
        ended for good leaves its chat's order there too, and lets the next one go."""
        super().cleanup_execution(job, pipeline)
        went_out, final = self._ending
        self.send_gate.ended(job, went_out=went_out, final=final, pipeline=pipeline)

    def _keep_small(self, job: Job) -> None:
        """An ended job keeps at most WAGW_ENDED_JOB_MAX_BYTES in Redis (for its result TTL, or
        a week in the failed registry): beyond that its arguments go, before rq writes how it
        ended. Deleting first also makes room for that write when Redis is full."""
        try:
            size = self._ended_size if self._ended_size is not None else rqcompat.stored_bytes(job)
            self._ended_size = None
            if size > self.runtime.settings.ended_job_max_bytes:
                rqcompat.drop_arguments(job, size)
                logger.info("job {} ({}): arguments dropped, {} bytes in Redis", job.id, job.func_name, size)
        except RedisError as error:
            logger.warning("job {}: arguments not dropped: {}", job.id, refusals.reason(error))

    def _record(self, handle, job: Job) -> None:
        """rq's end-of-job bookkeeping, one MULTI: refused, nothing of it was written, and it
        is tried again until Redis takes it."""
        refusals.until_accepted(
            lambda: handle() or True, what=f"outcome of job {job.id} not recorded", stopping=lambda: self.stop_requested
        )

    def teardown(self) -> None:
        try:
            super().teardown()
        except RedisError as error:
            logger.warning("worker teardown incomplete: {}", refusals.reason(error))

    def _notice_pairing(self) -> None:
        """While the slot waits for keys: has `wagw pair` linked it since its last host?"""
        host = self.runtime.host
        if not host.waiting_for_pairing:
            return
        role = self.runtime.host.role
        try:
            at = devices.paired_at(self.connection, [role]).get(role)
        except RedisError:
            return  # Redis restarting: the next beat looks again
        if at is not None and host.pairing_recorded(at):
            logger.info("{} was paired: starting a native host with it", role)

    def request_stop(self, signum, frame):
        """First SIGTERM/SIGINT: finish the job in hand, take no other. Flags only: rq's own
        handler logs and raises StopRequested, and landing inside a log write (a lock the
        handler then needs) or between taking a job and starting it, that hung the worker or
        lost the job. The dequeue (rqcompat.TakerQueue) and rq's loop look at the flags."""
        self.stop_requested = True
        rqcompat.request_warm_stop(self)
        signal.signal(signal.SIGINT, self.request_force_stop)
        signal.signal(signal.SIGTERM, self.request_force_stop)

    def request_force_stop(self, signum, frame):
        """A second signal: stop now (the job in hand fails, or its Retry applies)."""
        raise SystemExit(ExitCode.FAILURE)


def publish_device_status(conn: Redis, host: HostClient) -> None:
    status = host.status()
    devices.publish(
        conn,
        host.role,
        state=status["state"],
        paired=status["paired"],
        connected=status["connected"],
        jid=status["jid"],
        extra={
            "host_pid": status["pid"] or "",
            "worker_pid": os.getpid(),
            "last_exit": status["last_exit"] or "",
            "retry_at": f"{status['retry_at']:.0f}" if status["retry_at"] is not None else "",
        },
    )


def _status_loop(conn: Redis, runtime: wa.Runtime, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            publish_device_status(conn, runtime.host)
            runtime.counts.flush(conn)
        except Exception as error:  # Redis restarting: the next beat catches up
            logger.debug("device status not published: {}", error)
        runtime.host.wait_changed(devices.HEARTBEAT)  # a state change is published at once


def main(settings: Settings, args: argparse.Namespace) -> int:
    slot = int(args.slot)
    try:
        account = accounts.find(settings, getattr(args, "account", None))
    except ValueError as error:
        logger.error("wagw wa-worker: {}", error)
        return ExitCode.CONFIG
    if not 1 <= slot < MAX_LINKED_DEVICES:
        logger.error(
            "--slot must be 1 to {} (WhatsApp links at most {} devices, one is the session)",
            MAX_LINKED_DEVICES - 1,
            MAX_LINKED_DEVICES,
        )
        return ExitCode.USAGE
    if slot > account.wa_workers:
        logger.warning(
            "slot {} is beyond account {}'s {} wa-worker slot(s): it still needs its own paired device",
            slot,
            account.name,
            account.wa_workers,
        )
    rqcompat.confine_jobs(JOB_PATHS)
    rqcompat.quicken_rq()  # rq's Jobs, Queues and registries built at less cost, per job
    # First, while this process is single-threaded and holds no connection (workers.wa.host_forker).
    forker = HostForker.start(account.wa_worker_process(slot)) if settings.fork_server else None
    conn = connect(settings)
    try:
        queue_accounts = dict.fromkeys(account.queues, account.name)
        for job_id in reap_orphaned_jobs(conn, account.queues, accounts=queue_accounts):
            logger.warning("job {} was left started by a dead worker: handed to its retry policy", job_id)
    except RedisError as error:  # Redis full: the scheduler's reaper does it later
        logger.warning("orphaned jobs not reaped at start: {}", refusals.reason(error))

    host = HostClient(settings, slot, account=account, forker=forker)
    host.start()  # ~0.5-0.8 s of imports in the host, overlapping the worker's own start
    runtime = wa.Runtime(settings=settings, conn=conn, host=host, slot=slot, account=account)
    wa.bind(runtime)
    stop_status = threading.Event()
    threading.Thread(target=_status_loop, args=(conn, runtime, stop_status), name="device-status", daemon=True).start()
    # Unique per incarnation: RQ refuses a name whose key is still alive, and the reaper
    # finds a dead incarnation's jobs by the pid in its worker hash.
    # RQ's own connection: its socket timeout must outlast the idle BLPOP (WORKER_TTL - 15 s).
    # redis-py defaults unix sockets to 5 s, and RQ raises that only for connections its pool
    # creates later, so the worker gets a pool of its own with the timeout set up front.
    worker_conn = connect(settings, socket_timeout=WORKER_TTL)
    worker = WaWorker(
        account.queues,
        name=f"{account.wa_worker_process(slot).replace('/', '.')}.{os.getpid()}",
        connection=worker_conn,
        serializer=SERIALIZER,
        runtime=runtime,
        worker_ttl=WORKER_TTL,
        default_result_ttl=settings.wa_result_ttl,
        # rq's per-job lines would carry the job's arguments: message text, phone numbers.
        log_job_description=False,
    )
    try:
        worker.work(
            burst=bool(getattr(args, "burst", False)), with_scheduler=bool(getattr(args, "with_scheduler", False))
        )
    finally:
        stop_status.set()
        host.stop()
        if forker is not None:
            forker.close()
        wa.bind(None)
        try:
            publish_device_status(conn, host)
            runtime.counts.flush(conn)
        except Exception:
            pass
    if worker.stop_requested or getattr(args, "burst", False):
        return ExitCode.OK
    # RQ's loop ended on its own: Redis went away or an unexpected error. Restart us.
    return ExitCode.TEMPFAIL
