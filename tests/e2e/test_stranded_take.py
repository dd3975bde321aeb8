"""A worker frozen (SIGSTOP) just after Redis handed it a job's id, before it could start the
job: the scheduler's stranded-job rescue puts the id back on the queue, and the worker, woken
(SIGCONT), must not run the job as well. A delivery reaches its endpoint once; a send reaches
WhatsApp once."""

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
    # The second account's wa-worker serves one queue, so rq's dequeue parks ids in its
    # intermediate list (a worker of several queues pops them, with nothing parked).
    daemon = daemon_factory({"WAGW_ACCOUNTS": "alpha,beta"}).start()
    try:
        daemon.wait_settled()
        pid = daemon.child_pid("beta/wa-worker-1")
        assert pid is not None
        queue = Queue("wa.beta", connection=daemon.redis, serializer=JSONSerializer)

        def send(text: str):
            return queue.enqueue("workers.wa.send_text", to=ALICE, text=text)

        first = send("warm-up")
        wait_for(lambda: first.get_status(refresh=True) == JobStatus.FINISHED, 30, 0.1, "a first send")
        job = freeze_while_handed_one(daemon, pid, queue.key, queue.intermediate_queue_key, lambda: send("frozen"))
        wait_for(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, 30, 0.1, "the send after the wake-up")
        wait_for(lambda: queue.count == 0 and queue.started_job_registry.count == 0, 10, 0.1, "wa.beta to settle")
        records = [json.loads(raw) for raw in daemon.redis.lrange("wagw:fake:sent", 0, -1)]
        sent = [r for r in records if r["op"] == "send_text" and r["args"]["text"] == job.kwargs["text"]]
        assert len(sent) == 1, f"sent {len(sent)} times\n" + daemon.log_tail(40)
        assert daemon.child_pid("beta/wa-worker-1") == pid
    finally:
        assert daemon.stop() == 0
