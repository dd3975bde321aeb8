"""Poison targets and quarantine at worker level: real Go panics engage them, they fail fast
without touching the host, and they lift. The fake backend's `crash` user part panics on any
server, so crash@s.whatsapp.net, crash@lid and crash@newsletter are three distinct targets."""

from __future__ import annotations

from rq import Retry
from rq.job import JobStatus

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import ALICE, CRASH, sent, wait_done
from wagw.quarantine import Target, active_poisons, active_quarantines

SINGLE = {"meta": {"wagw_defaults": False}}  # one attempt each: every crash is counted once
CRASH_LID = "crash@lid"
CRASH_NEWSLETTER = "crash@newsletter"


def failure(job) -> str:
    return job.latest_result().exc_string


def test_a_target_that_keeps_crashing_is_poisoned_and_nobody_else_pays(start_worker, wa_queue, redis_conn):
    # A quarantine threshold the poison target alone would reach: it must not engage.
    worker = start_worker(
        WAGW_POISON_CRASHES="2",
        WAGW_POISON_DURATION="600",
        WAGW_QUARANTINE_CRASHES="2",
        WAGW_QUARANTINE_TARGETS="2",
        WAGW_QUARANTINE_WINDOW="60",
    )
    poisoned = wa_queue.enqueue("workers.wa.fetch_avatar", jid=CRASH, retry=Retry(max=3, interval=0))
    assert wait_done(poisoned, 40) == JobStatus.FAILED
    # Two attempts crashed hosts; the third failed fast naming the target, with the last panic.
    assert len(sent(redis_conn, "fetch_avatar")) == 2
    exc = failure(poisoned)
    target = Target.of(CRASH)
    assert (
        f"wagw.quarantine.PoisonedTarget: poisoned target: fetch_avatar on crash@s.whatsapp.net (target {target.id}) "
        "crashed native hosts 2 times within 60 s" in exc
    )
    assert "last panic:\npanic: runtime error" in exc
    poisoned.refresh()
    assert poisoned.retries_left == 0
    [record] = active_poisons(redis_conn)
    assert (record["operation"], record["target"], record["crashes"]) == ("fetch_avatar", "crash@s.whatsapp.net", 2)
    assert active_quarantines(redis_conn) == []  # one target: the operation carries on
    wait_for(worker.connected, 10, what="the respawned host")
    host = worker.host_pid()

    again = wa_queue.enqueue("workers.wa.fetch_avatar", jid=CRASH, retry=Retry(max=2))
    alice = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
    text = wa_queue.enqueue("workers.wa.send_text", to="+15557654321", text="hello")
    assert wait_done(again) == JobStatus.FAILED and "poisoned target: fetch_avatar" in failure(again)
    again.refresh()
    assert again.retries_left == 0
    assert wait_done(alice) == JobStatus.FINISHED and alice.return_value()["jid"] == ALICE
    assert wait_done(text) == JobStatus.FINISHED
    assert len(sent(redis_conn, "fetch_avatar")) == 3  # the fail-fast never reached a host
    assert worker.host_pid() == host

    # Another operation on the same target keeps its own count: user_info on it still crashes,
    # until it is poisoned for user_info too.
    info = wa_queue.enqueue("workers.wa.user_info", jids=[CRASH], retry=Retry(max=2, interval=0))
    assert wait_done(info, 40) == JobStatus.FAILED and "poisoned target: user_info" in failure(info)
    assert len(sent(redis_conn, "user_info")) == 2
    assert {(p["operation"], p["target"]) for p in active_poisons(redis_conn)} == {
        ("fetch_avatar", "crash@s.whatsapp.net"),
        ("user_info", "crash@s.whatsapp.net"),
    }
    assert active_quarantines(redis_conn) == []


def test_the_fail_fast_never_touches_the_host(start_worker, wa_queue, redis_conn):
    worker = start_worker(WAGW_POISON_CRASHES="1", WAGW_POISON_DURATION="600")
    first = wa_queue.enqueue("workers.wa.fetch_avatar", jid=CRASH, **SINGLE)
    assert wait_done(first) == JobStatus.FAILED and "HostCrashed" in failure(first)
    wait_for(worker.connected, 10, what="the respawned host")
    host = worker.host_pid()
    blocked = [wa_queue.enqueue("workers.wa.fetch_avatar", jid=CRASH, retry=Retry(max=3)) for _ in range(5)]
    for job in blocked:
        assert wait_done(job) == JobStatus.FAILED and "PoisonedTarget: poisoned target" in failure(job)
    assert worker.host_pid() == host and len(sent(redis_conn, "fetch_avatar")) == 1


def test_a_poison_lifts_after_its_duration(start_worker, wa_queue, redis_conn):
    start_worker(WAGW_POISON_CRASHES="1", WAGW_POISON_DURATION="2")
    first = wa_queue.enqueue("workers.wa.group_info", jid="crash@g.us", **SINGLE)
    assert wait_done(first) == JobStatus.FAILED
    blocked = wa_queue.enqueue("workers.wa.group_info", jid="crash@g.us", **SINGLE)
    assert wait_done(blocked) == JobStatus.FAILED and "poisoned target: group_info on crash@g.us" in failure(blocked)
    wait_for(lambda: not active_poisons(redis_conn), 6, 0.1, "the poison to lift")
    # Tried again (and crashes again): the target was not blocked for good.
    retried = wa_queue.enqueue("workers.wa.group_info", jid="crash@g.us", **SINGLE)
    assert wait_done(retried, 30) == JobStatus.FAILED and "HostCrashed" in failure(retried)
    assert len(sent(redis_conn, "group_info")) == 2


def test_quarantine_engages_when_crashes_span_targets_fails_fast_and_lifts(start_worker, wa_queue, redis_conn):
    worker = start_worker(
        WAGW_QUARANTINE_CRASHES="3",
        WAGW_QUARANTINE_TARGETS="3",
        WAGW_QUARANTINE_WINDOW="60",
        WAGW_QUARANTINE_DURATION="3",
        WAGW_POISON_CRASHES="5",
    )
    for target in (CRASH, CRASH_LID):
        crashed = wa_queue.enqueue("workers.wa.fetch_avatar", jid=target, **SINGLE)
        assert wait_done(crashed) == JobStatus.FAILED and "HostCrashed" in failure(crashed)
    assert active_quarantines(redis_conn) == []  # 2 targets so far
    crashed = wa_queue.enqueue("workers.wa.fetch_avatar", jid=CRASH_NEWSLETTER, **SINGLE)
    assert wait_done(crashed) == JobStatus.FAILED
    [active] = active_quarantines(redis_conn)
    assert active["operation"] == "fetch_avatar" and active["crashes"] == 3 and active["targets"] == 3
    assert active["last_panic"].startswith("panic: runtime error")
    wait_for(worker.connected, 10, what="the respawned host")
    host = worker.host_pid()

    # Quarantined: fails at once, no retry, the host is not touched.
    blocked = wa_queue.enqueue("workers.wa.fetch_avatar", jid=CRASH, retry=Retry(max=3))
    normal = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
    other = wa_queue.enqueue("workers.wa.joined_groups")
    for job in (blocked, normal):
        assert wait_done(job) == JobStatus.FAILED
        exc = failure(job)
        assert "Quarantined: fetch_avatar quarantined after repeated native crashes (3 on 3 targets within 60 s)" in exc
        assert "last panic:\npanic: runtime error" in exc
        job.refresh()
        assert job.retries_left == 0
    assert wait_done(other) == JobStatus.FINISHED  # other operations carry on
    assert len(sent(redis_conn, "fetch_avatar")) == 3
    assert worker.host_pid() == host

    wait_for(lambda: not active_quarantines(redis_conn), 6, 0.1, "the quarantine to lift")
    after = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
    assert wait_done(after) == JobStatus.FINISHED and after.return_value()["jid"] == ALICE


def test_a_batch_is_a_target_of_its_own(start_worker, wa_queue, redis_conn):
    """user_info(jids=[…]) cannot tell which address crashed: the batch is the target, so two
    batches around one bad address are two targets (docs/jobs.md)."""
    start_worker(
        WAGW_QUARANTINE_CRASHES="2", WAGW_QUARANTINE_TARGETS="2", WAGW_QUARANTINE_WINDOW="60", WAGW_POISON_CRASHES="5"
    )
    for batch in ([CRASH, ALICE], [CRASH, "15557654321@s.whatsapp.net"]):
        crashed = wa_queue.enqueue("workers.wa.user_info", jids=batch, **SINGLE)
        assert wait_done(crashed) == JobStatus.FAILED and "HostCrashed" in failure(crashed)
    [active] = active_quarantines(redis_conn)
    assert active["operation"] == "user_info" and active["targets"] == 2
