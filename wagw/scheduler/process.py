"""`wagw scheduler`: RQ's scheduler for both queues, plus the orphaned-job reaper and the
keeper of Redis's reserve for inbound events (wagw.scheduler.shedder).

Every step survives Redis refusing its writes (full, read-only): it is logged, skipped and
tried again at the next pass, so a full Redis never turns into a restart loop."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loguru import logger
from redis.exceptions import RedisError
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler

from wagw import accounts, keys, refusals, rqcompat, sendorder
from wagw.exitcodes import ExitCode
from wagw.redisconn import SERIALIZER, connect
from wagw.scheduler.reaper import StrandedJobs, reap_orphaned_jobs
from wagw.scheduler.shedder import Shedder

if TYPE_CHECKING:
    import argparse

    from wagw.config import Settings

# Scheduled retries are due on the second; polling five times a second keeps a 1 s retry
# interval close to 1 s.
POLL_INTERVAL = 0.2
REAP_INTERVAL = 1.0
# The set-aside pass looks this far ahead of rq's: an entry falling due between the two (a
# pass can be preempted on a loaded machine) is checked before rq reads it.
SCHEDULED_LOOKAHEAD = 1.0
WARN_EVERY = 60.0  # seconds between warnings of a step Redis keeps refusing


def _queues(settings: Settings) -> list[str]:
    try:
        return [*accounts.Roster.load(settings).wa_queues, keys.WEBHOOKS_QUEUE]
    except ValueError as error:  # a hand-edited accounts file: keep the last good list
        logger.error("accounts file: {}", error)
        return []


def _queue_accounts(settings: Settings) -> dict[str, str]:
    try:
        return accounts.Roster.load(settings).queue_accounts
    except ValueError:  # logged by _queues; a reaped send then has no history outcome
        return {}


def _accounts(queues: list[str]) -> list[str]:
    """The accounts whose queues these are (`wa.<account>`)."""
    prefix = keys.WA_QUEUE + "."
    return [name.removeprefix(prefix) for name in queues if name.startswith(prefix)]


def _scheduler(settings: Settings, conn, queues: list[str], stopping=lambda: False) -> RQScheduler | None:
    # A stable name lets a restarted scheduler take its own lock back at once instead of
    # waiting out the lock's 60 s lease; daemons sharing one host and Redis each have theirs.
    name = f"wagw-scheduler@{socket.gethostname()}"
    if settings.run_accounts:
        name += "/" + ",".join(settings.run_accounts)
    # RQ derives whole-second lock leases from `interval`; the loop below polls faster.
    scheduler = RQScheduler(queues, connection=conn, serializer=SERIALIZER, interval=1, name=name)

    # Redis full or read-only: wait for it rather than exit into a restart loop.
    def register() -> bool:
        scheduler.register_birth()
        return True

    if refusals.until_accepted(register, what="scheduler not registered", stopping=stopping) is None:
        return None
    logger.info("scheduler started for queues {}", ", ".join(queues))
    return scheduler


class Passes:
    """The scheduler's steps, each on its own: one that Redis refuses (full, read-only) is
    logged (once a minute at most), skipped and tried again next pass; the others run."""

    def __init__(self) -> None:
        self._warn: dict[str, refusals.Every] = {}

    def run(self, step: str, action: Callable[[], object]) -> None:
        try:
            action()
        except RedisError as error:
            if self._warn.setdefault(step, refusals.Every(WARN_EVERY)).due():
                logger.warning("scheduler: {} skipped: {}; trying again", step, refusals.reason(error))


@dataclass
class Running:
    """What the loop runs with; replaced whole when the accounts change."""

    scheduler: RQScheduler
    queues: list[str]
    stranded: StrandedJobs
    scheduled: list[ScheduledJobRegistry]
    accounts: list[str]  # whose waiting sends (wagw.sendorder) this scheduler lets go
    queue_accounts: dict[str, str]  # whose history a send reaped from each wa queue goes to

    @classmethod
    def of(cls, scheduler: RQScheduler, queues: list[str], conn, settings: Settings) -> Running:
        registries = [ScheduledJobRegistry(name, connection=conn, serializer=SERIALIZER) for name in queues]
        stranded = StrandedJobs(conn, queues)
        return cls(scheduler, queues, stranded, registries, _accounts(queues), _queue_accounts(settings))


def main(settings: Settings, args: argparse.Namespace | None = None) -> int:
    stop = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.append(True))
    conn = connect(settings)
    queues = _queues(settings) or [keys.WA_QUEUE, keys.WEBHOOKS_QUEUE]
    scheduler = _scheduler(settings, conn, queues, lambda: bool(stop))
    if scheduler is None:
        return ExitCode.OK
    run = Running.of(scheduler, queues, conn, settings)
    passes = Passes()
    shedder = Shedder(conn, settings)
    next_reap = 0.0

    def schedule() -> None:
        if run.scheduler.should_reacquire_locks:
            run.scheduler.acquire_locks()
        run.scheduler.heartbeat()
        for registry in run.scheduled:  # rq's fetch of them all ends on one it cannot read
            rqcompat.set_aside_unreadable_scheduled(registry, by="scheduler", now=time.time() + SCHEDULED_LOOKAHEAD)
        run.scheduler.enqueue_scheduled_jobs()

    def follow_accounts() -> None:
        nonlocal run
        now_queues = _queues(settings)
        if now_queues and now_queues != run.queues:  # `wagw accounts add|remove`
            fresh = _scheduler(settings, conn, now_queues, lambda: True)  # one try: again next pass
            if fresh is not None:
                run.scheduler.stop()
                run = Running.of(fresh, now_queues, conn, settings)

    def keep_reserve() -> None:
        shedder.run([name for name in run.queues if name != keys.WEBHOOKS_QUEUE])

    def reap() -> None:
        for job_id in reap_orphaned_jobs(conn, run.queues, accounts=run.queue_accounts):
            logger.warning("job {} was left started by a dead worker: handed to its retry policy", job_id)

    def let_waiting_go() -> None:
        for account in run.accounts:
            sendorder.release_due(conn, account)

    def rescue() -> None:
        for job_id in run.stranded.rescue():
            logger.warning("job {} was stranded between its queue and a stopped worker: requeued", job_id)

    try:
        while not stop:
            passes.run("scheduling", schedule)
            passes.run("letting waiting sends go", let_waiting_go)
            if time.monotonic() >= next_reap:
                next_reap = time.monotonic() + REAP_INTERVAL
                passes.run("keeping the reserve for inbound events", keep_reserve)  # first: it makes room
                passes.run("following the accounts", follow_accounts)
                passes.run("the orphaned-job reaper", reap)
                passes.run("the stranded-job rescue", rescue)
            time.sleep(POLL_INTERVAL)
    finally:
        passes.run("stopping", run.scheduler.stop)
        logger.info("scheduler stopped")
    return ExitCode.OK
