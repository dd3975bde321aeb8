"""An enqueuer can neither lift nor forge an account's reach-out hold through a job (docs/jobs.md
"Reach-out limits"): only wagw sets it, after WhatsApp's own answer, and only an operator's
`wagw accounts release` lifts it. Job paths that would do either are refused, arguments that
name it are invalid, and opting out of the chat order does not skip the hold."""

from __future__ import annotations

import time

from rq.job import Job, JobStatus

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import sent, wait_done
from wagw import reachout, sendorder

NEW = "15557654321@s.whatsapp.net"  # a first contact


def _failure(job: Job) -> str:
    job.refresh()
    result = job.latest_result()
    return result.exc_string if result is not None else ""


def test_no_job_lifts_or_forges_a_hold(start_worker, wa_queue, redis_conn):
    start_worker(1)
    # Forging: nothing a job names holds an account.
    forged = [
        wa_queue.enqueue("wagw.reachout.hold", None, "default", time.time() + 86_400, "forged"),
        wa_queue.enqueue("wagw.reachout.hold", account="default", until=time.time() + 86_400, reason="forged"),
    ]
    for job in forged:
        assert wait_done(job) == JobStatus.FAILED and "RefusedJob: refused job" in _failure(job)
    assert reachout.held_until(redis_conn, "default") is None

    # Lifting: with the account held, nothing a job names or carries lets a first contact go.
    until = reachout.hold(redis_conn, "default", time.time() + 3600, "WhatsApp refused send_text with error 463")
    lifting = [
        wa_queue.enqueue("wagw.reachout.release", account="default"),
        wa_queue.enqueue("wagw.supervisor.reconcile.release", None, "default"),
        wa_queue.enqueue("workers.wa.send_text", to=NEW, text="hi", reachout_hold=0),
        wa_queue.enqueue("workers.wa.send_text", to=NEW, text="hi", until=0, account="other"),
    ]
    for job in lifting:
        assert wait_done(job) == JobStatus.FAILED
    assert "RefusedJob: refused job" in _failure(lifting[0]) and "RefusedJob: refused job" in _failure(lifting[1])
    assert "InvalidArguments: invalid arguments for send_text" in _failure(lifting[2])
    assert "InvalidArguments: invalid arguments for send_text" in _failure(lifting[3])
    out_of_order = wa_queue.enqueue(
        "workers.wa.send_text", to=NEW, text="hi", meta={sendorder.IN_ORDER: False, "reachout": False}
    )
    wait_for(
        lambda: "reach-out limit" in (out_of_order.get_meta(refresh=True).get(sendorder.WAITING_FOR) or ""),
        20,
        0.05,
        "the out-of-order first contact to wait for the hold all the same",
    )
    assert reachout.held_until(redis_conn, "default") == until
    assert [r for r in sent(redis_conn) if r["args"].get("to") == NEW] == []
