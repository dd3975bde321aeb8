"""Per-chat sending order on real wa-workers (docs/jobs.md "Sending order and pacing"): sends to
one chat reach the backend (the fake records each call on wagw:fake:sent as it gets it) in the
order they were enqueued, whatever the number of workers; a retry or a dead worker's send
makes the next one of its chat wait, and its final end lets it go."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from rq import Queue, Retry
from rq.job import Job, JobStatus

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import ALICE, HANG, sent, wait_done
from wagw import keys, sendorder
from wagw.procs import pid_alive
from wagw.redisconn import SERIALIZER
from wagw.scheduler.reaper import reap_orphaned_jobs

FAIL = "fail@s.whatsapp.net"
BOB = "15557654321@s.whatsapp.net"


def texts(conn, to: str) -> list[str]:
    return [r["args"]["text"] for r in sent(conn, "send_text") if r["args"]["to"] == to]


def test_sends_to_one_chat_reach_the_backend_in_enqueue_order_under_three_workers(start_worker, wa_queue, redis_conn):
    workers = [start_worker(slot, ready=False) for slot in (1, 2, 3)]
    for worker in workers:
        wait_for(worker.connected, 20, 0.05, "the wa-workers' hosts to connect")
    chats = [f"1555000{n:04d}@s.whatsapp.net" for n in range(6)]
    jobs = [
        wa_queue.enqueue("workers.wa.send_text", to=chats[i % len(chats)], text=f"m{i // len(chats)}")
        for i in range(60)
    ]
    for job in jobs:
        assert wait_done(job, 60) == JobStatus.FINISHED
    for chat in chats:
        assert texts(redis_conn, chat) == [f"m{n}" for n in range(10)]
    slots = {r["slot"] for r in sent(redis_conn, "send_text")}
    assert len(slots) >= 2, f"the chats went in parallel: {slots}"
    assert redis_conn.zcard(keys.ORDER_PENDING.format(account="default")) == 0  # every take settled
    assert redis_conn.hlen(keys.ORDER_TAKEN.format(account="default")) == 0
    assert redis_conn.hlen(keys.ORDER_JOBS) == 0  # every send left its chat's order
    for worker in workers:
        worker.assert_alive()


def enqueue_at_once(queue: Queue, *calls: dict) -> list[Job]:
    """Enqueue these send_text jobs in one round trip: all are queued before a worker takes any."""
    return queue.enqueue_many(
        [
            Queue.prepare_data(
                "workers.wa.send_text",
                kwargs={"to": call["to"], "text": call["text"]},
                retry=call.get("retry"),
                meta=call.get("meta"),
            )
            for call in calls
        ]
    )


@pytest.fixture
def scheduler(settings_env, data_dir):
    """`wagw scheduler`: rq's scheduled retries, the reaper, and waiting sends let go when due."""
    log = data_dir / "scheduler.log"
    with open(log, "a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wagw", "scheduler"],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    yield proc
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"the scheduler ignored SIGTERM:\n{log.read_text()[-3000:]}") from None


def test_a_send_being_retried_makes_the_next_one_of_its_chat_wait(start_worker, scheduler, wa_queue, redis_conn):
    workers = [start_worker(slot, ready=False) for slot in (1, 2)]
    for worker in workers:
        wait_for(worker.connected, 20, 0.05, "the wa-workers' hosts to connect")
    first, second, other = enqueue_at_once(
        wa_queue,
        {"to": FAIL, "text": "first", "retry": Retry(max=1, interval=1)},
        {"to": FAIL, "text": "second", "meta": {"wagw_defaults": False}},  # no Retry: one attempt
        {"to": ALICE, "text": "elsewhere"},
    )
    assert wait_done(other, 30) == JobStatus.FINISHED
    wait_for(lambda: second.get_status() == JobStatus.DEFERRED, 10, 0.02, "the second to wait for the first")
    assert wait_done(first, 30) == JobStatus.FAILED
    assert wait_done(second, 30) == JobStatus.FAILED
    # Without the order, the second went while the first waited for its retry.
    assert texts(redis_conn, FAIL) == ["first", "first", "second"]


def test_an_opted_out_send_does_not_wait(start_worker, wa_queue, redis_conn):
    start_worker(1)
    first, free, after = enqueue_at_once(
        wa_queue,
        {"to": FAIL, "text": "first", "retry": Retry(max=1, interval=0)},
        {"to": FAIL, "text": "free", "retry": Retry(max=1, interval=0), "meta": {sendorder.IN_ORDER: False}},
        {"to": FAIL, "text": "after", "meta": {"wagw_defaults": False}},  # no Retry: one attempt
    )
    for job in (first, free, after):
        assert wait_done(job, 30) == JobStatus.FAILED
    # rq requeues a retry behind what is queued: "free" went before the first's retry, "after"
    # (in order) waited for the first's last attempt, and "free"'s retry went last.
    assert texts(redis_conn, FAIL) == ["first", "free", "first", "after", "free"]


def test_a_send_whose_worker_was_killed_is_reaped_and_lets_the_next_go(start_worker, wa_queue, redis_conn):
    doomed = start_worker(1)
    first = wa_queue.enqueue("workers.wa.send_text", to=HANG, text="first")
    wait_for(lambda: texts(redis_conn, HANG) == ["first"], 20, 0.02, "the first send to reach the backend")
    second_worker = start_worker(2)
    second = wa_queue.enqueue("workers.wa.send_text", to=HANG, text="second", job_timeout=2)
    # The second waits for its turn off the queue, holding no worker: others' sends go.
    other = wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="elsewhere")
    assert wait_done(other, 20) == JobStatus.FINISHED
    wait_for(lambda: second.get_status() == JobStatus.DEFERRED, 10, 0.02, "the second to wait for its turn")
    second.refresh()
    assert second.meta[sendorder.WAITING_FOR].startswith("its turn in chat")
    assert texts(redis_conn, HANG) == ["first"]

    os.kill(doomed.pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(doomed.pid), 10, what="the killed worker to go")
    wait_for(lambda: reap_orphaned_jobs(redis_conn, ["wa.default", "wa"]) or first.get_status() == JobStatus.FAILED, 20)
    assert wait_done(first, 10) == JobStatus.FAILED
    assert "outcome unknown" in Job.fetch(first.id, redis_conn, serializer=SERIALIZER).latest_result().exc_string
    # Reaped for good: the next send of the chat goes, on the live worker.
    wait_for(lambda: texts(redis_conn, HANG) == ["first", "second"], 20, 0.05, "the second send to go")
    assert [r["slot"] for r in sent(redis_conn, "send_text") if r["args"]["to"] == HANG] == [1, 2]
    assert wait_done(second, 20) == JobStatus.FAILED  # it hangs too, until its timeout
    second_worker.assert_alive()


def test_typing_shows_before_the_send_without_holding_the_worker(start_worker, scheduler, wa_queue, redis_conn):
    start_worker(1)
    typed = wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="hello there", typing=1.5)
    wait_for(lambda: typed.get_status() == JobStatus.DEFERRED, 10, 0.02, "the send to wait while typing shows")
    typed.refresh()
    assert typed.meta[sendorder.WAITING_FOR].startswith("typing shown in chat")
    meanwhile = wa_queue.enqueue("workers.wa.send_text", to=BOB, text="meanwhile")
    assert wait_done(meanwhile, 10) == JobStatus.FINISHED  # the only worker was free
    assert wait_done(typed, 20) == JobStatus.FINISHED
    calls = [(r["op"], r["args"], r["time"]) for r in sent(redis_conn) if ALICE in json.dumps(r["args"])]
    assert [op for op, _, _ in calls] == ["send_chat_presence", "send_text"]
    assert calls[0][1]["state"] == "composing" and "typing" not in calls[1][1]
    assert calls[1][2] - calls[0][2] >= 1.4  # shown for the time asked (the scheduler may add a little)
