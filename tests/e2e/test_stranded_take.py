"""A worker frozen (SIGSTOP) just after Redis handed it a job's id, before it could start the
job: the webhook worker's id is put back on the queue by the scheduler's stranded-job rescue,
and the worker, woken (SIGCONT), must not run the job as well; the wa-worker's, taken with its
taker recorded in the same step, is left to it. A delivery reaches its endpoint once; a send
reaches WhatsApp once."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable

import pytest
from rq import Queue
from rq.job import JobStatus
from rq.serializers import JSONSerializer

from chaos.polling import Timeout, wait_for
from tests.e2e.hook import webhooks_settled
from wagw import devices, keys

pytestmark = pytest.mark.e2e
ALICE = "15551234567@s.whatsapp.net"
SECRET = "e2e-secret-of-sixteen-bytes"
RESCUED = "was stranded between its queue and a stopped worker: requeued"
HELD = "test:held-job"  # where the test sets a job id aside


def freeze_while_handed_one(daemon, pid: int, queue_key: str, intermediate: str, hand: Callable[[], object]):
    """Freeze the worker, make one job (`hand()`), and have Redis move its id into the frozen
    worker's pending blocking take; let the rescue requeue it, then wake the worker. Returns
    what `hand` returned.

    A frozen worker's take is served only while it is still pending in Redis: when the job
    comes later (the session is slow on a loaded machine), its id is set aside, the worker
    woken until it blocks again (an idle worker spends nearly all its time there), frozen,
    and the id handed back."""
    conn = daemon.redis
    os.kill(pid, signal.SIGSTOP)
    try:
        handed = hand()
        wait_for(lambda: conn.llen(intermediate) + conn.llen(queue_key) > 0, 30, 0.02, "the job queued")
        for _ in range(20):
            if conn.llen(intermediate) > 0:
                break
            conn.lmove(queue_key, HELD, "LEFT", "RIGHT")
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.1)  # a fixed moment of running, not a wait for a condition
            os.kill(pid, signal.SIGSTOP)
            conn.lmove(HELD, queue_key, "LEFT", "LEFT")
            try:
                wait_for(lambda: conn.llen(intermediate) > 0, 0.5, 0.01, "the id handed to the frozen worker")
            except Timeout:
                continue
        else:
            pytest.fail("the frozen worker was never handed the id in 20 tries")
        wait_for(lambda: RESCUED in daemon.log_text(), 20, 0.1, "the stranded-job rescue")
        assert conn.llen(intermediate) == 0 and conn.llen(queue_key) == 1
        return handed
    finally:
        os.kill(pid, signal.SIGCONT)


@pytest.mark.timeout(150)
def test_a_webhook_worker_frozen_between_taking_and_starting_a_delivery_does_not_send_it_again(daemon_factory, hook):
    daemon = daemon_factory({"WAGW_WEBHOOK_URLS": hook.url, "WAGW_WEBHOOK_SECRET": SECRET}).start()
    try:
        daemon.wait_settled()
        pid = daemon.child_pid("webhook-worker-1")
        assert pid is not None

        def push(message_id: str) -> str:
            message = {"type": "message", "id": message_id, "sender": ALICE, "text": "hello"}
            daemon.redis.rpush("wagw:fake:inbound", json.dumps(message))
            return message_id

        push("WARMUP")
        wait_for(lambda: hook.messages("WARMUP"), 30, 0.05, "a first delivery")
        message_id = freeze_while_handed_one(
            daemon, pid, "rq:queue:webhooks", "rq:queue:webhooks:intermediate", lambda: push("FROZEN")
        )
        wait_for(lambda: hook.messages(message_id), 30, 0.05, f"{message_id} at the webhook")
        wait_for(lambda: webhooks_settled(daemon), 30, 0.1, "the webhook queue to settle")
        delivered = len(hook.messages(message_id))
        assert delivered == 1, f"delivered {delivered} times\n" + daemon.log_tail(40)
        assert daemon.child_pid("webhook-worker-1") == pid  # frozen, not replaced
    finally:
        assert daemon.stop() == 0


@pytest.mark.timeout(150)
def test_a_wa_worker_frozen_between_taking_and_starting_a_send_does_not_send_it_again(daemon_factory):
    # A wa-worker takes an id and records itself as its taker in one step (the ticketed take,
    # docs/jobs.md "Sending order and pacing"): no blocking take can hand a frozen one an id.
    # It is frozen instead where a taken send waits longest before it starts: showing
    # "typing…" through its native host, frozen too. The rescue must leave a live taker's id.
    daemon = daemon_factory({"WAGW_ACCOUNTS": "alpha,beta"}).start()
    try:
        daemon.wait_settled()
        conn = daemon.redis
        pid = daemon.child_pid("beta/wa-worker-1")
        assert pid is not None
        queue = Queue("wa.beta", connection=conn, serializer=JSONSerializer)

        first = queue.enqueue("workers.wa.send_text", to=ALICE, text="warm-up")
        wait_for(lambda: first.get_status(refresh=True) == JobStatus.FINISHED, 30, 0.1, "a first send")
        host = int(devices.read(conn, "beta/worker-1").get("host_pid") or 0)
        assert host > 0
        os.kill(host, signal.SIGSTOP)
        try:
            job = queue.enqueue("workers.wa.send_text", to=ALICE, text="frozen", typing=1)
            takers = keys.TAKERS.format(queue=queue.name)
            taken = wait_for(lambda: conn.hget(takers, job.id), 30, 0.01, "the send taken")
            os.kill(pid, signal.SIGSTOP)
            try:
                assert conn.lrange(queue.intermediate_queue_key, 0, -1) == [job.id.encode()]
                assert job.get_status(refresh=True) == JobStatus.QUEUED  # taken, not started
                # An id stranded beside it by a taker that is gone: its rescue shows the rescue
                # has looked at the frozen worker's id, as long after its take, too.
                gone = queue.enqueue("workers.wa.joined_groups")
                conn.lrem(queue.key, 1, gone.id)
                conn.rpush(queue.intermediate_queue_key, gone.id)
                conn.hset(takers, gone.id, "gone-worker.1")
                wait_for(lambda: f"{gone.id} {RESCUED}" in daemon.log_text(), 30, 0.1, "the stranded-job rescue")
                assert conn.lrange(queue.intermediate_queue_key, 0, -1) == [job.id.encode()]
                assert conn.hget(takers, job.id) == taken and conn.lpos(queue.key, job.id) is None
            finally:
                os.kill(pid, signal.SIGCONT)
        finally:
            os.kill(host, signal.SIGCONT)
        wait_for(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, 60, 0.1, "the send after the wake-up")
        wait_for(lambda: gone.get_status(refresh=True) == JobStatus.FINISHED, 30, 0.1, "the rescued job")
        wait_for(lambda: queue.count == 0 and queue.started_job_registry.count == 0, 10, 0.1, "wa.beta to settle")
        records = [json.loads(raw) for raw in conn.lrange("wagw:fake:sent", 0, -1)]
        sent = [r for r in records if r["op"] == "send_text" and r["args"]["text"] == "frozen"]
        assert len(sent) == 1, f"sent {len(sent)} times\n" + daemon.log_tail(40)
        assert daemon.child_pid("beta/wa-worker-1") == pid
    finally:
        assert daemon.stop() == 0
