"""The scheduler's reaper on real Redis: jobs of dead workers and stranded dequeues."""

from __future__ import annotations

import socket
import subprocess
import sys

from rq import Queue, Retry
from rq.executions import Execution
from rq.job import JobStatus
from rq.registry import StartedJobRegistry

from wagw.redisconn import SERIALIZER
from wagw.scheduler.reaper import STRANDED_AFTER, StrandedJobs, reap_orphaned_jobs


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def start_as_worker(conn, queue, job, worker_name, pid):
    """Record the job as started by `worker_name` exactly as an RQ worker does."""
    conn.hset(f"rq:worker:{worker_name}", mapping={"pid": pid, "hostname": socket.gethostname()})
    conn.lrem(queue.key, 1, job.id)
    with conn.pipeline() as pipe:
        job.prepare_for_execution(worker_name, pipe)
        Execution.create(job, ttl=600, pipeline=pipe, worker_name=worker_name)
        pipe.execute()


def test_started_job_of_a_dead_worker_goes_to_its_retry(redis_conn):
    queue = Queue("wa", connection=redis_conn, serializer=SERIALIZER)
    job = queue.enqueue("workers.wa.joined_groups", retry=Retry(max=1))
    start_as_worker(redis_conn, queue, job, "wa-worker-1.1", dead_pid())
    assert job.id in StartedJobRegistry("wa", connection=redis_conn)
    assert reap_orphaned_jobs(redis_conn, ["wa"]) == [job.id]
    job.refresh()
    assert job.get_status() == JobStatus.QUEUED and job.retries_left == 0
    assert job.id not in StartedJobRegistry("wa", connection=redis_conn)


def test_started_job_of_a_live_worker_is_left_alone(redis_conn):
    import os

    queue = Queue("wa", connection=redis_conn, serializer=SERIALIZER)
    job = queue.enqueue("workers.wa.joined_groups")
    start_as_worker(redis_conn, queue, job, "wa-worker-1.2", os.getpid())
    assert reap_orphaned_jobs(redis_conn, ["wa"]) == []
    assert job.get_status(refresh=True) == JobStatus.STARTED


def test_started_job_without_retries_fails_as_abandoned(redis_conn):
    queue = Queue("webhooks", connection=redis_conn, serializer=SERIALIZER)
    job = queue.enqueue("workers.webhooks.deliver", args=("0123456789abcdef", "e1", "{}"))
    start_as_worker(redis_conn, queue, job, "webhook-worker-1.3", dead_pid())
    assert reap_orphaned_jobs(redis_conn, ["webhooks"]) == [job.id]
    assert job.get_status(refresh=True) == JobStatus.FAILED


def test_id_stranded_in_the_intermediate_list_is_requeued_at_the_front(redis_conn):
    now = [100.0]
    queue = Queue("wa", connection=redis_conn, serializer=SERIALIZER)
    stranded_job = queue.enqueue("workers.wa.joined_groups")
    other = queue.enqueue("workers.wa.joined_groups")
    # A worker took the first id off the queue, then stopped before marking it started.
    redis_conn.lmove(queue.key, queue.intermediate_queue_key, "LEFT", "RIGHT")
    rescuer = StrandedJobs(redis_conn, ["wa"], clock=lambda: now[0])
    assert rescuer.rescue() == []  # first sight: it may be a live worker mid-dequeue
    now[0] += STRANDED_AFTER - 0.1
    assert rescuer.rescue() == []
    now[0] += 0.2
    assert rescuer.rescue() == [stranded_job.id]
    assert queue.get_job_ids() == [stranded_job.id, other.id]
    assert redis_conn.llen(queue.intermediate_queue_key) == 0
    assert rescuer.rescue() == [] and rescuer.first_seen == {}
