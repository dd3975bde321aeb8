"""`wagw webhook-worker`: an RQ worker for queue "webhooks" that delivers many jobs at once.

RQ's SimpleWorker runs one job at a time with about a dozen Redis round trips each (~200
jobs/s). This worker keeps RQ's data model and registries exactly (queued -> started ->
finished / scheduled / failed, executions, worker registration, results), but moves jobs in
batches:

    dispatcher (main thread)                lanes (threads, per endpoint)   finisher (thread)
    pop up to 100 ids (one Lua call) ->
    fetch them, mark them started,
    resolve their endpoints         ->      sign + POST, one attempt   ->   record outcomes:
    (one MULTI for the whole batch)                                         delivered / retry /
                                                                            failed / deferred
                                                                            (one MULTI per batch)

Retries are scheduled by this worker itself (jitter, Retry-After) into RQ's scheduled
registry; `wagw scheduler` moves them back to the queue when due. docs/webhooks.md has the
whole design.
"""

from __future__ import annotations

import os
import queue as queue_module
import random
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from secrets import token_hex
from typing import TYPE_CHECKING

from loguru import logger
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.registry import ScheduledJobRegistry
from rq.worker import BaseWorker, WorkerStatus

from wagw import keys, metrics, refusals, rqcompat
from wagw.exitcodes import ExitCode
from wagw.redisconn import SERIALIZER, connect
from wagw.webhooks.enqueue import DELIVERABLE, DELIVERED_TTL
from workers.webhooks import delivery, media
from workers.webhooks.lanes import THREADS as LANE_THREADS
from workers.webhooks.lanes import Lane
from workers.webhooks.policy import Outcome, Verdict, due_timestamp, retry_delay, snippet

if TYPE_CHECKING:
    import argparse

    from redis import Redis
    from redis.client import Pipeline
    from rq.job import Job

    from wagw.config import Settings
    from wagw.rqcompat import Execution
    from wagw.webhooks.endpoints import Endpoint

BATCH = 100  # jobs taken from the queue per round trip
MAX_IN_FLIGHT = 512  # jobs one process holds at once (all lanes)
IDLE_WAIT = 1  # seconds the dispatcher blocks on an empty queue
EXECUTION_TTL = 600  # started-registry lease of a job in flight, refreshed while it is
EXECUTION_REFRESH = 120
HEARTBEAT_EVERY = 5.0
FINISH_BATCH = 500
FINISH_PATIENCE = 60.0  # seconds the finisher keeps retrying while Redis is unreachable
# After a batch that was not full, wait so the next one is bigger: a batch costs a few round
# trips whatever its size. The wait grows with the batch just taken (LINGER per job, at most
# LINGER_MAX): a worker taking one job at a time (a light load) waits LINGER, as a steady
# stream's batches grow, so does the wait, and with it the next batch. A job arriving at an
# idle worker is taken at once (the blocking pop returns immediately); one arriving during
# the wait waits at most this.
LINGER = 0.008
LINGER_MAX = 0.025
# Outcomes are recorded in batches gathered over this long (bookkeeping only: the POST
# has happened, so this delays no delivery).
FINISH_LINGER = 0.010
FINISHED = ("delivered", "duplicate")  # outcomes recorded as rq's finished jobs


@dataclass
class Flight:
    """One job between being taken from the queue and its outcome being recorded."""

    job: Job
    execution: Execution = field(init=False)  # set once the batch is started
    endpoint: Endpoint | None = None  # None until resolved; an invalid job has none
    event_id: str = ""
    body: str = ""
    admitted: delivery.Admitted | None = None  # None until resolved; an invalid job has none
    attempt: int = 1
    lane: Lane | None = None
    # send | duplicate | defer | invalid | requeue
    action: str = "send"
    outcome: Outcome | None = None
    delay: float = 0.0
    error: str = ""  # why an invalid job is invalid
    why: str = ""  # why a delivery failed for good


class DeliveryWorker(refusals.WorkerHoldsOn, rqcompat.PromptCommandListener, rqcompat.SetsAsideUnreadable, BaseWorker):
    def __init__(self, settings: Settings, connection: Redis, name: str | None = None) -> None:
        super().__init__(
            [keys.WEBHOOKS_QUEUE],
            name=name,
            connection=connection,
            serializer=SERIALIZER,
            job_class=rqcompat.SharedRegistriesJob,
            default_result_ttl=DELIVERED_TTL,
        )
        self.settings = settings
        self.ctx = delivery.configure(settings)
        self.queue = self.queues[0]
        self.taken = rqcompat.IntermediateList(self.queue)
        self.batch_scripts = rqcompat.BatchScripts(connection)
        self.scheduled = ScheduledJobRegistry(queue=self.queue)
        self.lanes: dict[str, Lane] = {}  # by endpoint id: at most one per configured endpoint
        self.in_flight: dict[str, Flight] = {}
        self._unstarted: list[str] = []
        self._done: queue_module.SimpleQueue[Flight] = queue_module.SimpleQueue()
        self._room = threading.Event()
        self._stopping = threading.Event()
        self._forced = False
        self._finisher_stop = threading.Event()
        self._next = {"heartbeat": 0.0, "refresh": time.monotonic() + EXECUTION_REFRESH}
        self._refused = refusals.Every(60.0)

    # ---- lifecycle -------------------------------------------------------------------------------

    def request_stop(self, signum=None, frame=None) -> None:
        """SIGTERM/SIGINT or RQ's shutdown command: stop taking jobs, finish the ones held."""
        # Flags and SystemExit only: a log line here could wait for the log lock the
        # interrupted code holds, for ever.
        if self._stopping.is_set() and signum is not None:
            self._forced = True
            raise SystemExit(ExitCode.FAILURE)
        self._stopping.set()

    def refusals_stopping(self) -> bool:
        return self._stopping.is_set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def work(self, burst: bool = False, **_ignored) -> bool:  # type: ignore[override]
        self.install_signal_handlers()  # before registering: a stop right after is clean
        self.register_birth()
        self.subscribe()
        self.set_state(WorkerStatus.STARTED)
        finisher = threading.Thread(target=self._finisher, name="webhook-finisher", daemon=True)
        finisher.start()
        worked = False
        logger.info(
            "webhook worker {} delivering to {} endpoint(s), {} threads each",
            self.name,
            len(self.ctx.endpoints),
            LANE_THREADS,
        )
        try:
            if not self.ctx.endpoints:
                logger.warning("no webhook endpoints are configured here: deliveries stay queued until they are")
                while not self._stopping.wait(IDLE_WAIT):
                    try:
                        self._maintain()
                    except RedisError as error:
                        self._refused_warning(error)
                return False
            while not self._stopping.is_set():
                try:
                    worked = self._step(burst) or worked
                except StopIteration:
                    break
                except (RedisConnectionError, RedisTimeoutError) as error:
                    # What was taken stays in Redis (started, or intermediate and retried here); if
                    # this worker dies, the scheduler's reaper rescues it.
                    logger.warning("webhook worker: Redis unavailable ({}); retrying in 1 s", error)
                    self._stopping.wait(1.0)
                except RedisError as error:  # refused (full, read-only): the same, quieter
                    self._refused_warning(error)
                    self._stopping.wait(1.0)
        finally:
            if self._forced:
                logger.warning("second stop signal: leaving in-flight deliveries to RQ's abandoned-job handling")
            else:
                self._drain()
            self._finisher_stop.set()
            finisher.join(timeout=10)
            for lane in self.lanes.values():
                lane.close(wait=False)
            try:
                self.teardown()
            except RedisError as error:
                logger.warning("webhook worker teardown incomplete: {}", refusals.reason(error))
            logger.info("webhook worker {} stopped", self.name)
        return worked

    def _refused_warning(self, error: Exception) -> None:
        if self._refused.due():
            logger.warning("webhook worker: {}; retrying every second", refusals.reason(error))

    def _step(self, burst: bool) -> bool:
        """One dispatcher turn: upkeep, then take and start a batch. StopIteration ends a burst."""
        self._maintain()
        room = MAX_IN_FLIGHT - len(self.in_flight)
        if room <= 0:
            self._room.clear()
            self._room.wait(0.5)
            return False
        # Ids taken but not started (Redis went away mid-start) are this worker's to start: the
        # rescue leaves a live taker's ids alone.
        if self._unstarted:
            ids, found = self._unstarted, None
        else:
            ids, found = self._take(min(room, BATCH), block=not (burst and not self.in_flight))
        if ids:
            self._unstarted = ids
            self._start(ids, found)
            self._unstarted = []
            if len(ids) < BATCH:
                time.sleep(min(LINGER_MAX, LINGER * len(ids)))
            return True
        if burst and not self.in_flight and not self.queue.count:
            raise StopIteration
        return False

    def _drain(self) -> None:
        """Stop: lanes skip what they have not started (it is requeued at the front), and the
        requests already on the wire get the shutdown grace to finish."""
        self._stopping.set()
        deadline = time.monotonic() + max(1.0, self.settings.shutdown_grace - 2)
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.in_flight:
            logger.warning(
                "{} deliveries still in flight after the shutdown grace: RQ's abandoned-job handling will retry them",
                len(self.in_flight),
            )

    # ---- dispatcher (main thread) --------------------------------------------------------------

    def _take(self, count: int, block: bool) -> tuple[list[str], list[Job | rqcompat.Unreadable]]:
        """Ids taken and their jobs, read in the same step."""
        wait = (0.05 if self.in_flight else IDLE_WAIT) if block else 0
        return self.taken.take_jobs(count, self.name, wait, rqcompat.SharedRegistriesJob, self.serializer)

    def _start(self, ids: list[str], found: list[Job | rqcompat.Unreadable] | None = None) -> None:
        if found is None:  # taken before Redis went away: read again
            found = rqcompat.read_jobs(self.connection, ids, rqcompat.SharedRegistriesJob, self.serializer)
        jobs = []
        for job_id, job in zip(ids, found, strict=True):
            if isinstance(job, rqcompat.Unreadable):  # to the dead-letter list, not a crash
                self.taken.set_aside(job_id, job, self.name)
            else:
                jobs.append(job)
        flights = [self._flight(job) for job in jobs]
        checks = [f for f in flights if f.action == "send"]
        reads = []
        for flight in checks:
            assert flight.endpoint is not None
            reads.append(
                (
                    delivery.delivered_key(flight.endpoint, flight.event_id),
                    delivery.attempts_key(flight.endpoint, flight.event_id),
                )
            )
        # One atomic step for the batch: each job started, then its delivered marker and
        # attempt counter read.
        executions, answers = rqcompat.start_many(self.batch_scripts, self.taken, jobs, self.name, EXECUTION_TTL, reads)
        for flight, execution in zip(flights, executions, strict=True):
            flight.execution = execution
        for flight, (seen, recorded) in zip(checks, answers, strict=True):
            # After every attempt made for this (endpoint, event), by this job or a copy of it.
            flight.attempt = delivery.attempt_number(flight.job, recorded)
            if seen:
                flight.action = "duplicate"
        if flights and self.get_state() != WorkerStatus.BUSY:
            self.set_state(WorkerStatus.BUSY)
        for flight in flights:
            self.in_flight[flight.job.id] = flight
            self._route(flight)

    def _flight(self, job: Job) -> Flight:
        flight = Flight(job=job)
        try:
            reason = rqcompat.refusal(job, DELIVERABLE)
            if reason is not None:
                raise ValueError(reason)
            admitted = self.ctx.admit(job.args)
        except Exception as error:  # a malformed job fails, it never stops the worker
            flight.action, flight.error = "invalid", str(error)
            return flight
        flight.admitted, flight.endpoint = admitted, admitted.endpoint
        flight.event_id, flight.body = admitted.event_id, admitted.body
        body, download = admitted.body, admitted.download
        flight.attempt = delivery.attempt_number(job)
        if download is not None:  # WAGW_MEDIA_AUTO_DOWNLOAD: the body follows the download job
            try:
                followed = media.follow(self.connection, self.settings, body, download, job.created_at)
            except Exception as error:  # a bug here must not lose the event: it goes without the file
                # The type only: a traceback here could quote the body (message content).
                logger.error("webhook {}: could not read its media download: {}", flight.event_id, type(error).__name__)
                followed = media.with_error(body, media.DownloadError.OUTCOME_UNREADABLE)
            if isinstance(followed, media.Pending):
                flight.action, flight.delay = "defer", followed.delay
            else:
                flight.body = followed
        return flight

    def _lane(self, endpoint: Endpoint) -> Lane:
        lane = self.lanes.get(endpoint.id)
        if lane is None:
            lane = self.lanes[endpoint.id] = Lane(self._done.put)
        return lane

    def _route(self, flight: Flight) -> None:
        if flight.action != "send":
            self._done.put(flight)
            return
        assert flight.endpoint is not None
        lane = flight.lane = self._lane(flight.endpoint)
        if (open_for := lane.circuit_open_for()) > 0:
            # An open circuit sends nothing, so it spends no attempt: the delivery waits for
            # the probe that closes it. Jitter spreads the backlog it releases.
            flight.action, flight.delay = "defer", open_for + random.uniform(0.0, 1.0)
            self._done.put(flight)
        elif not lane.try_submit(flight, self._send):
            flight.action, flight.delay = "defer", lane.defer_delay()
            self._done.put(flight)

    def _send(self, flight: Flight) -> None:
        """On a lane thread: one signed POST."""
        if self._stopping.is_set():
            flight.action = "requeue"
            return
        assert flight.endpoint is not None
        try:
            replay = flight.admitted is not None and flight.admitted.replay
            flight.outcome = self.ctx.attempt(
                flight.endpoint, flight.event_id, flight.body, flight.attempt, replay=replay
            )
        except Exception as error:  # never lose a flight to a bug in one attempt
            flight.outcome = Outcome(None, 0.0, error=snippet(f"{type(error).__name__}: {error}"))
        assert flight.lane is not None
        flight.lane.record(flight.outcome)

    # ---- finisher (thread) -------------------------------------------------------------------------

    def _finisher(self) -> None:
        while True:
            try:
                batch = [self._done.get(timeout=0.2)]
            except queue_module.Empty:
                if self._finisher_stop.is_set():
                    return
                continue
            time.sleep(FINISH_LINGER)
            while len(batch) < FINISH_BATCH:
                try:
                    batch.append(self._done.get_nowait())
                except queue_module.Empty:
                    break
            self._finish_with_retries(batch)
            for flight in batch:
                self.in_flight.pop(flight.job.id, None)
            self._room.set()

    def _finish_with_retries(self, batch: list[Flight]) -> None:
        """Record a batch; while Redis is away, keep trying (up to FINISH_PATIENCE), starting
        again from the jobs' state before the failed attempt."""
        saved = [(f.job.retries_left, dict(f.job.meta)) for f in batch]
        deadline = time.monotonic() + FINISH_PATIENCE
        while True:
            try:
                self._finish(batch)
                return
            except RedisError as error:
                for flight, (retries_left, meta) in zip(batch, saved, strict=False):
                    flight.job.retries_left, flight.job.meta = retries_left, dict(meta)
                if not isinstance(error, RedisConnectionError | RedisTimeoutError):
                    # Refused (Redis full, read-only): nothing of the batch was written. Held
                    # until Redis takes it, or the lease runs out and a retry sends it again.
                    if self._refused.due():
                        logger.warning("{} delivery outcomes not recorded yet: {}", len(batch), refusals.reason(error))
                    time.sleep(0.5)
                    continue
                if time.monotonic() >= deadline:
                    # They stay started in Redis: the started-registry lease runs out and RQ's
                    # abandoned-job handling retries them.
                    logger.error("could not record {} delivery outcomes: {}", len(batch), error)
                    return
                time.sleep(0.5)
            except Exception:
                logger.exception("could not record {} delivery outcomes", len(batch))
                return

    def _finish(self, batch: list[Flight]) -> None:
        counts = {"delivered": 0, "retry": 0, "failed": 0}
        latencies: list[tuple[str, float]] = []
        logs = []
        finished: list[tuple[Job, Execution, dict, rqcompat.Mark | None]] = []  # recorded together, in one command
        ended = rqcompat.now()  # the batch's outcomes are recorded now: one clock read and stamp for all
        with self.connection.pipeline() as pipe:
            for flight in batch:
                flight.job.ended_at = ended
                kind = self._record(flight, pipe, finished)
                if kind in counts:
                    counts[kind] += 1
                    if flight.outcome is not None and flight.action == "send":
                        latencies.append((kind, flight.outcome.latency))
                logs.append((flight, kind))
                if kind not in FINISHED:
                    rqcompat.end_execution(flight.execution, flight.job, pipe)
            rqcompat.finish_many(self.batch_scripts, pipe, finished, DELIVERED_TTL, self.name)
            rqcompat.count_jobs(self, pipe, successful=counts["delivered"], failed=counts["failed"])
            for outcome, amount in counts.items():
                if amount:
                    metrics.incr(pipe, "webhook_deliveries", amount, outcome=outcome)
            metrics.observe_many(pipe, "webhook_delivery_seconds", latencies)
            pipe.execute()
        for flight, kind in logs:
            self._log(flight, kind)

    def _record(
        self, flight: Flight, pipe: Pipeline, finished: list[tuple[Job, Execution, dict, rqcompat.Mark | None]]
    ) -> str:
        """Write one flight's outcome on `pipe` (a finished job's rq records, the end of its
        execution and a delivery's marker: appended to `finished`); returns delivered/
        duplicate/retry/failed/deferred/requeued."""
        job = flight.job
        if flight.action == "requeue":
            rqcompat.requeue_at_front(self.queue, job, pipe)
            return "requeued"
        if flight.action == "defer":
            self._schedule(job, due_timestamp(flight.delay), pipe)
            return "deferred"
        if flight.action == "duplicate":
            finished.append((job, flight.execution, {"duplicate": True, "attempt": flight.attempt}, None))
            return "duplicate"
        if flight.action == "invalid":
            job.retries_left = 0
            self._fail(flight, f"invalid webhook job: {flight.error}", pipe)
            return "failed"
        outcome, endpoint, admitted = flight.outcome, flight.endpoint, flight.admitted
        assert outcome is not None and endpoint is not None and admitted is not None
        if outcome.verdict is Verdict.DELIVERED:
            mark = delivery.delivered_mark(self.settings, admitted)
            finished.append((job, flight.execution, delivery.result_value(outcome, flight.attempt), mark))
            return "delivered"
        delivery.note_attempt(job, outcome, flight.attempt)
        delivery.record_attempt(pipe, admitted)
        if outcome.verdict is Verdict.RETRY and (job.retries_left or 0) > 0:
            job.retries_left = (job.retries_left or 0) - 1
            delay = retry_delay(self.ctx.schedule, flight.attempt, outcome.retry_after)
            if flight.lane is not None:
                delay = max(delay, flight.lane.circuit_open_for())
            flight.delay = delay
            self._schedule(job, due_timestamp(delay), pipe)
            return "retry"
        why = "retries exhausted" if outcome.verdict is Verdict.RETRY else "not retryable"
        flight.why = why
        job.retries_left = 0
        self._fail(flight, delivery.failure_message(endpoint, flight.event_id, outcome, flight.attempt, why), pipe)
        return "failed"

    def _fail(self, flight: Flight, message: str, pipe: Pipeline) -> None:
        exc_string = f"workers.webhooks.DeliveryFailed: {message}"
        rqcompat.mark_failed(flight.job, flight.execution, exc_string, self.name, pipe)

    def _schedule(self, job: Job, due: int, pipe: Pipeline) -> None:
        rqcompat.schedule(self.queue, self.scheduled, job, due, pipe)

    def _log(self, flight: Flight, kind: str) -> None:
        endpoint, outcome = flight.endpoint, flight.outcome
        if endpoint is None:  # an invalid job: nothing was sent
            logger.error("webhook job {} failed: {}", flight.job.id, flight.error)
            return
        if kind in ("deferred", "requeued"):
            logger.debug("webhook {} -> {}: {}", flight.event_id, endpoint.shown, kind)
            return
        if kind == "duplicate":
            logger.info("webhook {} -> {}: already delivered, not sent again", flight.event_id, endpoint.shown)
            return
        assert outcome is not None
        if kind == "delivered":
            what = "delivered"
        elif kind == "retry":
            what = f"retry in {flight.delay:.1f} s ({flight.job.retries_left} left)"
        else:
            what = f"failed ({flight.why}); `wagw webhooks replay {flight.job.id}` requeues it"
        delivery.log_attempt(endpoint, flight.event_id, flight.attempt, outcome, what)

    # ---- upkeep (main thread, between batches) -------------------------------------------------------

    def _maintain(self) -> None:
        clock = time.monotonic()
        if clock >= self._next["heartbeat"]:
            self._next["heartbeat"] = clock + HEARTBEAT_EVERY
            self._heartbeat()
            if not self.in_flight and self.get_state() == WorkerStatus.BUSY:
                self.set_state(WorkerStatus.IDLE)
        if clock >= self._next["refresh"]:
            self._next["refresh"] = clock + EXECUTION_REFRESH
            self._refresh_leases()
        if self.should_run_maintenance_tasks:
            self.clean_registries()

    def _heartbeat(self) -> None:
        """RQ's worker heartbeat; if our registration vanished (a Redis restart that lost it,
        a flush) write it again, or dead-worker reapers would take our jobs away."""
        if rqcompat.heartbeat_recreated(self):
            logger.warning("webhook worker {}: registration was missing in Redis, registering again", self.name)
            rqcompat.register_again(self)

    def _refresh_leases(self) -> None:
        """Keep the started-registry lease of long waits (a slow endpoint) from running out."""
        flights = list(self.in_flight.values())
        if not flights:
            return
        with self.connection.pipeline(transaction=False) as pipe:
            registry = flights[0].job.started_job_registry
            rqcompat.renew_leases((flight.execution for flight in flights), registry, EXECUTION_TTL, pipe)
            pipe.execute()


def worker_name() -> str:
    process = os.environ.get("WAGW_PROCESS_NAME") or "webhook-worker"
    return f"{process}.{os.getpid()}.{token_hex(3)}@{socket.gethostname()}"


def main(settings: Settings, args: argparse.Namespace | None = None) -> int:
    """`wagw webhook-worker` (args.burst, if given: stop once the queue is empty)."""
    rqcompat.confine_jobs(DELIVERABLE)
    rqcompat.quicken_rq()
    conn = connect(settings)
    worker = DeliveryWorker(settings, conn, name=worker_name())
    worker.work(burst=bool(getattr(args, "burst", False)))
    return ExitCode.OK
