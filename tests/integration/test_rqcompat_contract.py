"""Contract tests for wagw.rqcompat on a real Redis: what each function writes, rq's own API
reads back exactly as what rq's own code paths write (a SimpleWorker starting, finishing and
failing a job; Queue.schedule_job; Queue.enqueue_job; BaseWorker.register_birth), and what
each function reads is what rq wrote.

A failure after an rq upgrade names the rq behaviour that changed; wagw/rqcompat.py is where
to follow it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib.metadata import version

import pytest
from rq import Queue, Retry, SimpleWorker, Worker
from rq.exceptions import DeserializationError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler
from rq.utils import current_timestamp

from wagw import keys, rqcompat
from wagw.redisconn import SERIALIZER

RQ_VERSION = version("rq")
DOUBLE = f"{__name__}.double"
FAIL = f"{__name__}.fail"
RESULT_TTL = 300
FAILURE_TTL = 3600
LEASE = 600
# Hash fields that hold times: equal only in format (checked by reading them back).
TIMES = {b"created_at", b"enqueued_at", b"started_at", b"ended_at", b"last_heartbeat"}


def double(n: int) -> dict:
    return {"doubled": n * 2}


def fail(n: int) -> None:
    raise RuntimeError(f"failing {n}")


@pytest.fixture
def queue(redis_conn) -> Queue:
    return Queue("contract", connection=redis_conn, serializer=SERIALIZER)


def enqueue(queue: Queue, func: str = DOUBLE, **options) -> Job:
    return queue.enqueue(func, 21, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL, **options)


def rq_worker(queue: Queue, name: str) -> SimpleWorker:
    worker = SimpleWorker([queue], name=name, connection=queue.connection, serializer=SERIALIZER)
    worker.register_birth()
    return worker


def rq_runs(worker: SimpleWorker, queue: Queue) -> Job:
    """rq's own path for the job at the front of the queue: dequeue, start, run, record."""
    job, _ = Queue.dequeue_any([queue], None, connection=queue.connection, serializer=SERIALIZER)
    worker.execute_job(job, queue)
    return job


def rq_starts(worker: SimpleWorker, queue: Queue) -> Job:
    """rq's own path up to the job being started."""
    job, _ = Queue.dequeue_any([queue], None, connection=queue.connection, serializer=SERIALIZER)
    worker.prepare_execution(job)
    worker.prepare_job_execution(job, remove_from_intermediate_queue=True)
    return job


def rq_ends(worker: SimpleWorker, job: Job, queue: Queue, record) -> None:
    """rq's worker path from the end of a run: ended_at stamped, the execution cleaned up,
    then `record(pipe)` writes the outcome."""
    worker.handle_execution_ended(job, queue, LEASE)
    with queue.connection.pipeline() as pipe:
        worker.cleanup_execution(job, pipe)
        record(pipe)
        pipe.execute()


def rqcompat_starts(queue: Queue, worker_name: str) -> tuple[Job, rqcompat.Execution]:
    """The webhook worker's path up to the job being started."""
    taken = rqcompat.IntermediateList(queue)
    [job_id] = taken.take(1, worker_name)
    [job] = rqcompat.SharedRegistriesJob.fetch_many([job_id], queue.connection, serializer=SERIALIZER)
    with queue.connection.pipeline() as pipe:
        taken.release(job_id, pipe)
        execution = rqcompat.start_execution(job, worker_name, LEASE, pipe)
        pipe.execute()
    return job, execution


def rqcompat_ends(job: Job, execution: rqcompat.Execution, record) -> None:
    """The webhook worker's path from the outcome on: `record(pipe)` writes it."""
    job.ended_at = rqcompat.now()
    with job.connection.pipeline() as pipe:
        record(pipe)
        rqcompat.end_execution(execution, job, pipe)
        pipe.execute()


def public_view(job_id: str, conn) -> dict:
    """What rq's public API says about a job."""
    job = Job.fetch(job_id, connection=conn, serializer=SERIALIZER)
    queue = Queue(job.origin, connection=conn, serializer=SERIALIZER)
    registries = {
        "started": queue.started_job_registry,
        "finished": queue.finished_job_registry,
        "failed": queue.failed_job_registry,
        "scheduled": queue.scheduled_job_registry,
    }
    result = job.latest_result()
    return {
        "status": job.get_status(),
        "worker_name": job.worker_name,
        "started_at set": job.started_at is not None,
        "ended_at set": job.ended_at is not None,
        "registries": sorted(name for name, registry in registries.items() if job.id in registry),
        "queued": job.id in queue.get_job_ids(),
        "intermediate": job.id in queue.intermediate_queue.get_job_ids(),
        "executions": len(job.get_executions()),
        "result type": result.type if result else None,
        "result worker": result.worker_name if result else None,
        "return value": job.return_value(),
        "retries_left": job.retries_left,
        "job key expires in about": round(conn.ttl(job.key), -2),
    }


def assert_same_public_view(ours: Job, reference: Job) -> None:
    mine, theirs = public_view(ours.id, ours.connection), public_view(reference.id, reference.connection)
    for what, value in theirs.items():
        assert mine[what] == value, (
            f"rq {RQ_VERSION} reads {what} as {value!r} for its own records, as {mine[what]!r} for rqcompat's"
        )


def assert_same_hash(ours: Job, reference: Job, differ: tuple[bytes, ...] = ()) -> None:
    """The same job-hash fields, and the same values but for times and the fields in `differ`."""
    mine, theirs = ours.connection.hgetall(ours.key), reference.connection.hgetall(reference.key)
    for field in differ:
        mine.pop(field, None)
        theirs.pop(field, None)
    assert set(mine) == set(theirs), (
        f"rq {RQ_VERSION} writes job fields {sorted(set(theirs) - set(mine))} that rqcompat does not, and not "
        f"{sorted(set(mine) - set(theirs))} that rqcompat does"
    )
    for field in set(theirs) - TIMES:
        assert mine[field] == theirs[field], (
            f"rq {RQ_VERSION} writes {field} = {theirs[field]!r}, rqcompat {mine[field]!r}"
        )


# ---- enqueue ---------------------------------------------------------------------------------


def test_rqs_worker_runs_a_job_enqueued_by_enqueue_calls(redis_conn, queue):
    fields = rqcompat.queued_job_fields(
        queue.name, timeout=30, retry=Retry(max=1, interval=[1]), result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL
    )
    with redis_conn.pipeline() as pipe:
        [job_id] = rqcompat.enqueue_calls(pipe, queue.name, fields, [(DOUBLE, (21,), "double 21")])
        pipe.execute()
    job = rq_runs(rq_worker(queue, "rq-1"), queue)
    assert job.id == job_id
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == {"doubled": 42}


# ---- taking and starting jobs ------------------------------------------------------------------


def test_intermediate_list_is_the_one_rqs_dequeue_uses(redis_conn, queue):
    jobs = [enqueue(queue) for _ in range(4)]
    taken = rqcompat.IntermediateList(queue)
    assert taken.take(2, "worker-a") == [jobs[0].id, jobs[1].id]
    assert queue.intermediate_queue.get_job_ids() == [jobs[0].id, jobs[1].id], (
        f"rq {RQ_VERSION} no longer sees ids taken by rqcompat.IntermediateList in its intermediate queue"
    )
    rq_job, _ = Queue.dequeue_any([queue], None, connection=redis_conn, serializer=SERIALIZER)
    assert rq_job.id == jobs[2].id and taken.ids() == [jobs[0].id, jobs[1].id, jobs[2].id], (
        f"rq {RQ_VERSION}'s dequeue parks ids somewhere rqcompat.IntermediateList does not look"
    )
    assert taken.take(5, "worker-a", wait=0.05) == [jobs[3].id]
    assert taken.take(1, "worker-a", wait=0.05) == []
    with redis_conn.pipeline() as pipe:
        taken.release(jobs[1].id, pipe)
        pipe.execute()
    assert taken.put_back(jobs[0].id) and not taken.put_back(jobs[0].id)
    assert queue.get_job_ids() == [jobs[0].id]
    assert queue.intermediate_queue.get_job_ids() == [jobs[2].id, jobs[3].id]


def test_read_jobs_reads_what_rqs_fetch_reads_and_names_what_ends_rqs_dequeue(redis_conn, queue):
    from tests.integration.bad_ids import write_bad_jobs

    good = enqueue(queue)
    [ours] = rqcompat.read_jobs(redis_conn, [good.id.encode()])
    theirs = Job.fetch(good.id, connection=redis_conn, serializer=SERIALIZER)
    assert isinstance(ours, Job) and ours.to_dict() == theirs.to_dict()
    assert (ours.func_name, list(ours.args), ours.kwargs) == (DOUBLE, [21], {})
    bad = write_bad_jobs(redis_conn, queue.name, "c")
    found = [item for item in rqcompat.read_jobs(redis_conn, list(bad)) if isinstance(item, rqcompat.Unreadable)]
    assert [item.reason for item in found] == list(bad.values())
    # The jobs whose data alone is unreadable come with their record, to be failed.
    assert {item.job.id for item in found if item.job} == {"c-pickled", "c-notjson", "c-notcall"}
    # What rq does with each: why wagw's workers read ids with read_jobs, and what to look at
    # again if an rq upgrade changes it.
    redis_conn.delete(queue.key)
    seen: dict[str, list[str]] = {}
    for job_id, reason in bad.items():
        queue.push_job_id(job_id)
        try:
            result = Queue.dequeue_any([queue], None, connection=redis_conn, serializer=SERIALIZER)
            outcome = "dropped" if result is None else f"runs {result[0].func_name}"
        except DeserializationError:  # from func_name: rq's worker fails such a job when it runs it
            outcome = "fails when run: DeserializationError"
        except Exception as error:
            outcome = f"ends the worker: {type(error).__name__}"
        seen.setdefault(reason, []).append(outcome)
        redis_conn.delete(queue.key, queue.intermediate_queue_key)
    ends, fails = "ends the worker: ", "fails when run: DeserializationError"
    assert seen == {
        # "bad id c!", "c:exec" (read as job c's execution), b"\xff\xfec"
        "invalid_id": [f"{ends}ValueError", "dropped", f"{ends}UnicodeDecodeError"],
        "id_too_long": ["dropped"],
        "no_job": ["dropped"],
        "not_a_hash": [f"{ends}ResponseError"],
        "missing_fields": ["dropped"],
        "unreadable_fields": [f"{ends}ValueError"],
        "pickled": [fails],
        "not_json": [fails],
        "not_a_call": [fails],
    }, f"rq {RQ_VERSION}'s dequeue treats ids that are not jobs differently now"


def test_take_jobs_takes_as_take_does_and_reads_as_read_jobs_reads(redis_conn, queue):
    from tests.integration.bad_ids import write_bad_jobs

    good = [enqueue(queue) for _ in range(2)]
    bad = write_bad_jobs(redis_conn, queue.name, "t")
    for job_id in bad:
        queue.push_job_id(job_id)
    taken = rqcompat.IntermediateList(queue)
    ids, found = taken.take_jobs(50, "worker-a", serializer=SERIALIZER)
    readable = [job_id.decode() for job_id, reason in bad.items() if reason not in ("invalid_id", "id_too_long")]
    assert ids == [job.id for job in good] + readable
    takers = redis_conn.hkeys(keys.TAKERS.format(queue=queue.name))
    assert taken.ids() == ids and set(takers) == {job_id.encode() for job_id in ids}
    expected = rqcompat.read_jobs(redis_conn, ids, serializer=SERIALIZER)
    for ours, theirs in zip(found, expected, strict=True):
        assert type(ours) is type(theirs)
        if isinstance(theirs, Job):
            assert ours.to_dict() == theirs.to_dict()
        else:
            assert ours.reason == theirs.reason and (ours.job is None) == (theirs.job is None)
    # the ids that are no job ids went to the dead-letter list, as take() sends them
    reasons = [json.loads(raw)["reason"] for raw in redis_conn.lrange(keys.DEAD_LETTER.format(queue=queue.name), 0, -1)]
    assert sorted(reasons) == sorted(r for r in bad.values() if r in ("invalid_id", "id_too_long"))
    # nothing waiting: the blocking take, then its job read
    assert taken.take_jobs(5, "worker-a", wait=0.05) == ([], [])
    late = enqueue(queue)
    ids, found = taken.take_jobs(5, "worker-a", wait=0.05, serializer=SERIALIZER)
    assert ids == [late.id] and isinstance(found[0], Job) and found[0].func_name == DOUBLE


def test_set_aside_moves_a_parked_id_once_and_forgets_its_taker(redis_conn, queue):
    taken = rqcompat.IntermediateList(queue)
    queue.push_job_id("x")
    redis_conn.rpush(queue.key, b"bad id\xff")
    assert taken.take(5, "worker-a") == ["x"]  # the other is no id: set aside at once
    gone = rqcompat.Unreadable("no_job")
    assert taken.set_aside("x", gone, "worker-a") and not taken.set_aside("x", gone, "worker-a")
    assert taken.ids() == [] and redis_conn.hlen(keys.TAKERS.format(queue=queue.name)) == 0
    reasons = [json.loads(raw)["reason"] for raw in redis_conn.lrange(keys.DEAD_LETTER.format(queue=queue.name), 0, -1)]
    assert reasons == ["no_job", "invalid_id"]


def test_start_execution_writes_what_rqs_worker_writes(queue):
    worker = rq_worker(queue, "worker-a")
    enqueue(queue)
    reference = rq_starts(worker, queue)
    enqueue(queue)
    ours, execution = rqcompat_starts(queue, "worker-a")
    assert_same_public_view(ours, reference)
    assert_same_hash(ours, reference)
    assert ours.get_executions() == [execution]
    assert execution.worker_name == "worker-a"


# ---- outcomes ----------------------------------------------------------------------------------


def test_mark_finished_writes_what_rqs_worker_writes(queue):
    worker = rq_worker(queue, "worker-a")
    enqueue(queue)
    reference = rq_runs(worker, queue)
    enqueue(queue)
    ours, execution = rqcompat_starts(queue, "worker-a")
    rqcompat_ends(
        ours, execution, lambda pipe: rqcompat.mark_finished(ours, execution, double(21), RESULT_TTL, "worker-a", pipe)
    )
    assert_same_public_view(ours, reference)
    assert_same_hash(ours, reference)
    registry = queue.finished_job_registry
    assert abs(registry.get_expiration_time(ours) - registry.get_expiration_time(reference)) < timedelta(seconds=5)
    assert ours.latest_result().return_value == reference.latest_result().return_value == {"doubled": 42}


def test_mark_failed_writes_what_rqs_worker_writes(queue):
    worker = rq_worker(queue, "worker-a")
    enqueue(queue, FAIL)
    reference = rq_runs(worker, queue)
    enqueue(queue, FAIL)
    ours, execution = rqcompat_starts(queue, "worker-a")
    ours.meta["attempts"] = 3  # the webhook worker's notes, saved with the failure
    rqcompat_ends(ours, execution, lambda pipe: rqcompat.mark_failed(ours, execution, "it failed", "worker-a", pipe))
    assert_same_public_view(ours, reference)
    assert_same_hash(ours, reference, differ=(b"meta",))
    assert Job.fetch(ours.id, connection=queue.connection, serializer=SERIALIZER).meta == {"attempts": 3}
    registry = queue.failed_job_registry
    assert abs(registry.get_expiration_time(ours) - registry.get_expiration_time(reference)) < timedelta(seconds=5)
    assert ours.latest_result().exc_string == "it failed"
    for job in (ours, reference):
        registry.requeue(job)  # what `wagw webhooks replay` does
    assert queue.get_job_ids() == [ours.id, reference.id]


def test_schedule_writes_what_queue_schedule_job_writes(redis_conn, queue):
    worker = rq_worker(queue, "worker-a")
    enqueue(queue, retry=Retry(max=2))
    reference = rq_starts(worker, queue)
    enqueue(queue, retry=Retry(max=2))
    ours, execution = rqcompat_starts(queue, "worker-a")
    due = int((datetime.now(UTC) - timedelta(seconds=1)).timestamp())
    redis_conn.delete(Queue.redis_queues_keys)  # as after a Redis restart that lost it
    rq_ends(
        worker,
        reference,
        queue,
        lambda pipe: queue.schedule_job(reference, datetime.fromtimestamp(due, UTC), pipeline=pipe),
    )
    assert Queue.all(connection=redis_conn) == [queue]
    redis_conn.delete(Queue.redis_queues_keys)
    rqcompat_ends(
        ours, execution, lambda pipe: rqcompat.schedule(queue, ScheduledJobRegistry(queue=queue), ours, due, pipe)
    )
    assert Queue.all(connection=redis_conn) == [queue], "rqcompat.schedule no longer registers the queue"
    assert_same_public_view(ours, reference)
    assert_same_hash(ours, reference)
    registry = queue.scheduled_job_registry
    assert registry.get_scheduled_time(ours) == registry.get_scheduled_time(reference)
    scheduler = RQScheduler([queue.name], connection=redis_conn, serializer=SERIALIZER)
    scheduler.acquire_locks()
    scheduler.enqueue_scheduled_jobs()
    assert sorted(queue.get_job_ids()) == sorted([ours.id, reference.id]), (
        f"rq {RQ_VERSION}'s scheduler did not move what rqcompat.schedule wrote back to the queue"
    )


def test_requeue_at_front_writes_what_queue_enqueue_job_writes(redis_conn, queue):
    worker = rq_worker(queue, "worker-a")
    enqueue(queue)
    reference = rq_starts(worker, queue)
    enqueue(queue)
    ours, execution = rqcompat_starts(queue, "worker-a")
    enqueue(queue)
    rq_ends(worker, reference, queue, lambda pipe: None)
    queue.enqueue_job(reference, at_front=True)  # its dependency checks watch keys: not in a MULTI
    rqcompat_ends(ours, execution, lambda pipe: rqcompat.requeue_at_front(queue, ours, pipe))
    assert queue.get_job_ids()[:2] == [ours.id, reference.id]
    assert_same_public_view(ours, reference)
    assert_same_hash(ours, reference)


def test_renew_leases_extends_the_started_registry_lease(redis_conn, queue):
    enqueue(queue)
    job, execution = rqcompat_starts(queue, "worker-a")
    registry = queue.started_job_registry
    redis_conn.zadd(registry.key, {execution.composite_key: 1}, xx=True)  # about to run out
    with redis_conn.pipeline() as pipe:
        rqcompat.renew_leases([execution], registry, LEASE, pipe)
        pipe.execute()
    registry.cleanup()
    assert job.id in registry, f"rq {RQ_VERSION} expired a lease rqcompat.renew_leases had renewed"


# ---- the worker's own records ------------------------------------------------------------------


def test_count_jobs_adds_to_the_counters_rq_reads(queue):
    worker = rq_worker(queue, "worker-a")
    with queue.connection.pipeline() as pipe:
        rqcompat.count_jobs(worker, pipe, successful=3, failed=2)
        pipe.execute()
    found = Worker.find_by_key(worker.key, connection=queue.connection, serializer=SERIALIZER)
    assert (found.successful_job_count, found.failed_job_count) == (3, 2)


def test_a_lost_registration_is_noticed_and_written_back_as_rq_reads_it(redis_conn, queue):
    worker = rq_worker(queue, "worker-a")
    worker.set_state("busy")
    assert rqcompat.heartbeat_recreated(worker) is False
    registered = redis_conn.hgetall(worker.key)
    redis_conn.flushall()  # a Redis restart without persistence
    assert rqcompat.heartbeat_recreated(worker) is True
    rqcompat.register_again(worker)
    assert set(redis_conn.hgetall(worker.key)) == set(registered)
    [found] = Worker.all(queue=queue, serializer=SERIALIZER)
    assert (found.name, found.pid, found.hostname, found.queue_names(), found.get_state()) == (
        worker.name,
        worker.pid,
        worker.hostname,
        [queue.name],
        "busy",
    )
    assert found.birth_date == worker.birth_date
    assert redis_conn.ttl(worker.key) > worker.worker_ttl


# ---- what the reaper reads ---------------------------------------------------------------------


def test_reaper_reads_rqs_started_records_and_hands_them_to_rqs_retry(redis_conn, queue):
    worker = rq_worker(queue, "worker-a")
    enqueue(queue, retry=Retry(max=1))
    job = rq_starts(worker, queue)
    registry = queue.started_job_registry
    [entry] = rqcompat.started_entries(registry)
    assert registry.get_job_and_execution_ids(cleanup=False) == [(job.id, worker.execution.id)]
    assert (entry.entry, entry.job_id, entry.worker_name) == (worker.execution.composite_key, job.id, "worker-a")
    assert entry.problem is None and rqcompat.started_entries(registry, expired=True) == []  # its lease runs
    assert rqcompat.worker_pid_and_host(redis_conn, "worker-a") == (worker.pid, worker.hostname)
    assert rqcompat.worker_pid_and_host(redis_conn, "worker-gone") == (None, None)
    assert rqcompat.expire_now(registry, [entry], by="test") == [job.id]
    job.refresh()
    assert job.get_status() == JobStatus.QUEUED and job.retries_left == 0, (
        f"rq {RQ_VERSION}'s abandoned-job handling did not retry what rqcompat.expire_now handed it"
    )
    assert job.id not in registry


def test_started_entries_past_their_lease_are_the_ones_rqs_cleanup_fetches(redis_conn, queue):
    worker = rq_worker(queue, "worker-a")
    enqueue(queue)
    rq_starts(worker, queue)
    registry = queue.started_job_registry
    redis_conn.zadd(registry.key, {worker.execution.composite_key: 1}, xx=True)  # its lease ran out long ago
    [entry] = rqcompat.started_entries(registry, expired=True)
    assert [entry.job_id] == registry.get_expired_job_ids(), (
        f"rq {RQ_VERSION}'s StartedJobRegistry.cleanup fetches other entries than "
        "rqcompat.set_aside_unreadable_started reads first"
    )


def test_fail_abandoned_fails_as_rqs_cleanup_does_with_wagws_message(redis_conn, queue):
    worker = rq_worker(queue, "worker-a")
    enqueue(queue, retry=Retry(max=2))
    job = rq_starts(worker, queue)
    registry = queue.started_job_registry
    [entry] = rqcompat.started_entries(registry)
    rqcompat.fail_abandoned(registry, entry.entry, job, "workers.wa.OutcomeUnknown: outcome unknown: x")
    job.refresh()
    assert job.get_status() == JobStatus.FAILED and job.retries_left == 2
    assert job.latest_result().exc_string == "workers.wa.OutcomeUnknown: outcome unknown: x"
    assert job.id in queue.failed_job_registry and job.id not in registry


# ---- results -----------------------------------------------------------------------------------


def test_results_after_reads_the_results_rq_wrote(redis_conn, queue):
    enqueue(queue)
    job = rq_runs(rq_worker(queue, "worker-a"), queue)
    [(stream_id, result)] = rqcompat.results_after(redis_conn, job.id, "0-0", 1)
    assert result == job.latest_result() and stream_id == result.id
    assert (result.type, result.return_value) == (result.Type.SUCCESSFUL, {"doubled": 42})
    assert rqcompat.results_after(redis_conn, job.id, stream_id, 1) == []


# ---- a batch in one script (the webhook worker) ------------------------------------------------


def rqcompat_starts_many(queue: Queue, worker_name: str, count: int, reads=()) -> tuple[list[Job], list, list]:
    """The webhook worker's path up to a batch being started, in one script."""
    taken = rqcompat.IntermediateList(queue)
    job_ids = taken.take(count, worker_name)
    jobs = rqcompat.SharedRegistriesJob.fetch_many(job_ids, queue.connection, serializer=SERIALIZER)
    scripts = rqcompat.BatchScripts(queue.connection)
    executions, read = rqcompat.start_many(scripts, taken, jobs, worker_name, LEASE, reads)
    return jobs, executions, read


def test_start_many_writes_what_rqs_worker_writes_and_reads_in_the_same_step(redis_conn, queue):
    worker = rq_worker(queue, "worker-a")
    enqueue(queue)
    reference = rq_starts(worker, queue)
    enqueue(queue)
    enqueue(queue)
    redis_conn.set("marker", "x")
    redis_conn.set("counter", 3)
    redis_conn.hset("not-a-string", "f", "v")
    reads = [("marker", "counter"), ("absent", "not-a-string")]
    started = queue.started_job_registry
    jobs, executions, read = rqcompat_starts_many(queue, "worker-a", 2, reads)
    assert read == [(True, b"3"), (False, None)]
    for ours, execution in zip(jobs, executions, strict=True):
        assert_same_public_view(ours, reference)
        assert_same_hash(ours, reference)
        assert ours.get_executions() == [execution]
        stored = Job.fetch(ours.id, connection=redis_conn, serializer=SERIALIZER)
        assert stored.started_at == ours.started_at and ours.get_status(refresh=False) == JobStatus.STARTED
        [theirs] = reference.get_executions()
        assert set(redis_conn.hgetall(execution.key)) == set(redis_conn.hgetall(theirs.key))
        # The lease is the caller's (rq's worker takes its heartbeat TTL): what Execution.create
        # writes for it, on the execution, its job's executions and the started registry.
        assert LEASE - 2 <= redis_conn.ttl(execution.key) <= LEASE
        assert LEASE + 58 <= redis_conn.ttl(f"rq:executions:{ours.id}") <= LEASE + 60
        expected = current_timestamp() + LEASE
        [(_, score)] = redis_conn.zrange(f"rq:executions:{ours.id}", 0, -1, withscores=True)
        assert abs(score - (expected + 60)) <= 2
        assert abs(redis_conn.zscore(started.key, execution.composite_key) - expected) <= 2
    assert redis_conn.hlen(keys.TAKERS.format(queue=queue.name)) == 0
    assert queue.intermediate_queue.get_job_ids() == []


def test_finish_many_writes_what_rqs_worker_writes(queue):
    worker = rq_worker(queue, "worker-a")
    enqueue(queue)
    reference = rq_runs(worker, queue)
    enqueue(queue)
    enqueue(queue)
    jobs, executions, _ = rqcompat_starts_many(queue, "worker-a", 2)
    for job in jobs:
        job.ended_at = rqcompat.now()
    with queue.connection.pipeline() as pipe:
        finished = [(job, execution, double(21), None) for job, execution in zip(jobs, executions, strict=True)]
        rqcompat.finish_many(rqcompat.BatchScripts(queue.connection), pipe, finished, RESULT_TTL, "worker-a")
        pipe.execute()
    registry = queue.finished_job_registry
    for ours in jobs:
        assert_same_public_view(ours, reference)
        assert_same_hash(ours, reference)
        assert abs(registry.get_expiration_time(ours) - registry.get_expiration_time(reference)) < timedelta(seconds=5)
        mine, theirs = ours.latest_result(), reference.latest_result()
        assert mine.return_value == theirs.return_value == {"doubled": 42}
        assert mine.type == theirs.type and mine.worker_name == theirs.worker_name
        assert mine.execution_id == executions[jobs.index(ours)].id
        ttls = [queue.connection.ttl(result.get_key(job.id)) for result, job in ((mine, ours), (theirs, reference))]
        assert abs(ttls[0] - ttls[1]) <= 2
    assert queue.started_job_registry.count == 0


def test_finish_many_writes_each_jobs_mark_with_it_and_nothing_for_a_job_without(redis_conn, queue):
    enqueue(queue)
    enqueue(queue)
    jobs, executions, _ = rqcompat_starts_many(queue, "worker-a", 2)
    redis_conn.set("counter-0", 2)
    redis_conn.set("counter-1", 5)
    marks = [rqcompat.Mark("marker-0", 300, "counter-0"), None]
    with queue.connection.pipeline() as pipe:
        finished = [(job, ex, double(21), mark) for job, ex, mark in zip(jobs, executions, marks, strict=True)]
        rqcompat.finish_many(rqcompat.BatchScripts(queue.connection), pipe, finished, RESULT_TTL, "worker-a")
        pipe.execute()
    assert redis_conn.get("marker-0") == jobs[0].id.encode()
    assert 290 <= redis_conn.ttl("marker-0") <= 300
    assert redis_conn.get("counter-0") is None
    assert redis_conn.get("counter-1") == b"5"  # the job without a mark touched nothing of it
    assert redis_conn.keys("marker-*") == [b"marker-0"]
    assert [job.get_status(refresh=True) for job in jobs] == [JobStatus.FINISHED, JobStatus.FINISHED]


# ---- one job's success in one script (the wa worker) ----------------------------------------


def rq_started_and_ended(worker: SimpleWorker, queue: Queue) -> Job:
    """rq's worker path for the job at the front of the queue, up to handle_job_success."""
    job = rq_starts(worker, queue)
    job.started_at = rqcompat.now()
    job._result = job.perform()
    worker.handle_execution_ended(job, queue, LEASE)
    job._status = JobStatus.FINISHED
    return job


def test_succeed_alone_writes_what_rqs_worker_writes(redis_conn, queue):
    worker = rq_worker(queue, "worker-a")
    enqueue(queue)
    reference = rq_runs(worker, queue)
    counted = redis_conn.hgetall(worker.key)
    enqueue(queue)
    job = rq_started_and_ended(worker, queue)
    execution = worker.execution
    assert rqcompat.succeed_alone(job, execution, worker, job.get_result_ttl(worker.default_result_ttl)) == []
    assert_same_public_view(job, reference)
    assert_same_hash(job, reference)
    registry = queue.finished_job_registry
    assert abs(registry.get_expiration_time(job) - registry.get_expiration_time(reference)) < timedelta(seconds=5)
    mine, theirs = job.latest_result(), reference.latest_result()
    assert mine.return_value == theirs.return_value == {"doubled": 42}
    assert (mine.type, mine.worker_name, mine.execution_id) == (theirs.type, theirs.worker_name, execution.id)
    assert abs(mine.execution_started_at - execution.created_at) < timedelta(seconds=1)
    ttls = [redis_conn.ttl(result.get_key(j.id)) for result, j in ((mine, job), (theirs, reference))]
    assert abs(ttls[0] - ttls[1]) <= 2
    assert queue.started_job_registry.count == 0
    assert redis_conn.exists(f"rq:execution:{job.id}:{execution.id}") == 0
    assert job.get_executions() == []
    after = redis_conn.hgetall(worker.key)
    assert int(after[b"successful_job_count"]) == int(counted[b"successful_job_count"]) + 1
    assert float(after[b"total_working_time"]) > float(counted[b"total_working_time"])
    assert b"current_job" not in after


def test_succeed_alone_keeps_a_raised_result_ttl_as_rqs_save_does(redis_conn, queue):
    worker = rq_worker(queue, "worker-a")
    enqueue(queue)
    job = rq_started_and_ended(worker, queue)
    job.result_ttl = 7200  # raised in memory while it ran (the wa-worker's idempotency floor)
    assert rqcompat.succeed_alone(job, worker.execution, worker, job.get_result_ttl(worker.default_result_ttl)) == []
    assert Job.fetch(job.id, connection=redis_conn, serializer=SERIALIZER).result_ttl == 7200
    assert 7000 < redis_conn.ttl(job.key) <= 7200


def test_succeed_alone_writes_nothing_for_a_job_with_dependents_and_rqs_path_enqueues_them(redis_conn, queue):
    worker = rq_worker(queue, "worker-a")
    parent = enqueue(queue)
    child = enqueue(queue, depends_on=parent)
    assert child.get_status() == JobStatus.DEFERRED
    job = rq_started_and_ended(worker, queue)
    before = redis_conn.hgetall(job.key)
    assert rqcompat.succeed_alone(job, worker.execution, worker, RESULT_TTL, [["SET", "wagw:test:after", "1"]]) is None
    assert redis_conn.hgetall(job.key) == before
    assert redis_conn.exists("wagw:test:after") == 0
    assert job.get_status(refresh=True) == JobStatus.STARTED
    worker.handle_job_success(job, queue, queue.started_job_registry)
    assert child.get_status(refresh=True) == JobStatus.QUEUED
    assert child.id in queue.get_job_ids()


def test_succeed_alone_runs_the_callers_commands_and_scripts_in_the_same_step(redis_conn, queue):
    worker = rq_worker(queue, "worker-a")
    enqueue(queue)
    job = rq_started_and_ended(worker, queue)
    with redis_conn.pipeline(transaction=False) as after:
        after.set("wagw:test:plain", "1")
        after.eval("redis.call('SET', KEYS[1], ARGV[1]); return 1", 1, "wagw:test:scripted", job.id)
        twice = "local function twice(v) return v .. v end\nredis.call('SET', KEYS[1], twice(ARGV[1]))"
        after.eval(twice, 1, "wagw:test:two", "ab")
        commands = [args for args, _ in after.command_stack]
    replies = rqcompat.succeed_alone(job, worker.execution, worker, RESULT_TTL, commands)
    assert replies == [b"OK", 1, None]
    assert redis_conn.mget("wagw:test:plain", "wagw:test:scripted", "wagw:test:two") == [b"1", job.id.encode(), b"abab"]
    assert job.get_status(refresh=True) == JobStatus.FINISHED


def test_queue_suspension_check_reads_what_rqs_is_suspended_reads(redis_conn):
    from rq.suspension import is_suspended, resume, suspend

    for change, expected in ((suspend, 1), (resume, 0)):
        change(redis_conn)
        with redis_conn.pipeline(transaction=False) as pipe:
            rqcompat.queue_suspension_check(pipe)
            assert pipe.execute() == [expected]
        assert bool(is_suspended(redis_conn)) == bool(expected)
