"""Ids that are not readable jobs, pushed onto every queue wagw serves, against real workers,
the real scheduler and the test Redis: each goes to its queue's dead-letter list with its
reason, the job behind them runs, no worker dies, and the stranded-job rescue never puts one
back (rq's own dequeue ends a worker on such an id, and the rescue used to requeue it for the
next one: a crash loop)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue, Retry, SimpleWorker
from rq.job import JobStatus

from chaos.polling import wait_for
from tests.integration.bad_ids import (
    assert_undecodable_jobs_failed,
    dead_letter_counts,
    on_queues,
    push_bad_ids,
    wait_dead_lettered,
    write_bad_jobs,
    write_bad_started,
)
from tests.integration.wa_worker_harness import wait_done
from tests.integration.webhook_harness import Processes, Receiver
from wagw import keys, rqcompat
from wagw.redisconn import SERIALIZER
from wagw.scheduler.reaper import REAPER, STRANDED_AFTER, StrandedJobs
from wagw.webhooks.enqueue import enqueue_deliveries

DEAD_TAKER = "gone-worker.1"  # no worker hash under this name: the rescue treats it as dead


@pytest.fixture
def procs(settings_env, data_dir, redis_conn):
    procs = Processes(data_dir, WAGW_LOG_LEVEL="INFO")
    yield procs
    procs.stop_all()


def strand(conn, queue: str, tag: str, taker: str | None = DEAD_TAKER) -> dict[bytes, str]:
    """Bad ids parked in the queue's intermediate list, as a worker that died between taking
    them and setting them aside (or an older wagw's crash loop) leaves them."""
    bad = write_bad_jobs(conn, queue, tag)
    conn.rpush(f"rq:queue:{queue}:intermediate", *bad)
    if taker is not None:
        conn.hset(keys.TAKERS.format(queue=queue), mapping=dict.fromkeys(bad, taker))
    return bad


def test_a_wa_worker_sets_every_bad_id_aside_runs_the_job_behind_them_and_the_rescue_never_requeues_one(
    start_worker, wa_queue, redis_conn, procs
):
    procs.scheduler()
    worker = start_worker()
    pid = worker.pid
    pushed = {"wa": push_bad_ids(redis_conn, "wa", "w"), "wa.default": push_bad_ids(redis_conn, "wa.default", "a")}
    canary = wa_queue.enqueue("workers.wa.joined_groups")
    assert wait_done(canary) == JobStatus.FINISHED
    for queue, bad in pushed.items():
        entries = wait_dead_lettered(redis_conn, queue, bad)
        assert {e["by"] for e in entries} == {f"wa-worker-1.{pid}"}
        assert_undecodable_jobs_failed(redis_conn, bad)
    worker.assert_alive()
    assert worker.pid == pid and worker.status()["worker_pid"] == str(pid)

    # Parked under a worker that died before setting them aside: the rescue sets them aside.
    stranded = strand(redis_conn, "wa", "s")
    entries = wait_dead_lettered(redis_conn, "wa", stranded, timeout=STRANDED_AFTER + 20)
    assert {e["by"] for e in entries} == {StrandedJobs.NAME}
    assert_undecodable_jobs_failed(redis_conn, stranded)
    for queue, bad in pushed.items():
        wait_dead_lettered(redis_conn, queue, bad, timeout=1)  # still there, each still once
        assert on_queues(redis_conn, queue, bad) == set()  # never put back
    assert on_queues(redis_conn, "wa", stranded) == set()
    counts = dead_letter_counts(redis_conn)
    assert counts[("wa", "invalid_id")] == 6 and counts[("wa", "not_json")] == 2
    assert counts[("wa.default", "invalid_id")] == 3 and counts[("wa.default", "pickled")] == 1
    assert sum(counts.values()) == sum(len(bad) for bad in pushed.values()) + len(stranded)

    after = wa_queue.enqueue("workers.wa.joined_groups")
    assert wait_done(after) == JobStatus.FINISHED
    worker.assert_alive()
    assert worker.pid == pid


def test_a_wa_worker_starts_over_bad_ids_left_parked_and_sets_them_aside(start_worker, wa_queue, redis_conn):
    # rq's maintenance at a worker's start fetches every parked id (IntermediateQueue.cleanup).
    left = {"wa": strand(redis_conn, "wa", "l", taker=None), "wa.default": strand(redis_conn, "wa.default", "m")}
    worker = start_worker()
    for queue, bad in left.items():
        entries = wait_dead_lettered(redis_conn, queue, bad)
        assert {e["by"] for e in entries} == {f"wa-worker-1.{worker.pid}"}
    canary = wa_queue.enqueue("workers.wa.joined_groups")
    assert wait_done(canary) == JobStatus.FINISHED
    worker.assert_alive()


def test_a_webhook_worker_sets_every_bad_id_aside_delivers_the_events_behind_them_and_the_rescue_never_requeues_one(
    settings_env, procs, redis_conn
):
    from wagw.config import Settings

    with Receiver() as receiver:
        for name, value in {"WAGW_WEBHOOK_URLS": receiver.url, "WAGW_WEBHOOK_SECRET": "s3cret-s3cret-s3cret"}.items():
            settings_env.setenv(name, value)
            procs.env[name] = value
        settings = Settings(_env_file=None)

        def deliver(event_id: str) -> None:
            with redis_conn.pipeline() as pipe:
                enqueue_deliveries(pipe, settings, event_id, "message", f'{{"id":"{event_id}"}}')
                pipe.execute()
            wait_for(lambda: receiver.delivered()[event_id] == 1, 20, what=f"{event_id} delivered")

        # Left parked before the worker starts: its first maintenance would fetch them.
        left = strand(redis_conn, keys.WEBHOOKS_QUEUE, "l", taker=None)
        worker = procs.worker()
        entries = wait_dead_lettered(redis_conn, keys.WEBHOOKS_QUEUE, left)
        assert {tuple(e["by"].split(".")[:2]) for e in entries} == {("webhook-worker-1", str(worker.pid))}

        procs.scheduler()
        pushed = push_bad_ids(redis_conn, keys.WEBHOOKS_QUEUE, "h")
        deliver("ev-canary")
        entries = wait_dead_lettered(redis_conn, keys.WEBHOOKS_QUEUE, pushed)
        assert {tuple(e["by"].split(".")[:2]) for e in entries} == {("webhook-worker-1", str(worker.pid))}
        assert_undecodable_jobs_failed(redis_conn, pushed)

        stranded = strand(redis_conn, keys.WEBHOOKS_QUEUE, "s")
        entries = wait_dead_lettered(redis_conn, keys.WEBHOOKS_QUEUE, stranded, timeout=STRANDED_AFTER + 20)
        assert {e["by"] for e in entries} == {StrandedJobs.NAME}
        for bad in (left, pushed):
            wait_dead_lettered(redis_conn, keys.WEBHOOKS_QUEUE, bad, timeout=1)  # each still once
        assert on_queues(redis_conn, keys.WEBHOOKS_QUEUE, left | pushed | stranded) == set()
        counts = dead_letter_counts(redis_conn)
        assert counts[("webhooks", "not_a_hash")] == 3 and counts[("webhooks", "id_too_long")] == 3
        assert sum(counts.values()) == len(left) + len(pushed) + len(stranded)

        deliver("ev-after")
        assert worker.poll() is None  # the same process throughout
        assert receiver.delivered() == {"ev-canary": 1, "ev-after": 1}


def start_under_a_garbage_worker(conn, queue_name: str, job) -> None:
    """Record `job` as started by a worker whose hash rq never wrote (its pid is no number), as
    an app can: the reaper takes it for dead and hands the job to its Retry."""
    from rq.executions import Execution

    conn.hset("rq:worker:forged-worker.1", mapping={"pid": "not a pid", "hostname": socket.gethostname()})
    conn.lrem(f"rq:queue:{queue_name}", 1, job.id)
    with conn.pipeline() as pipe:
        job.prepare_for_execution("forged-worker.1", pipe)
        Execution.create(job, ttl=3600, pipeline=pipe, worker_name="forged-worker.1")
        pipe.execute()


def test_bad_started_entries_end_neither_a_wa_worker_start_nor_the_scheduler_and_go_to_the_dead_letter_list(
    start_worker, wa_queue, redis_conn, procs
):
    """An app can write any member into a queue's started registry (rq:wip:<queue>): garbage,
    an execution that is no hash, entries naming no job or a job that cannot be read, whose
    worker is dead. The orphaned-job reaper (at a wa-worker's start, in the scheduler) and rq's
    cleanup in a worker's maintenance (for entries past their lease) raised on each and ended
    the process, at every start again. Each is removed and recorded; the real orphan among them
    goes to its Retry and runs."""
    bad = {
        "wa": write_bad_started(redis_conn, "wa", "r", DEAD_TAKER),
        "wa.default": write_bad_started(redis_conn, "wa.default", "x", DEAD_TAKER, expired=True),
    }
    orphan = wa_queue.enqueue("workers.wa.joined_groups", retry=Retry(max=1))
    start_under_a_garbage_worker(redis_conn, "wa", orphan)
    worker = start_worker()
    by = {REAPER, f"wa-worker-1.{worker.pid}"}
    for queue, entries in bad.items():
        recorded = wait_dead_lettered(redis_conn, queue, entries)
        assert {e["by"] for e in recorded} <= by and {e["registry"] for e in recorded} == {"started"}
        assert_undecodable_jobs_failed(redis_conn, entries)
    assert wait_done(orphan) == JobStatus.FINISHED
    assert redis_conn.zcard("rq:wip:wa") == redis_conn.zcard("rq:wip:wa.default") == 0
    worker.assert_alive()

    # The scheduler's reaper, every second, and a webhook worker's maintenance at its start.
    bad["webhooks"] = write_bad_started(redis_conn, keys.WEBHOOKS_QUEUE, "h", DEAD_TAKER)
    expired = write_bad_started(redis_conn, keys.WEBHOOKS_QUEUE, "e", DEAD_TAKER, expired=True)
    bad["webhooks"] |= expired
    scheduler, webhook_worker = procs.scheduler(), procs.worker()
    recorded = wait_dead_lettered(redis_conn, keys.WEBHOOKS_QUEUE, bad["webhooks"])
    assert {e["by"].split(".")[0] for e in recorded} <= {REAPER, "webhook-worker-1"}
    assert redis_conn.zcard("rq:wip:webhooks") == 0
    counts = dead_letter_counts(redis_conn)
    assert counts[("webhooks", "not_an_entry")] == 10 and counts[("webhooks", "bad_execution")] == 2
    assert sum(counts.values()) == sum(len(entries) for entries in bad.values())

    later = wa_queue.enqueue("workers.wa.joined_groups")
    assert wait_done(later) == JobStatus.FINISHED
    assert scheduler.poll() is None and webhook_worker.poll() is None
    worker.assert_alive()


def test_the_scheduler_sets_due_bad_ids_of_a_scheduled_registry_aside_and_enqueues_the_rest(
    wa_queue, redis_conn, procs
):
    """rq's scheduler fetches every due id of a scheduled registry at once: one it cannot read
    ended the scheduler, and its restart met the same id (an app can ZADD rq:scheduled:wa)."""
    bad = write_bad_jobs(redis_conn, "wa", "s")
    redis_conn.zadd("rq:scheduled:wa", dict.fromkeys(bad, 1))  # due long ago
    canary = wa_queue.enqueue_at(datetime.now(UTC) - timedelta(seconds=1), "workers.wa.joined_groups")
    scheduler = procs.scheduler()
    wait_for(lambda: canary.id.encode() in redis_conn.lrange("rq:queue:wa", 0, -1), 20, 0.05, "the canary enqueued")
    entries = wait_dead_lettered(redis_conn, "wa", bad)
    assert {entry["registry"] for entry in entries} == {"scheduled"}
    assert redis_conn.zcard("rq:scheduled:wa") == 0
    assert scheduler.poll() is None, procs.logs()
    assert_undecodable_jobs_failed(redis_conn, bad)


class _Worker(rqcompat.SetsAsideUnreadable, SimpleWorker):
    pass


@pytest.mark.parametrize("races", [1, rqcompat.SetsAsideUnreadable.CLEAN_TRIES])
def test_unreadable_started_entries_written_during_a_workers_maintenance_never_end_it(
    races, redis_conn, monkeypatch, log_lines
):
    """An app can write unreadable entries between the worker's set-aside and rq's read of the
    registry. The worker sets them aside and cleans again; an app that wins the race at every
    try leaves the cleanup to the next maintenance, with a warning, and the worker carries on."""
    real_clean = rqcompat.clean_registries
    written: dict[bytes, str] = {}
    calls = []

    def clean_after_a_write(queue, exception_handlers=None):
        calls.append(queue.name)
        if queue.name == "wa" and len(calls) <= races:
            written.update(write_bad_started(redis_conn, "wa", f"race{len(calls)}", DEAD_TAKER, expired=True))
        return real_clean(queue, exception_handlers)

    monkeypatch.setattr(rqcompat, "clean_registries", clean_after_a_write)
    worker = _Worker([Queue("wa", connection=redis_conn, serializer=SERIALIZER)], connection=redis_conn)
    worker.clean_registries()

    assert calls == ["wa"] * min(races + 1, rqcompat.SetsAsideUnreadable.CLEAN_TRIES)
    wait_dead_lettered(redis_conn, "wa", written)
    assert redis_conn.zcard("rq:wip:wa") == 0
    assert not redis_conn.exists(Queue("wa", connection=redis_conn).registry_cleaning_key)  # lock released
    gave_up = [line for line in log_lines if "registries not cleaned" in line]
    assert len(gave_up) == (races == rqcompat.SetsAsideUnreadable.CLEAN_TRIES)


def test_a_maintenance_failure_with_nothing_unreadable_behind_it_is_raised(redis_conn, monkeypatch):
    """Only a forged entry's failure is retried: any other is a bug to see, not to swallow."""

    def broken(queue, exception_handlers=None):
        raise RuntimeError("a bug in the cleanup")

    monkeypatch.setattr(rqcompat, "clean_registries", broken)
    worker = _Worker([Queue("wa", connection=redis_conn, serializer=SERIALIZER)], connection=redis_conn)
    with pytest.raises(RuntimeError, match="a bug in the cleanup"):
        worker.clean_registries()
    assert not redis_conn.exists(Queue("wa", connection=redis_conn).registry_cleaning_key)
