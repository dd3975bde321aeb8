"""`wagw scheduler`: RQ's scheduler for both queues, plus the orphaned-job reaper."""

from __future__ import annotations

import signal
import socket
import time
from typing import TYPE_CHECKING

from loguru import logger
from rq.scheduler import RQScheduler

from wagw import accounts, keys
from wagw.exitcodes import ExitCode
from wagw.redisconn import SERIALIZER, connect
from wagw.scheduler.reaper import StrandedJobs, reap_orphaned_jobs

if TYPE_CHECKING:
    import argparse

    from wagw.config import Settings

# Scheduled retries are due on the second; polling five times a second keeps a 1 s retry
# interval close to 1 s.
POLL_INTERVAL = 0.2
REAP_INTERVAL = 1.0


def _queues(settings: Settings) -> list[str]:
    try:
        return [*accounts.wa_queues(settings), keys.WEBHOOKS_QUEUE]
    except ValueError as error:  # a hand-edited accounts file: keep the last good list
        logger.error("accounts file: {}", error)
        return []


def _scheduler(settings: Settings, conn, queues: list[str]) -> RQScheduler:
    # A stable name lets a restarted scheduler take its own lock back at once instead of
    # waiting out the lock's 60 s lease; daemons sharing one host and Redis each have theirs.
    name = f"wagw-scheduler@{socket.gethostname()}"
    if settings.run_accounts:
        name += "/" + ",".join(settings.run_accounts)
    # RQ derives whole-second lock leases from `interval`; the loop below polls faster.
    scheduler = RQScheduler(queues, connection=conn, serializer=SERIALIZER, interval=1, name=name)
    scheduler.register_birth()
    logger.info("scheduler started for queues {}", ", ".join(queues))
    return scheduler


def main(settings: Settings, args: argparse.Namespace | None = None) -> int:
    stop = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.append(True))
    conn = connect(settings)
    queues = _queues(settings) or [keys.WA_QUEUE, keys.WEBHOOKS_QUEUE]
    scheduler = _scheduler(settings, conn, queues)
    stranded = StrandedJobs(conn, queues)
    next_reap = 0.0
    try:
        while not stop:
            if scheduler.should_reacquire_locks:
                scheduler.acquire_locks()
            scheduler.heartbeat()
            scheduler.enqueue_scheduled_jobs()
            if time.monotonic() >= next_reap:
                next_reap = time.monotonic() + REAP_INTERVAL
                now_queues = _queues(settings)
                if now_queues and now_queues != queues:  # `wagw accounts add|remove`
                    scheduler.stop()
                    queues = now_queues
                    scheduler = _scheduler(settings, conn, queues)
                    stranded = StrandedJobs(conn, queues)
                for job_id in reap_orphaned_jobs(conn, queues):
                    logger.warning("job {} was left started by a dead worker: handed to its retry policy", job_id)
                for job_id in stranded.rescue():
                    logger.warning("job {} was stranded between its queue and a stopped worker: requeued", job_id)
            time.sleep(POLL_INTERVAL)
    finally:
        scheduler.stop()
        logger.info("scheduler stopped")
    return ExitCode.OK
