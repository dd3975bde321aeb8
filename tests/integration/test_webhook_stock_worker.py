"""`workers.webhooks.deliver` under a stock RQ SimpleWorker (what someone running plain
`rq worker webhooks` gets): same signing, same retry classes, jittered backoff through RQ's
own retry machinery, and the failed registry for what cannot succeed."""

from __future__ import annotations

import time

import pytest
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from rq.scheduler import RQScheduler

from chaos.polling import wait_for
from tests.integration.webhook_harness import always, sequence, stock_burst
from wagw.redisconn import SERIALIZER
from wagw.webhooks import enqueue as webhooks
from wagw.webhooks.signing import verify_hub_signature
from workers.webhooks import delivery


@pytest.fixture
def settings(settings_env, receiver, monkeypatch):
    settings_env.setenv("WAGW_WEBHOOK_URLS", receiver.url)
    settings_env.setenv("WAGW_WEBHOOK_SECRET", "stock-worker-secret")
    settings_env.setenv("WAGW_WEBHOOK_RETRY_SCHEDULE", "2,2")
    monkeypatch.setattr(delivery, "_context", None)  # deliver builds it from the environment
    from wagw.config import Settings

    return Settings(_env_file=None)


def enqueue(conn, settings, event_id: str) -> Job:
    with conn.pipeline() as pipe:
        webhooks.enqueue_deliveries(pipe, settings, event_id, "message", '{"event":"message"}')
        pipe.execute()
    [job_id] = [i.decode() for i in conn.lrange("rq:queue:webhooks", 0, -1)]
    return Job.fetch(job_id, connection=conn, serializer=SERIALIZER)


def run_burst(conn) -> None:
    stock_burst(Queue("webhooks", connection=conn, serializer=SERIALIZER))


def test_retryable_failure_is_rescheduled_by_rq_then_delivered(settings, receiver, redis_conn):
    receiver.respond = sequence(503)
    job = enqueue(redis_conn, settings, "ev-stock")
    failed_at = time.time()
    run_burst(redis_conn)

    job.refresh()
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.retries_left == 1 and job.meta["attempts"] == 1 and job.meta["last_status"] == 503
    due = ScheduledJobRegistry("webhooks", connection=redis_conn, serializer=SERIALIZER).get_scheduled_time(job)
    assert due.timestamp() >= failed_at + 2 * 0.75  # the jittered first step, never sooner

    scheduler = RQScheduler(["webhooks"], connection=redis_conn, serializer=SERIALIZER)
    scheduler.acquire_locks()
    try:
        wait_for(
            lambda: scheduler.enqueue_scheduled_jobs() or redis_conn.llen("rq:queue:webhooks"),
            10,
            what="the retry to come due",
        )
    finally:
        scheduler.release_locks()
    run_burst(redis_conn)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    first, second = receiver.for_event("ev-stock")
    assert (first.status, second.status) == (503, 200)
    assert (first.attempt, second.attempt) == (1, 2)
    assert verify_hub_signature(b"stock-worker-secret", second.body, second.headers["x-hub-signature-256"])


def test_non_retryable_failure_fails_at_once(settings, receiver, redis_conn):
    receiver.respond = always(404, body=b"no such hook")
    job = enqueue(redis_conn, settings, "ev-404")
    run_burst(redis_conn)

    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert job.retries_left == 0 and job.meta["attempts"] == 1 and job.meta["last_status"] == 404
    assert job.id in FailedJobRegistry("webhooks", connection=redis_conn)
    assert "no such hook" in job.latest_result().exc_string
    assert len(receiver.snapshot()) == 1


@pytest.mark.parametrize("reference", ["http://127.0.0.1:9/elsewhere", "0123456789abcdef"])
def test_a_job_naming_no_configured_endpoint_fails_at_once_unsent(settings, receiver, redis_conn, reference):
    queue = Queue("webhooks", connection=redis_conn, serializer=SERIALIZER)
    job = queue.enqueue("workers.webhooks.deliver", args=(reference, "ev-forged", "{}", "0" * 32), retry=Retry(max=3))
    run_burst(redis_conn)

    job.refresh()
    assert job.get_status() == JobStatus.FAILED and job.retries_left == 0
    assert f"DeliveryFailed: unknown endpoint {reference!r}" in job.latest_result().exc_string
    assert receiver.snapshot() == []
