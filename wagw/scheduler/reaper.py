"""Jobs left behind by worker processes that died or stopped at the wrong moment.

Two places can hold such a job, and RQ alone is slow to notice either:

- the started registry, when the worker died mid-job: RQ waits out the job's lease (10-15
  minutes). A job whose worker pid is known dead on this host, or whose worker's heartbeat
  key has expired, is expired at once through RQ's own cleanup, so its Retry applies. Except
  a send that its worker was handing to the native host (a wagw:send-handed marker): it may
  have reached WhatsApp, so it fails "outcome unknown" instead (docs/jobs.md "Send semantics");
  Anyone who can write to Redis can add any entry there: one that cannot be read (not rq's
  "<job id>:<execution id>", an execution that is no hash) or whose job cannot (read as a
  worker reads it, wagw.rqcompat.read_jobs) is removed and recorded in the queue's dead-letter
  list, never raised: the reaper runs in the scheduler and at every wa-worker's start;
- the queue's intermediate list, when the worker stopped between taking the id off the queue
  and marking it started: RQ fails it after a minute at its next maintenance. The job never
  ran, so after STRANDED_AFTER seconds it goes back on the queue instead, unless the worker
  that took it (recorded by wagw's workers, keys.TAKERS) is still alive: a live worker
  starved for a few seconds still starts what it took, and requeuing it too would run the
  job twice (a delivery sent twice, a message sent twice). An id there that cannot be read
  as a job (wagw.deadletter) is never put back, whoever took it: it goes to the dead-letter
  list, where its taker, had it lived, would have put it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping

from loguru import logger
from redis import Redis
from rq import Queue
from rq.job import JobStatus
from rq.registry import StartedJobRegistry

from wagw import keys, rqcompat, sendorder
from wagw.procs import pid_alive
from wagw.quarantine import Target
from wagw.redisconn import SERIALIZER, as_text

# A live worker moves an id from the intermediate list to the started registry within
# milliseconds; one still there after this long has lost its worker.
STRANDED_AFTER = 5.0
REAPER = "orphaned-job reaper"  # who set a started entry aside, in its dead-letter entry
ABANDONED = "AbandonedJobError: the worker running it died"  # a reaped send's history error


def _worker_dead(conn: Redis, worker_name: str, hostname: str) -> bool:
    pid, host = rqcompat.worker_pid_and_host(conn, worker_name)
    if pid is None:
        return True  # heartbeat key expired: RQ itself considers the worker gone
    if host != hostname:
        return False  # another host's worker: leave it to that host
    return not pid_alive(pid)


def reap_orphaned_jobs(
    conn: Redis, queue_names: list[str], hostname: str | None = None, accounts: Mapping[str, str] | None = None
) -> list[str]:
    """Fail or retry (per the job's Retry) every started job whose worker is dead; set aside
    every entry that cannot be read, and every orphan whose job cannot. A send ended here has
    its outcome recorded for the history store, as its wa-worker would have, under the account
    `accounts` names for its queue (wagw.accounts.Roster.queue_accounts)."""
    hostname = hostname or socket.gethostname()
    reaped: list[str] = []
    # Each worker looked up once a pass: a busy webhook worker holds hundreds of started jobs.
    dead: dict[str, bool] = {}
    for queue_name in queue_names:
        account = (accounts or {}).get(queue_name)
        registry = StartedJobRegistry(queue_name, connection=conn, serializer=SERIALIZER)
        orphans = []
        for entry in rqcompat.started_entries(registry):
            if entry.problem is not None:
                rqcompat.set_aside_entry(registry, entry, rqcompat.Unreadable(entry.problem), REAPER)
            elif entry.worker_name:
                if entry.worker_name not in dead:
                    dead[entry.worker_name] = _worker_dead(conn, entry.worker_name, hostname)
                if dead[entry.worker_name]:
                    orphans.append(entry)
        orphan_ids = [entry.job_id for entry in orphans]
        orphans = [entry for entry in orphans if not _send_outcome_unknown(conn, registry, entry, account)]
        if orphans:
            # RQ's abandoned-job handling (retry or fail) now, not when their lease runs out.
            ended = rqcompat.expire_now(registry, orphans, by=REAPER)
            reaped.extend(ended)
            if account is not None and ended:
                _record_abandoned(conn, ended, account)
        # A send that ended for good lets the next one of its chat go; a retried one keeps its place.
        sendorder.release_ended(conn, orphan_ids)
    return reaped


def _record_abandoned(conn: Redis, job_ids: list[str], account: str) -> None:
    """The history outcome of each send among these jobs, just handed to its Retry or failed."""
    from wagw.history import outcomes  # with the operation table: only once a job was reaped

    for job in rqcompat.read_jobs(conn, job_ids):
        if not isinstance(job, rqcompat.Unreadable):
            final = job.get_status(refresh=False) == JobStatus.FAILED
            outcomes.record(conn, job, account, ABANDONED, final=final)


def _send_outcome_unknown(
    conn: Redis, registry: StartedJobRegistry, entry: rqcompat.StartedEntry, account: str | None
) -> bool:
    """Fail an orphaned send that was being handed to its host; True if it was one (or could
    not be read, and was set aside)."""
    # The operation table (~1 MB) loads with the first orphaned send, not in every scheduler.
    from wagw import operations
    from wagw.history import outcomes
    from wagw.operations.args import InvalidArguments

    marker = keys.SEND_HANDED.format(job_id=entry.job_id)
    worker = conn.get(marker)
    if worker is None:
        return False
    [job] = rqcompat.read_jobs(conn, [entry.job_id])
    if isinstance(job, rqcompat.Unreadable):
        conn.delete(marker)
        if job.reason == "no_job":
            return False  # the reaper's usual handling records it
        rqcompat.set_aside_entry(registry, entry, job, REAPER)
        return True
    op = operations.operation_of(job.func_name)
    if op is None:
        return False
    try:
        to = Target.of(op.target_of(operations.validate(op.name, job.args, job.kwargs, fake=True)))
    except InvalidArguments:
        to = None
    cause = f"the wa-worker running it ({as_text(worker)}) died while it was being handed to WhatsApp"
    message = operations.outcome_unknown(op.name, to.shown if to else None, cause)
    failure = f"{operations.OUTCOME_UNKNOWN}: {message}"
    rqcompat.fail_abandoned(registry, entry.entry, job, failure)
    if account is not None:
        outcomes.record(conn, job, account, failure, final=True)
    conn.delete(marker)
    logger.warning("job {} ({}): its worker died mid-send: failed, outcome unknown", entry.job_id, op.name)
    return True


class StrandedJobs:
    """Watches the intermediate lists; remembers when each id was first seen there."""

    NAME = "stranded-job rescue"  # who set an id aside, in its dead-letter entry

    def __init__(self, conn: Redis, queue_names: list[str], clock=time.monotonic, hostname: str | None = None) -> None:
        self.conn = conn
        self.hostname = hostname or socket.gethostname()
        self.queues = [Queue(name, connection=conn, serializer=SERIALIZER) for name in queue_names]
        self.taken = [rqcompat.IntermediateList(queue) for queue in self.queues]
        self.clock = clock
        self.first_seen: dict[tuple[str, bytes], float] = {}

    def rescue(self) -> list[str]:
        now = self.clock()
        present: set[tuple[str, bytes]] = set()
        rescued: list[str] = []
        for queue, taken in zip(self.queues, self.taken, strict=True):
            for raw_id in taken.raw_ids():  # anyone can push any bytes onto a queue
                present.add((queue.name, raw_id))
                first = self.first_seen.setdefault((queue.name, raw_id), now)
                if now - first < STRANDED_AFTER:
                    continue
                problem = rqcompat.id_problem(raw_id)
                if problem is None:
                    job_id = raw_id.decode()
                    if job_id in queue.started_job_registry:
                        continue  # running: the started-registry reaper owns it
                    taker = taken.taker(job_id)
                    if taker is not None and not _worker_dead(self.conn, taker, self.hostname):
                        continue  # slow, not gone: it starts the job itself, or sets it aside
                    [job] = rqcompat.read_jobs(self.conn, [job_id])
                    if not isinstance(job, rqcompat.Unreadable):
                        if taken.put_back(job_id):
                            rescued.append(job_id)
                        continue
                    # Requeued, it would end the next worker that takes it.
                    taken.set_aside(raw_id, job, self.NAME)
                else:
                    taken.set_aside(raw_id, rqcompat.Unreadable(problem), self.NAME)
            taken.forget_gone()
        self.first_seen = {key: t for key, t in self.first_seen.items() if key in present}
        return rescued
