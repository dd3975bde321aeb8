"""A zlib bomb in a job's data. rq stores a job's data zlib-compressed and inflated it whole
whenever a process read the job, before any size check (WAGW_MAX_JOB_BYTES counts the stored
bytes): an app with Redis access wrote a job of about a megabyte that inflates to a gibibyte
(deflate gives at most 1,032 bytes per byte, so that is as small as such a bomb gets) and
pushed its id. Now the worker that takes the id counts the output a chunk at a time, stops at
the cap (Settings.job_data_cap, 24 MiB here) and moves the id to the dead-letter list
(too_large); every read of rq's own (the scheduler enqueueing a scheduled job) refuses to
inflate past it. Measured on the real processes: their peak resident memory (VmHWM)."""

from __future__ import annotations

import time

import pytest
from rq import Queue
from rq.job import JobStatus

from chaos.polling import wait_for
from tests.integration.bad_ids import dead_letters, wait_dead_lettered
from tests.integration.wa_worker_harness import wait_done
from tests.integration.webhook_harness import Processes
from tests.unit.test_rqcompat import zlib_bomb
from wagw import keys
from wagw.config import MIN_JOB_DATA_CAP
from wagw.redisconn import SERIALIZER

INFLATED = 1 << 30
# What the bomb may add to a process's peak: far below what it inflates to, and below the cap.
GREW_AT_MOST_KIB = MIN_JOB_DATA_CAP // 1024


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = zlib_bomb(INFLATED)
    assert len(data) < 1_100_000  # stored: about a megabyte, far under WAGW_MAX_JOB_BYTES
    return data


def peak_kib(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def write_bomb(conn, queue: str, job_id: str, data: bytes) -> None:
    fields = {"status": "queued", "origin": queue, "created_at": "2026-01-01T00:00:00.000000Z"}
    conn.hset(f"rq:job:{job_id}", mapping={**fields, "data": data})


@pytest.fixture
def procs(settings_env, data_dir, redis_conn):
    procs = Processes(data_dir, WAGW_LOG_LEVEL="INFO")
    yield procs
    procs.stop_all()


def test_a_wa_worker_sets_a_bomb_aside_and_the_scheduler_never_inflates_one(
    start_worker, wa_queue, redis_conn, procs, bomb
):
    worker = start_worker()
    scheduler = procs.scheduler()
    assert wait_done(wa_queue.enqueue("workers.wa.joined_groups")) == JobStatus.FINISHED  # warm
    wait_for(lambda: redis_conn.exists("rq:scheduler-lock:wa"), 20, what="the scheduler to take its locks")
    before = {"wa-worker": peak_kib(worker.pid), "scheduler": peak_kib(scheduler.pid)}

    write_bomb(redis_conn, "wa", "bomb-wa", bomb)
    redis_conn.rpush("rq:queue:wa", "bomb-wa")
    # A scheduled one, due in a moment: the scheduler fetches it (rq's own read) and enqueues it
    # when due. (Added already due, it could land between the set-aside pass and rq's.)
    write_bomb(redis_conn, "wa", "bomb-scheduled", bomb)
    redis_conn.zadd("rq:scheduled:wa", {"bomb-scheduled": time.time() + 2})

    [entry] = wait_dead_lettered(redis_conn, "wa", {b"bomb-wa": "too_large"})
    assert entry["by"] == f"wa-worker-1.{worker.pid}" and entry["bytes"] == len("bomb-wa")
    # The scheduler reads due ids before rq's pass does, and sets the bomb aside uninflated.
    wait_for(
        lambda: any(e["id"] == "bomb-scheduled" for e in dead_letters(redis_conn, "wa")), 20, what="the scheduled bomb"
    )
    scheduled = {e["id"]: e for e in dead_letters(redis_conn, "wa")}["bomb-scheduled"]
    assert (scheduled["reason"], scheduled["registry"], scheduled["by"]) == ("too_large", "scheduled", "scheduler")
    assert wait_done(wa_queue.enqueue("workers.wa.joined_groups")) == JobStatus.FINISHED
    worker.assert_alive()
    assert scheduler.poll() is None
    grew = {"wa-worker": peak_kib(worker.pid), "scheduler": peak_kib(scheduler.pid)}
    grew = {name: kib - before[name] for name, kib in grew.items()}
    print(f"peak grew by {grew} KiB for a {INFLATED >> 20} MiB bomb of {len(bomb)} bytes")
    assert all(kib < GREW_AT_MOST_KIB for kib in grew.values()), f"peak grew by {grew} KiB"
    assert redis_conn.hexists("rq:job:bomb-wa", "data")  # left as it was, for whoever looks


def test_a_webhook_worker_sets_a_bomb_aside_with_bounded_memory(settings_env, procs, redis_conn, bomb):
    # An endpoint, so that the worker takes deliveries (nothing is delivered here).
    procs.env.update(WAGW_WEBHOOK_URLS="http://127.0.0.1:9/hook", WAGW_WEBHOOK_SECRET="s3cret-s3cret-s3cret")
    worker = procs.worker()
    wait_for(lambda: any(redis_conn.smembers("rq:workers:webhooks")), 20, what="the webhook worker to register")
    before = peak_kib(worker.pid)
    write_bomb(redis_conn, keys.WEBHOOKS_QUEUE, "bomb-hook", bomb)
    redis_conn.rpush(f"rq:queue:{keys.WEBHOOKS_QUEUE}", "bomb-hook")
    [entry] = wait_dead_lettered(redis_conn, keys.WEBHOOKS_QUEUE, {b"bomb-hook": "too_large"})
    assert entry["by"].startswith(f"webhook-worker-1.{worker.pid}.")
    assert worker.poll() is None
    grew = peak_kib(worker.pid) - before
    print(f"peak grew by {grew} KiB for a {INFLATED >> 20} MiB bomb of {len(bomb)} bytes")
    assert grew < GREW_AT_MOST_KIB, f"peak grew by {grew} KiB"
    assert Queue(keys.WEBHOOKS_QUEUE, connection=redis_conn, serializer=SERIALIZER).count == 0
