"""Send semantics on a real wa-worker (SPEC "Send semantics"): a send whose request may have
reached WhatsApp is not sent again after a crash or timeout unless the enqueuer asked for it;
a failure before the request left is retried. The fake backend records every call that
reaches it on wagw:fake:sent before acting out a `crash` (a real Go panic) or `hang`."""

from __future__ import annotations

import os
import signal
import time

from rq import Retry
from rq.job import JobStatus

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import ALICE, CRASH, HANG, sent, wait_done
from wagw import keys
from wagw.procs import pid_alive

NO_POISON = {"WAGW_POISON_CRASHES": "10"}  # every attempt reaches the host
RETRY = Retry(max=2, interval=0)


def failure(job) -> str:
    return job.latest_result().exc_string


def test_a_send_that_crashed_after_the_hand_over_fails_outcome_unknown_after_one_attempt(
    start_worker, wa_queue, redis_conn
):
    worker = start_worker(**NO_POISON)
    job = wa_queue.enqueue("workers.wa.send_text", to=CRASH, text="hello once", retry=RETRY)
    assert wait_done(job, 30) == JobStatus.FAILED
    assert len(sent(redis_conn, "send_text")) == 1  # one attempt: never sent again
    job.refresh()
    assert job.retries_left == 0
    exc = failure(job)
    assert "workers.wa.OutcomeUnknown: outcome unknown: send_text to crash@s.whatsapp.net" in exc
    assert "HostCrashed: native host of slot 1" in exc and "died of signal SIGABRT during send_text" in exc
    assert "panic: runtime error" in exc  # the crash's own report comes with it
    wait_for(worker.connected, 10, what="the respawned host")
    after = wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="next")
    assert wait_done(after) == JobStatus.FINISHED


def test_a_lookup_that_crashed_is_retried_as_before(start_worker, wa_queue, redis_conn):
    start_worker(**NO_POISON)
    job = wa_queue.enqueue("workers.wa.fetch_avatar", jid=CRASH, retry=RETRY)
    assert wait_done(job, 40) == JobStatus.FAILED
    assert len(sent(redis_conn, "fetch_avatar")) == 3
    assert "HostCrashed" in failure(job) and "outcome unknown" not in failure(job)


def test_an_enqueuer_that_opted_in_gets_the_send_retried(start_worker, wa_queue, redis_conn):
    start_worker(**NO_POISON)
    job = wa_queue.enqueue(
        "workers.wa.send_text", to=CRASH, text="resend me", retry=RETRY, meta={"resend_on_unknown": True}
    )
    assert wait_done(job, 40) == JobStatus.FAILED
    assert len(sent(redis_conn, "send_text")) == 3
    exc = failure(job)
    assert "HostCrashed" in exc and "outcome unknown" not in exc
    # Anything but JSON true is no opt-in.
    strict = wa_queue.enqueue(
        "workers.wa.send_text", to=CRASH, text="not really", retry=RETRY, meta={"resend_on_unknown": "yes"}
    )
    assert wait_done(strict, 30) == JobStatus.FAILED and "outcome unknown" in failure(strict)
    assert len(sent(redis_conn, "send_text")) == 4


def test_a_send_that_hung_after_the_hand_over_fails_outcome_unknown(start_worker, wa_queue, redis_conn):
    start_worker()
    job = wa_queue.enqueue("workers.wa.send_text", to=HANG, text="slow", job_timeout=3, retry=RETRY)
    assert wait_done(job, 20) == JobStatus.FAILED
    assert len(sent(redis_conn, "send_text")) == 1
    exc = failure(job)
    assert "outcome unknown: send_text to hang@s.whatsapp.net" in exc
    assert "HostTimeout: send_text did not finish within the job timeout" in exc
    job.refresh()
    assert job.retries_left == 0


def test_a_send_whose_host_died_before_the_call_is_retried(start_worker, wa_queue, redis_conn):
    worker = start_worker(**NO_POISON)
    host = worker.host_pid()
    os.kill(host, signal.SIGSTOP)  # the host cannot read the request ...
    job = wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="exactly once", retry=RETRY)
    wait_for(lambda: job.get_status() == JobStatus.STARTED, 10, 0.01, "the send to start")
    time.sleep(0.3)  # the request is on the pipe, unread
    os.kill(host, signal.SIGKILL)  # ... before it dies
    assert wait_done(job, 30) == JobStatus.FINISHED
    job.refresh()
    assert job.retries_left == 1  # the first attempt crashed, the retry sent it
    [record] = sent(redis_conn, "send_text")
    assert record["args"]["text"] == "exactly once"


def test_mark_read_is_not_a_send_and_is_retried(start_worker, wa_queue, redis_conn):
    start_worker(**NO_POISON)
    job = wa_queue.enqueue("workers.wa.mark_read", chat=CRASH, ids=["3EB0AA"], retry=RETRY)
    assert wait_done(job, 40) == JobStatus.FAILED
    assert len(sent(redis_conn, "mark_read")) == 3 and "outcome unknown" not in failure(job)


def _kill_mid_send(worker, redis_conn, job) -> None:
    """SIGKILL the wa-worker while its host hangs in the send (the host dies with it)."""
    host = worker.host_pid()
    wait_for(lambda: sent(redis_conn, "send_text"), 10, what="the send to reach the backend")
    assert job.get_status() == JobStatus.STARTED
    worker.proc.kill()
    worker.proc.wait()
    wait_for(lambda: not pid_alive(host), 5, what="the host to die with its worker (PR_SET_PDEATHSIG)")


def test_a_send_whose_worker_died_mid_call_fails_outcome_unknown(start_worker, wa_queue, redis_conn):
    worker = start_worker()
    job = wa_queue.enqueue("workers.wa.send_text", to=HANG, text="in flight", job_timeout=60, retry=RETRY)
    _kill_mid_send(worker, redis_conn, job)

    start_worker()  # its reaper finds the orphan at start
    assert wait_done(job, 15) == JobStatus.FAILED
    exc = failure(job)
    assert exc.startswith("workers.wa.OutcomeUnknown: outcome unknown: send_text to hang@s.whatsapp.net")
    assert "the wa-worker running it (wa-worker-1) died" in exc
    job.refresh()
    assert job.retries_left == 2  # never handed to its Retry
    assert not wa_queue.started_job_registry.get_job_ids()
    assert not redis_conn.keys(keys.SEND_HANDED.format(job_id="*"))
    time.sleep(0.5)  # deliberate: an absence cannot be polled for; a resend would show by now
    assert len(sent(redis_conn, "send_text")) == 1


def test_an_opted_in_send_whose_worker_died_is_handed_to_its_retry(start_worker, wa_queue, redis_conn):
    worker = start_worker()
    job = wa_queue.enqueue(
        "workers.wa.send_text",
        to=HANG,
        text="resend me",
        job_timeout=60,
        retry=Retry(max=1, interval=30),
        meta={"resend_on_unknown": True},
    )
    _kill_mid_send(worker, redis_conn, job)
    start_worker()
    wait_for(lambda: job.get_status() == JobStatus.SCHEDULED, 10, what="the orphaned send to be rescheduled")
