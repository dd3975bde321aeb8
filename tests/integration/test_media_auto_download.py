"""WAGW_MEDIA_AUTO_DOWNLOAD between real processes on real Redis: the session's sink stores a
media event (its download job on the wa queue, its sealed deliveries on webhooks), a real
`wagw wa-worker` (fake backend, real native host) downloads, a real `wagw webhook-worker`
and `wagw scheduler` deliver. Every way the download can end, or not end, ends in exactly one
delivery: with the path, or with the URL object and `download_error`."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import RQScheduler

from chaos.polling import wait_for
from tests.integration.webhook_harness import Processes, stock_burst
from wagw import accounts
from wagw.redisconn import SERIALIZER
from wagw.session.sink import EventSink
from wagw.whatsapp import fake_inbound
from workers.webhooks import delivery, media

ME = "15550001111@s.whatsapp.net"
ALICE = "15551234567@s.whatsapp.net"
SECRET = "media-auto-download-secret"


@pytest.fixture
def settings(settings_env, receiver, monkeypatch):
    settings_env.setenv("WAGW_WEBHOOK_URLS", receiver.url)
    settings_env.setenv("WAGW_WEBHOOK_SECRET", SECRET)
    settings_env.setenv("WAGW_MEDIA_AUTO_DOWNLOAD", "true")
    monkeypatch.setattr(delivery, "_context", None)  # a stock worker builds it from the environment
    from wagw.config import Settings

    return Settings(_env_file=None)


@pytest.fixture
def procs(data_dir, settings):
    made = Processes(data_dir, WAGW_LOG_LEVEL="DEBUG")
    yield made
    made.stop_all()
    print(made.logs())


def store(conn, settings, message_id: str, **media) -> str:
    """The session's handler storing one fake media message; returns its download job id."""
    event = fake_inbound.to_event(
        {"type": "message", "id": message_id, "sender": ALICE, "media": {"kind": "image", "caption": "hi", **media}}
    )
    assert event is not None
    EventSink(settings, conn, lambda: ME, account=accounts.find(settings, None))(event)
    [download] = [
        fields[b"download"].decode()
        for _id, fields in conn.xrange("wagw:events")
        if json.loads(fields[b"event"])["payload"]["id"] == message_id
    ]
    return download


def bodies(receiver, message_id: str) -> list[dict]:
    found = [json.loads(r.body) for r in receiver.snapshot() if 200 <= r.status < 300]
    return [b for b in found if b["payload"]["id"] == message_id]


def settled(conn) -> bool:
    queue = Queue("webhooks", connection=conn, serializer=SERIALIZER)
    return (
        queue.count == 0 and ScheduledJobRegistry(queue=queue).count == 0 and StartedJobRegistry(queue=queue).count == 0
    )


def delivered_once(conn, receiver, message_id: str, timeout: float) -> dict:
    wait_for(lambda: bodies(receiver, message_id), timeout, 0.05, f"{message_id} delivered")
    wait_for(lambda: settled(conn), 20, 0.1, "the webhook queue to settle")
    [body] = bodies(receiver, message_id)
    return body["payload"]


def test_a_delivery_waits_for_its_download_without_spending_a_try(settings, procs, receiver, redis_conn, start_worker):
    procs.scheduler()
    procs.worker(1)
    download = store(redis_conn, settings, "3EBINT000001")
    # No wa-worker yet: the delivery is deferred again and again, nothing is sent.
    wait_for(
        lambda: ScheduledJobRegistry("webhooks", connection=redis_conn).count == 1, 10, 0.05, "the delivery deferred"
    )
    assert receiver.snapshot() == []
    start_worker()
    payload = delivered_once(redis_conn, receiver, "3EBINT000001", 30)
    result = Job.fetch(download, connection=redis_conn, serializer=SERIALIZER).return_value()
    assert payload["image"] == {"path": result["path"], "caption": "hi"}
    assert os.path.isfile(result["path"])
    [request] = receiver.snapshot()
    assert request.attempt == 1  # the waits were not attempts


def test_retries_exhausted_deliver_the_url_and_the_error(settings, procs, receiver, redis_conn, start_worker):
    start_worker()
    procs.scheduler()
    procs.worker(1)
    download = store(redis_conn, settings, "3EBINT000002", download="fail")
    payload = delivered_once(redis_conn, receiver, "3EBINT000002", 60)
    job = Job.fetch(download, connection=redis_conn, serializer=SERIALIZER)
    assert job.get_status() == JobStatus.FAILED and job.retries_left == 0
    assert len([r for r in redis_conn.lrange("wagw:fake:sent", 0, -1) if b"download_media" in r]) == 3
    assert payload["image"]["url"].startswith("https://mmg.whatsapp.net/v/t62.fake/fail.enc")
    assert payload["download_error"] == "WhatsApp's library failed the download (BackendError)"


def test_a_download_whose_wa_worker_is_sigkilled_is_failed_by_the_reaper_and_delivered(
    settings, procs, receiver, redis_conn, start_worker
):
    worker = start_worker()
    procs.worker(1)
    download = store(redis_conn, settings, "3EBINT000003", download="hang")
    job = Job.fetch(download, connection=redis_conn, serializer=SERIALIZER)
    wait_for(lambda: job.get_status(refresh=True) == JobStatus.STARTED, 20, 0.05, "the download to hang")
    redis_conn.hset(job.key, "retries_left", 0)  # its last attempt
    os.kill(worker.pid, signal.SIGKILL)
    worker.proc.wait()
    assert bodies(receiver, "3EBINT000003") == []  # nothing went while the download ran
    procs.scheduler()  # its reaper fails the dead worker's job
    payload = delivered_once(redis_conn, receiver, "3EBINT000003", 30)
    assert job.get_status(refresh=True) == JobStatus.FAILED
    assert "AbandonedJobError" in payload["download_error"]
    assert payload["image"]["url"].startswith("https://mmg.whatsapp.net/v/t62.fake/hang.enc")


def test_a_download_job_that_is_gone_or_never_ends_does_not_hold_the_event(settings, procs, receiver, redis_conn):
    gone = store(redis_conn, settings, "3EBINT000004")
    redis_conn.delete(f"rq:job:{gone}")  # its TTL ran out, or someone deleted it
    store(redis_conn, settings, "3EBINT000005")  # no wa-worker will ever take it
    # That second delivery has waited longer than a download can take.
    old = (datetime.now(UTC) - timedelta(seconds=media.patience() + 1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for job_id in redis_conn.lrange("rq:queue:webhooks", 0, -1):
        job = Job.fetch(job_id.decode(), connection=redis_conn, serializer=SERIALIZER)
        if "3EBINT000005" in job.args[2]:
            redis_conn.hset(job.key, "created_at", old)
    procs.scheduler()
    procs.worker(1)
    first = delivered_once(redis_conn, receiver, "3EBINT000004", 20)
    assert "gone" in first["download_error"] and "url" in first["image"]
    second = delivered_once(redis_conn, receiver, "3EBINT000005", 20)
    assert "did not end within" in second["download_error"] and "url" in second["image"]


def test_a_stock_rq_worker_follows_the_download_too(settings, receiver, redis_conn, start_worker):
    download = store(redis_conn, settings, "3EBINT000006")
    queue = Queue("webhooks", connection=redis_conn, serializer=SERIALIZER)
    [delivery_id] = queue.job_ids
    stock_burst(queue)  # the download has not run: RQ reschedules the delivery, no try spent
    job = Job.fetch(delivery_id, connection=redis_conn, serializer=SERIALIZER)
    assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == len(settings.retry_intervals)
    assert receiver.snapshot() == []
    start_worker()
    wait_for(
        lambda: Job.fetch(download, connection=redis_conn, serializer=SERIALIZER).get_status() == JobStatus.FINISHED,
        20,
        0.05,
        "the download",
    )
    scheduler = RQScheduler(["webhooks"], connection=redis_conn, serializer=SERIALIZER)
    scheduler.acquire_locks()
    try:
        wait_for(lambda: scheduler.enqueue_scheduled_jobs() or queue.count, 10, 0.1, "the delivery to come due")
    finally:
        scheduler.release_locks()
    stock_burst(queue)
    [body] = bodies(receiver, "3EBINT000006")
    result = Job.fetch(download, connection=redis_conn, serializer=SERIALIZER).return_value()
    assert body["payload"]["image"] == {"path": result["path"], "caption": "hi"}
    [request] = receiver.snapshot()
    assert request.attempt == 1


def test_the_download_goes_to_the_receiving_accounts_queue(settings_env, receiver, redis_conn):
    settings_env.setenv("WAGW_ACCOUNTS", "alpha,beta")
    settings_env.setenv("WAGW_MEDIA_AUTO_DOWNLOAD", "true")
    settings_env.setenv("WAGW_WEBHOOK_URLS", receiver.url)
    settings_env.setenv("WAGW_WEBHOOK_SECRET", SECRET)
    from wagw.config import Settings
    from wagw.webhooks.endpoints import account_endpoints
    from wagw.webhooks.signing import sealed

    settings = Settings(_env_file=None)
    beta = accounts.find(settings, "beta")
    event = fake_inbound.to_event(
        {"type": "message", "id": "3EBINT000007", "sender": ALICE, "media": {"kind": "audio"}}
    )
    assert event is not None
    EventSink(settings, redis_conn, lambda: ME, account=beta)(event)
    [(_id, fields)] = redis_conn.xrange("wagw:events")
    download = Job.fetch(fields[b"download"].decode(), connection=redis_conn, serializer=SERIALIZER)
    assert download.origin == "wa.beta" and redis_conn.lrange("rq:queue:wa.beta", 0, -1) == [download.id.encode()]
    assert redis_conn.llen("rq:queue:wa") == 0 and redis_conn.llen("rq:queue:wa.alpha") == 0
    queue = Queue("webhooks", connection=redis_conn, serializer=SERIALIZER)
    [delivery_job] = [Job.fetch(i, connection=redis_conn, serializer=SERIALIZER) for i in queue.job_ids]
    [endpoint] = account_endpoints(settings, "beta").values()
    assert delivery_job.args[4] == download.id and sealed(endpoint.seal_key, delivery_job.args)
    [other] = account_endpoints(settings, "alpha").values()
    assert not sealed(other.seal_key, (other.id, *delivery_job.args[1:]))  # not sendable as alpha's
