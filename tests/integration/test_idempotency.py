"""Idempotency keys on the real Redis and a real wa-worker on the fake backend (docs/jobs.md
"Idempotency"): one key, one job, one send, whatever enqueued it and whatever died."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from rq import Retry
from rq.job import Job, JobStatus

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import ALICE, sent, wait_done
from wagw import client, idempotency
from wagw.errors import IdempotencyConflict
from wagw.procs import pid_alive
from wagw.redisconn import SERIALIZER

BOB = "15557654321@s.whatsapp.net"


def failure(job: Job) -> str:
    return job.latest_result().exc_string


def test_twenty_concurrent_enqueues_of_one_key_make_one_job_and_one_send(start_worker, redis_conn):
    start_worker()
    barrier = threading.Barrier(20)
    ids: list[str] = []

    def enqueue() -> None:
        barrier.wait(10)
        job = client.enqueue_send_text(
            ALICE, "once", account="default", idempotency_key="order-17", connection=redis_conn
        )
        ids.append(job.id)

    threads = [threading.Thread(target=enqueue) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(ids) == 20 and len(set(ids)) == 1
    job = Job.fetch(ids[0], connection=redis_conn, serializer=SERIALIZER)
    assert wait_done(job) == JobStatus.FINISHED
    # The same call later (an API restart, a retried request) gets that job and its result.
    again = client.send_text(ALICE, "once", account="default", idempotency_key="order-17", connection=redis_conn)
    assert again == job.return_value() and again["to"] == ALICE
    assert [record["args"]["text"] for record in sent(redis_conn, "send_text")] == ["once"]


def test_the_same_key_with_other_arguments_is_a_conflict(start_worker, redis_conn, wa_queue):
    start_worker()
    first = client.enqueue_send_text(ALICE, "hello", account="default", idempotency_key="k1", connection=redis_conn)
    for other in (
        lambda: client.enqueue_send_text(
            ALICE, "hello!", account="default", idempotency_key="k1", connection=redis_conn
        ),
        lambda: client.enqueue_send_text(BOB, "hello", account="default", idempotency_key="k1", connection=redis_conn),
        lambda: client.enqueue_fetch_avatar(ALICE, account="default", idempotency_key="k1", connection=redis_conn),
    ):
        with pytest.raises(IdempotencyConflict, match=f"first used for job {first.id} with other arguments"):
            other()
    # A plain rq enqueuer reusing it for other arguments: the worker fails that job for good.
    plain = wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="other", meta={"idempotency_key": "k1"})
    assert wait_done(first) == JobStatus.FINISHED
    assert wait_done(plain) == JobStatus.FAILED
    assert failure(plain).splitlines()[-1].startswith("wagw.idempotency.IdempotencyConflict: idempotency key conflict")
    plain.refresh()
    assert plain.retries_left == 0  # permanent: never retried
    assert [record["args"]["text"] for record in sent(redis_conn, "send_text")] == ["hello"]


def test_plain_rq_enqueues_with_the_meta_key_are_deduplicated_by_the_worker(start_worker, redis_conn, wa_queue):
    start_worker()
    meta = {"idempotency_key": "invoice-9"}
    first = wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="invoice", meta=meta)
    second = wa_queue.enqueue("workers.wa.send_text", to="+1 555 123 4567", text="invoice", meta=meta)
    assert wait_done(first) == JobStatus.FINISHED
    assert wait_done(second) == JobStatus.FINISHED
    assert second.return_value() == first.return_value()  # the first job's result, not a second message
    assert len(sent(redis_conn, "send_text")) == 1
    # The worker's claim is the account's: the client finds the first job by the key.
    assert client.enqueue_send_text(ALICE, "invoice", idempotency_key="invoice-9", connection=redis_conn).id == first.id
    # A key whose first job failed stands for that failure; a new key sends.
    failing = {"idempotency_key": "to-fail", "wagw_defaults": False}
    failed = wa_queue.enqueue("workers.wa.send_text", to="fail@s.whatsapp.net", text="x", meta=failing)
    assert wait_done(failed) == JobStatus.FAILED
    repeat = wa_queue.enqueue("workers.wa.send_text", to="fail@s.whatsapp.net", text="x", meta=failing)
    assert wait_done(repeat) == JobStatus.FAILED
    assert (
        failure(repeat)
        .splitlines()[-1]
        .startswith(
            f"wagw.idempotency.DuplicateJob: duplicate of job {failed.id} (same idempotency key), which failed: "
            "wagw.backends.base.BackendError"
        )
    )
    assert len(sent(redis_conn, "send_text")) == 2  # the first and the failed one, each once


def test_a_job_retried_after_its_worker_was_killed_keeps_its_claim_and_sends_once(start_worker, redis_conn, wa_queue):
    worker = start_worker(WAGW_POISON_CRASHES="10")
    host = worker.host_pid()
    os.kill(host, signal.SIGSTOP)  # the request will sit unread on the host's pipe
    meta = {"idempotency_key": "retry-me", "resend_on_unknown": True}
    job = wa_queue.enqueue(
        "workers.wa.send_text", to=ALICE, text="exactly once", retry=Retry(max=1, interval=0), meta=meta
    )
    wait_for(lambda: job.get_status() == JobStatus.STARTED, 10, 0.01, "the send to start")
    time.sleep(0.3)  # deliberate: the request is written, unread
    worker.proc.kill()  # the worker dies mid-job; its host with it (PR_SET_PDEATHSIG)
    worker.proc.wait()
    wait_for(lambda: not pid_alive(host), 10, what="the host to die with its worker")
    assert not sent(redis_conn, "send_text")
    duplicate = wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="exactly once", meta=meta)

    start_worker()  # its reaper hands the orphan to its Retry, under the same id
    assert wait_done(job, 30) == JobStatus.FINISHED
    assert wait_done(duplicate, 30) in (JobStatus.FINISHED, JobStatus.FAILED)
    if duplicate.get_status() == JobStatus.FINISHED:  # ran after the retry: took its result
        assert duplicate.return_value() == job.return_value()
    else:  # ran before it: told which job to wait for
        assert f"duplicate of job {job.id} (same idempotency key), which has not ended yet" in failure(duplicate)
    [record] = sent(redis_conn, "send_text")
    assert record["args"]["text"] == "exactly once"
    assert idempotency.Claim.decode(redis_conn.get(idempotency.claim_key("default", "retry-me"))).job_id == job.id
