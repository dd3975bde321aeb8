"""Quarantine at worker level: real Go panics engage it, it fails fast, and it lifts."""

from __future__ import annotations

from rq import Retry
from rq.job import JobStatus

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import ALICE, CRASH, sent, wait_done
from wagw.quarantine import active_quarantines

SINGLE = {"meta": {"wagw_defaults": False}}  # one attempt each: every crash is counted once


def test_quarantine_engages_after_k_crashes_fails_fast_and_lifts_after_q(start_worker, wa_queue, redis_conn):
    worker = start_worker(WAGW_QUARANTINE_CRASHES="2", WAGW_QUARANTINE_WINDOW="60", WAGW_QUARANTINE_DURATION="3")
    for _ in range(2):
        crashed = wa_queue.enqueue("workers.wa.fetch_avatar", jid=CRASH, **SINGLE)
        assert wait_done(crashed) == JobStatus.FAILED
        assert "HostCrashed" in crashed.latest_result().exc_string
    [active] = active_quarantines(redis_conn)
    assert active["operation"] == "fetch_avatar" and active["crashes"] == 2
    assert active["last_panic"].startswith("panic: runtime error")
    wait_for(worker.connected, 10, what="the respawned host")
    host = worker.host_pid()

    # Quarantined: fails at once, no retry, the host is not touched.
    blocked = wa_queue.enqueue("workers.wa.fetch_avatar", jid=CRASH, retry=Retry(max=3))
    normal = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
    other = wa_queue.enqueue("workers.wa.joined_groups")
    for job in (blocked, normal):
        assert wait_done(job) == JobStatus.FAILED
        exc = job.latest_result().exc_string
        assert "Quarantined: fetch_avatar quarantined after repeated native crashes (2 within 60 s)" in exc
        assert "last panic:\npanic: runtime error" in exc
        job.refresh()
        assert job.retries_left == 0
    assert wait_done(other) == JobStatus.FINISHED  # other operations carry on
    assert len(sent(redis_conn, "fetch_avatar")) == 2
    assert worker.host_pid() == host

    wait_for(lambda: not active_quarantines(redis_conn), 6, 0.1, "the quarantine to lift")
    after = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
    assert wait_done(after) == JobStatus.FINISHED and after.return_value()["jid"] == ALICE
