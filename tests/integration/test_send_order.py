"""Per-chat sending order on real wa-workers (docs/jobs.md "Sending order and pacing"): sends to
one chat reach the backend (the fake records each call on wagw:fake:sent as it gets it) in the
order they were enqueued, whatever the number of workers; a retry or a dead worker's send
makes the next one of its chat wait, and its final end lets it go."""

from __future__ import annotations

import os
import signal

from rq import Retry
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
    workers = [start_worker(slot) for slot in (1, 2, 3)]
    chats = [f"1555000{n:04d}@s.whatsapp.net" for n in range(6)]
    jobs = [
        wa_queue.enqueue("workers.wa.send_text", to=chats[i % len(chats)], text=f"m{i // len(chats)}")
        for i in range(90)
    ]
    for job in jobs:
        assert wait_done(job, 60) == JobStatus.FINISHED
    for chat in chats:
        assert texts(redis_conn, chat) == [f"m{n}" for n in range(15)]
    slots = {r["slot"] for r in sent(redis_conn, "send_text")}
    assert len(slots) >= 2, f"the chats went in parallel: {slots}"
    assert not redis_conn.exists(keys.ORDER_TAKING.format(account="default"))
    assert redis_conn.hlen(keys.ORDER_JOBS) == 0  # every send left its chat's order
    for worker in workers:
        worker.assert_alive()


def test_a_send_being_retried_makes_the_next_one_of_its_chat_wait(start_worker, wa_queue, redis_conn):
    for slot in (1, 2):
        start_worker(slot)
    first = wa_queue.enqueue("workers.wa.send_text", to=FAIL, text="first", retry=Retry(max=2, interval=0))
    second = wa_queue.enqueue("workers.wa.send_text", to=FAIL, text="second", retry=Retry(max=1, interval=0))
    other = wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="elsewhere")
    assert wait_done(second, 30) == JobStatus.FAILED
    assert wait_done(first, 30) == JobStatus.FAILED
    assert wait_done(other, 30) == JobStatus.FINISHED
    # Without the order, the first's retries (requeued behind the second) came after it.
    assert texts(redis_conn, FAIL) == ["first", "first", "first", "second", "second"]


def test_an_opted_out_send_does_not_wait(start_worker, wa_queue, redis_conn):
    start_worker(1)
    first = wa_queue.enqueue("workers.wa.send_text", to=FAIL, text="first", retry=Retry(max=1, interval=0))
    free = wa_queue.enqueue(
        "workers.wa.send_text", to=FAIL, text="free", retry=Retry(max=1, interval=0), meta={sendorder.IN_ORDER: False}
    )
    assert wait_done(first, 30) == JobStatus.FAILED and wait_done(free, 30) == JobStatus.FAILED
    # Each retry went behind the other: in order, "free" would have waited for both of "first"'s.
    assert texts(redis_conn, FAIL) == ["first", "free", "first", "free"]


def test_a_send_whose_worker_was_killed_is_reaped_and_lets_the_next_go(start_worker, wa_queue, redis_conn):
    doomed = start_worker(1)
    first = wa_queue.enqueue("workers.wa.send_text", to=HANG, text="first")
    wait_for(lambda: texts(redis_conn, HANG) == ["first"], 20, 0.02, "the first send to reach the backend")
    second_worker = start_worker(2)
    second = wa_queue.enqueue("workers.wa.send_text", to=HANG, text="second", job_timeout=5)
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
