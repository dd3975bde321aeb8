"""The scheduler's reaper on real Redis: jobs of dead workers and stranded dequeues."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DequeueTimeout
from rq.executions import Execution
from rq.job import JobStatus
from rq.registry import StartedJobRegistry

from wagw import keys, rqcompat
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


def test_each_worker_is_looked_up_once_a_pass_however_many_jobs_it_holds(redis_conn, monkeypatch):
    """A draining webhook worker holds hundreds of started jobs, and the scheduler reaps every
    second: one registration read per worker, not one per job. The dead one's jobs are all
    reaped, the live one's all kept."""
    queue = Queue("webhooks", connection=redis_conn, serializer=SERIALIZER)
    live = [queue.enqueue("workers.webhooks.deliver", args=("0123456789abcdef", f"l{n}", "{}")) for n in range(30)]
    dead = [queue.enqueue("workers.webhooks.deliver", args=("0123456789abcdef", f"d{n}", "{}")) for n in range(30)]
    pid = dead_pid()
    for job in live:
        start_as_worker(redis_conn, queue, job, "webhook-worker-1.10", os.getpid())
    for job in dead:
        start_as_worker(redis_conn, queue, job, "webhook-worker-2.10", pid)
    looked_up: list[str] = []
    real = rqcompat.worker_pid_and_host

    def counted(conn, worker_name):
        looked_up.append(worker_name)
        return real(conn, worker_name)

    monkeypatch.setattr(rqcompat, "worker_pid_and_host", counted)
    assert sorted(reap_orphaned_jobs(redis_conn, ["webhooks"])) == sorted(job.id for job in dead)
    assert sorted(looked_up) == ["webhook-worker-1.10", "webhook-worker-2.10"]
    assert all(job.get_status(refresh=True) == JobStatus.STARTED for job in live)


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


def register_worker(conn, worker_name, pid):
    conn.hset(f"rq:worker:{worker_name}", mapping={"pid": pid, "hostname": socket.gethostname()})


def test_an_id_whose_taker_is_alive_is_left_to_it_however_long_it_takes(redis_conn):
    """A worker starved between taking an id and starting it still starts it: requeuing it as
    well would run the job twice."""
    now = [100.0]
    queue = Queue("webhooks", connection=redis_conn, serializer=SERIALIZER)
    job = queue.enqueue("workers.webhooks.deliver", args=("0123456789abcdef", "e1", "{}"))
    taken = rqcompat.IntermediateList(queue)
    register_worker(redis_conn, "webhook-worker-1.1", os.getpid())
    assert taken.take(10, "webhook-worker-1.1") == [job.id]
    rescuer = StrandedJobs(redis_conn, ["webhooks"], clock=lambda: now[0])
    assert rescuer.rescue() == []
    now[0] += STRANDED_AFTER * 20
    assert rescuer.rescue() == []
    assert taken.ids() == [job.id] and queue.get_job_ids() == []
    # The taker dies before starting it: now it is rescued, and its record goes with it.
    register_worker(redis_conn, "webhook-worker-1.1", dead_pid())
    assert rescuer.rescue() == [job.id]
    assert queue.get_job_ids() == [job.id] and taken.taker(job.id) is None


def test_a_taker_that_lost_its_id_to_the_rescue_does_not_start_it(redis_conn):
    """The id was taken with a blocking move and the rescue requeued it before the taker could
    record itself (no record yet: the rescue saw an unclaimed id): the claim fails, so only the
    worker that takes it next runs it."""
    now = [100.0]
    queue = Queue("wa.beta", connection=redis_conn, serializer=SERIALIZER)
    job = queue.enqueue("workers.wa.joined_groups")
    taken = rqcompat.IntermediateList(queue)
    moved = redis_conn.blmove(queue.key, queue.intermediate_queue_key, 1, "LEFT", "RIGHT")
    assert moved.decode() == job.id
    rescuer = StrandedJobs(redis_conn, ["wa.beta"], clock=lambda: now[0])
    rescuer.rescue()
    now[0] += STRANDED_AFTER + 0.1
    assert rescuer.rescue() == [job.id]
    assert not taken.claim(job.id, "slow-worker")
    assert taken.taker(job.id) is None and queue.get_job_ids() == [job.id]


def test_rqs_own_dequeue_records_the_taker(redis_conn):
    """The wa-worker's dequeue (rq's Queue.dequeue_any of one queue, through TakerQueue)."""
    queue = Queue("wa.beta", connection=redis_conn, serializer=SERIALIZER)
    first = queue.enqueue("workers.wa.joined_groups")
    queue_class = rqcompat.taker_queue_class("wa-worker.beta.1")
    job, _ = queue_class.dequeue_any([queue], None, connection=redis_conn, serializer=SERIALIZER)
    assert job.id == first.id
    taken = rqcompat.IntermediateList(queue)
    assert taken.ids() == [first.id] and taken.taker(first.id) == "wa-worker.beta.1"
    # rq's start drops the id only; the rescue's next pass drops the stale record.
    redis_conn.lrem(queue.intermediate_queue_key, 1, first.id)
    StrandedJobs(redis_conn, ["wa.beta"]).rescue()
    assert taken.taker(first.id) is None


def test_an_id_moved_in_twice_by_two_slow_takers_is_claimed_by_one(redis_conn):
    """Two workers blocked in BLMOVE, both starved: the first moves the id in and is too slow
    to claim it, the rescue requeues it, the second moves it in again. Both wake up; exactly
    one may start it."""
    now = [100.0]
    queue = Queue("wa.beta", connection=redis_conn, serializer=SERIALIZER)
    job = queue.enqueue("workers.wa.joined_groups")
    taken = rqcompat.IntermediateList(queue)
    redis_conn.lmove(queue.key, queue.intermediate_queue_key, "LEFT", "RIGHT")  # worker A
    rescuer = StrandedJobs(redis_conn, ["wa.beta"], clock=lambda: now[0])
    rescuer.rescue()
    now[0] += STRANDED_AFTER + 0.1
    assert rescuer.rescue() == [job.id]
    redis_conn.lmove(queue.key, queue.intermediate_queue_key, "LEFT", "RIGHT")  # worker B
    claims = [taken.claim(job.id, "worker-a"), taken.claim(job.id, "worker-b")]
    assert claims == [True, False] and taken.taker(job.id) == "worker-a"


def test_a_worker_of_several_queues_parks_what_it_takes(redis_conn):
    """rq pops the ids of a worker of several queues (the first account's wa-workers serve
    `wa.<account>` and `wa`); wagw's dequeue parks them, so a worker stopped right after
    taking one leaves it for the rescue instead of losing it."""
    own = Queue("wa.default", connection=redis_conn, serializer=SERIALIZER)
    shared = Queue("wa", connection=redis_conn, serializer=SERIALIZER)
    queue_class = rqcompat.taker_queue_class("wa-worker.1")
    on_shared, on_own = shared.enqueue("workers.wa.joined_groups"), own.enqueue("workers.wa.joined_groups")
    taken = []
    for _ in range(2):
        job, origin = queue_class.dequeue_any([own, shared], 1, connection=redis_conn, serializer=SERIALIZER)
        taken.append((job.id, origin.name))
    assert taken == [(on_own.id, "wa.default"), (on_shared.id, "wa")]  # in the queues' order
    for queue, job_id in ((own, on_own.id), (shared, on_shared.id)):
        parked = rqcompat.IntermediateList(queue)
        assert parked.ids() == [job_id] and parked.taker(job_id) == "wa-worker.1"

    # The worker dies before starting them: both go back to their queues.
    now = [100.0]
    register_worker(redis_conn, "wa-worker.1", dead_pid())
    rescuer = StrandedJobs(redis_conn, ["wa", "wa.default"], clock=lambda: now[0])
    rescuer.rescue()
    now[0] += STRANDED_AFTER + 0.1
    assert sorted(rescuer.rescue()) == sorted([on_own.id, on_shared.id])
    assert own.get_job_ids() == [on_own.id] and shared.get_job_ids() == [on_shared.id]


def test_a_worker_of_several_queues_blocks_and_times_out_like_rqs(redis_conn):
    own = Queue("wa.default", connection=redis_conn, serializer=SERIALIZER)
    shared = Queue("wa", connection=redis_conn, serializer=SERIALIZER)
    queue_class = rqcompat.taker_queue_class("wa-worker.1")
    assert queue_class.dequeue_any([own, shared], None, connection=redis_conn, serializer=SERIALIZER) is None
    began = time.monotonic()
    with pytest.raises(DequeueTimeout):
        queue_class.dequeue_any([own, shared], 1, connection=redis_conn, serializer=SERIALIZER)
    assert 0.9 <= time.monotonic() - began < 3
    # A job arriving on the queue it does not block on is still taken within a poll.
    timer = threading.Timer(0.3, lambda: own.enqueue("workers.wa.joined_groups"))
    timer.start()
    began = time.monotonic()
    job, origin = queue_class.dequeue_any([own, shared], 5, connection=redis_conn, serializer=SERIALIZER)
    assert origin.name == job.origin == "wa.default"
    assert time.monotonic() - began < 0.3 + queue_class.POLL + 0.5
    timer.join()


def test_a_stop_request_ends_a_blocking_dequeue_within_a_poll(redis_conn):
    """The wa-worker's signal handler only sets a flag; the dequeue it is blocked in sees it."""
    queues = [Queue(name, connection=redis_conn, serializer=SERIALIZER) for name in ("wa.default", "wa")]
    stop = threading.Event()
    queue_class = rqcompat.taker_queue_class("wa-worker.1", stopping=stop.is_set)
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    began = time.monotonic()
    assert queue_class.dequeue_any(queues, 30, connection=redis_conn, serializer=SERIALIZER) is None
    assert time.monotonic() - began < 0.3 + queue_class.POLL + 0.5
    timer.join()
    queues[1].enqueue("workers.wa.joined_groups")
    assert queue_class.dequeue_any(queues, 1, connection=redis_conn, serializer=SERIALIZER) is None
    assert queues[1].count == 1  # a stopping worker takes nothing more


def test_a_job_reaped_while_rqs_own_cleanup_runs_elsewhere_is_retried_once(redis_conn):
    """rq's started-registry cleanup runs in every worker's maintenance and in every count or
    listing of the registry, and it retries before it removes: the reaper must claim what it
    hands over, or two of them requeue one job twice (a delivery or a send made twice)."""
    queue = Queue("webhooks", connection=redis_conn, serializer=SERIALIZER)
    jobs = [
        queue.enqueue("workers.webhooks.deliver", args=("0123456789abcdef", f"e{n}", "{}"), retry=Retry(max=3))
        for n in range(200)
    ]
    pid = dead_pid()
    for job in jobs:
        start_as_worker(redis_conn, queue, job, "webhook-worker-1.9", pid)
    registry = StartedJobRegistry("webhooks", connection=redis_conn, serializer=SERIALIZER)
    counting = threading.Event()
    counting.set()

    def count_all_the_time():
        observer = Redis(connection_pool=redis_conn.connection_pool)
        while counting.is_set():
            StartedJobRegistry("webhooks", connection=observer, serializer=SERIALIZER).count  # noqa: B018

    observers = [threading.Thread(target=count_all_the_time) for _ in range(2)]
    for observer in observers:
        observer.start()
    try:
        assert sorted(reap_orphaned_jobs(redis_conn, ["webhooks"])) == sorted(job.id for job in jobs)
    finally:
        counting.clear()
        for observer in observers:
            observer.join()
    queued = queue.get_job_ids()
    assert sorted(queued) == sorted(job.id for job in jobs), f"{len(queued) - len(set(queued))} jobs queued twice"
    assert registry.get_job_count(cleanup=False) == 0


def history_records(conn) -> dict[str, dict]:
    return {
        record["job_id"]: record
        for record in (json.loads(fields[b"record"]) for _id, fields in conn.xrange(keys.HISTORY_SENDS))
    }


def test_sends_ended_by_the_reaper_have_their_outcome_in_the_history_store(redis_conn):
    """A send whose wa-worker was SIGKILLed ends in the reaper, which records its outcome for the
    history store as the worker would have: retrying, failed, or failed with outcome unknown."""
    queue = Queue("wa", connection=redis_conn, serializer=SERIALIZER)
    retried = queue.enqueue("workers.wa.send_text", "15551230001@s.whatsapp.net", "first", retry=Retry(max=1))
    dropped = queue.enqueue("workers.wa.send_text", "15551230002@s.whatsapp.net", "second")
    handed = queue.enqueue("workers.wa.send_text", "15551230003@s.whatsapp.net", "third", retry=Retry(max=2))
    not_a_send = queue.enqueue("workers.wa.joined_groups")
    for n, job in enumerate((retried, dropped, handed, not_a_send)):
        start_as_worker(redis_conn, queue, job, f"wa-worker-1.{n}", dead_pid())
    redis_conn.set(keys.SEND_HANDED.format(job_id=handed.id), "wa-worker-1.2")

    reaped = reap_orphaned_jobs(redis_conn, ["wa"], accounts={"wa": "shop"})

    assert sorted(reaped) == sorted([retried.id, dropped.id, not_a_send.id])
    records = history_records(redis_conn)
    assert set(records) == {retried.id, dropped.id, handed.id}
    assert {record["account"] for record in records.values()} == {"shop"}
    assert records[retried.id]["status"] == "retrying"
    assert records[dropped.id]["status"] == "failed" and "AbandonedJobError" in records[dropped.id]["error"]
    # Handed to WhatsApp's library when its worker died: never retried, whatever its Retry says.
    assert records[handed.id]["status"] == "failed" and "OutcomeUnknown" in records[handed.id]["error"]
    assert records[handed.id]["chat"] == "15551230003@s.whatsapp.net"
    assert handed.get_status(refresh=True) == JobStatus.FAILED


def test_a_queue_of_no_known_account_records_no_history_outcome(redis_conn):
    queue = Queue("wa", connection=redis_conn, serializer=SERIALIZER)
    job = queue.enqueue("workers.wa.send_text", "15551230004@s.whatsapp.net", "hello")
    start_as_worker(redis_conn, queue, job, "wa-worker-1.9", dead_pid())
    assert reap_orphaned_jobs(redis_conn, ["wa"]) == [job.id]
    assert history_records(redis_conn) == {}
