"""Webhook delivery with real `wagw webhook-worker` and `wagw scheduler` processes, the test
Redis and a real HTTP receiver: retry classes, Retry-After, signatures on the wire, the
failed registry, `wagw webhooks replay` and what `wagw status` shows."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from chaos.polling import wait_for
from tests.integration.webhook_harness import Processes, always, sequence
from wagw import keys
from wagw.redisconn import SERIALIZER
from wagw.webhooks.enqueue import enqueue_deliveries
from wagw.webhooks.replay import failed_deliveries
from wagw.webhooks.signing import verify_hub_signature, verify_wagw_signature

SECRET = "t0p-secret-for-the-tests"
BODY = json.dumps(
    {
        "event": "message",
        "device_id": "15550001111@s.whatsapp.net",
        "id": "{id}",
        "timestamp": "2026-11-29T10:30:00Z",
        "payload": {
            "id": "3EB0C127D7BACC83D6A1",
            "chat_id": "15551234567@s.whatsapp.net",
            "from": "15551234567@s.whatsapp.net",
            "from_name": "Alicé",
            "timestamp": "2026-11-29T10:30:00Z",
            "is_from_me": False,
            "body": "hi 👋",
        },
    },
    ensure_ascii=False,
    separators=(",", ":"),
)


@pytest.fixture
def wagw(settings_env, data_dir, receiver, redis_conn):
    """Environment pointing at the receiver, a short retry schedule, and the processes."""
    settings_env.setenv("WAGW_WEBHOOK_URLS", receiver.url)
    settings_env.setenv("WAGW_WEBHOOK_SECRET", SECRET)
    settings_env.setenv("WAGW_WEBHOOK_RETRY_SCHEDULE", "1,1,1")
    procs = Processes(data_dir)
    yield procs
    procs.stop_all()


def settings_now():
    from wagw.config import Settings

    return Settings(_env_file=None)


def enqueue(conn, event_id: str, name: str = "message") -> list[str]:
    """Store one event's deliveries exactly as the session does (one MULTI/EXEC)."""
    before = set(conn.keys("rq:job:*"))
    with conn.pipeline() as pipe:
        assert enqueue_deliveries(pipe, settings_now(), event_id, name, BODY.replace("{id}", event_id)) == 1
        pipe.execute()
    return [k.decode().removeprefix("rq:job:") for k in set(conn.keys("rq:job:*")) - before]


def job_status(conn, job_id: str) -> str | None:
    status = conn.hget(f"rq:job:{job_id}", "status")
    return status.decode() if status else None


def test_503_503_200_is_delivered_on_the_third_try_with_rising_attempts(wagw, receiver, redis_conn):
    receiver.respond = sequence(503, 503)
    wagw.scheduler()
    wagw.worker()
    [job_id] = enqueue(redis_conn, "ev-503")

    wait_for(
        lambda: job_status(redis_conn, job_id) == JobStatus.FINISHED,
        30,
        what="delivered",
    )
    got = receiver.for_event("ev-503")
    assert [r.status for r in got] == [503, 503, 200]
    assert [r.attempt for r in got] == [1, 2, 3]
    assert {r.event_id for r in got} == {"ev-503"}
    body = BODY.replace("{id}", "ev-503").encode()
    for request in got:
        assert request.body == body  # the exact bytes that were signed
        assert request.headers["content-type"] == "application/json"
        assert request.headers["content-length"] == str(len(body))  # not chunked
        assert request.headers["user-agent"].startswith("wagw/")
        assert verify_hub_signature(SECRET.encode(), request.body, request.headers["x-hub-signature-256"])
        assert verify_wagw_signature(SECRET.encode(), request.body, request.headers["x-wagw-signature"])
    # Retries waited for the schedule (1 s, jittered, whole seconds): never back to back.
    assert got[1].time - got[0].time >= 0.75 and got[2].time - got[1].time >= 0.75
    job = Job.fetch(job_id, connection=redis_conn, serializer=SERIALIZER)
    assert job.return_value()["status"] == 200 and job.return_value()["attempt"] == 3
    assert job_id in FinishedJobRegistry("webhooks", connection=redis_conn)
    assert StartedJobRegistry("webhooks", connection=redis_conn).get_job_ids() == []
    assert redis_conn.exists(*redis_conn.keys(keys.WEBHOOK_DELIVERED.format(endpoint="*", event_id="ev-503")))


def test_400_fails_after_one_attempt_with_status_and_snippet(wagw, receiver, redis_conn):
    receiver.respond = always(400, body=b'{"error": "unknown chat"}')
    wagw.scheduler()
    wagw.worker()
    [job_id] = enqueue(redis_conn, "ev-400")

    wait_for(lambda: job_status(redis_conn, job_id) == JobStatus.FAILED, 20, what="failed")
    assert len(receiver.for_event("ev-400")) == 1
    assert job_id in FailedJobRegistry("webhooks", connection=redis_conn)
    assert job_id not in ScheduledJobRegistry("webhooks", connection=redis_conn)
    job = Job.fetch(job_id, connection=redis_conn, serializer=SERIALIZER)
    assert job.retries_left == 0
    assert job.meta["attempts"] == 1 and job.meta["last_status"] == 400
    assert "unknown chat" in job.meta["last_error"]
    exc = job.latest_result().exc_string
    assert "HTTP 400" in exc and "not retryable" in exc and "unknown chat" in exc
    assert "t0ps3cret" not in exc  # the URL's token is not written into the failure

    status = failed_deliveries(redis_conn, settings_now())
    assert status["count"] == 1
    [entry] = status["recent"]
    assert entry["job_id"] == job_id and entry["event_id"] == "ev-400" and entry["last_status"] == 400
    assert entry["endpoint"] == receiver.url.split("?")[0]  # the configured endpoint, without its token


def test_429_retry_after_is_honoured(wagw, receiver, redis_conn):
    receiver.respond = sequence(429, headers={"Retry-After": "2"})
    wagw.scheduler()
    wagw.worker()
    [job_id] = enqueue(redis_conn, "ev-429")

    wait_for(lambda: job_status(redis_conn, job_id) == JobStatus.FINISHED, 30, what="delivered")
    first, second = receiver.for_event("ev-429")
    assert (first.status, second.status) == (429, 200)
    assert second.time - first.time >= 2.0
    assert second.attempt == 2


def test_replay_requeues_failed_deliveries_with_a_fresh_budget(wagw, receiver, redis_conn, settings_env):
    receiver.respond = always(410, body=b"gone for now")
    wagw.scheduler()
    wagw.worker()
    failed = [enqueue(redis_conn, f"ev-replay-{n}")[0] for n in range(3)]
    wait_for(lambda: all(job_status(redis_conn, j) == JobStatus.FAILED for j in failed), 20, what="3 failed")

    receiver.respond = always(200)
    replay = [sys.executable, "-m", "wagw", "webhooks", "replay"]
    one = subprocess.run([*replay, failed[0]], env=wagw.env, capture_output=True, text=True, timeout=60)
    assert one.returncode == 0, one.stdout + one.stderr
    assert f"requeued {failed[0]}" in one.stdout
    wait_for(lambda: job_status(redis_conn, failed[0]) == JobStatus.FINISHED, 20, what="replayed one delivered")
    replayed = receiver.for_event("ev-replay-0")
    assert [r.status for r in replayed] == [410, 200]
    assert replayed[1].attempt == 2  # the counter keeps rising across a replay
    assert job_status(redis_conn, failed[1]) == JobStatus.FAILED  # the others were left alone

    unknown = subprocess.run([*replay, "no-such-job"], env=wagw.env, capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 1 and "not a failed delivery: no-such-job" in unknown.stdout

    rest = subprocess.run([*replay, "--all"], env=wagw.env, capture_output=True, text=True, timeout=60)
    assert rest.returncode == 0 and "2 deliveries requeued" in rest.stdout
    wait_for(lambda: all(job_status(redis_conn, j) == JobStatus.FINISHED for j in failed), 20, what="all delivered")
    assert failed_deliveries(redis_conn, settings_now())["count"] == 0
    job = Job.fetch(failed[2], connection=redis_conn, serializer=SERIALIZER)
    assert job.meta["replays"] == 1
    assert receiver.delivered() == {f"ev-replay-{n}": 1 for n in range(3)}


def test_retries_run_out_into_the_failed_registry(wagw, receiver, redis_conn):
    receiver.respond = always(502, body=b"<html>bad gateway</html>")
    wagw.scheduler()
    wagw.worker()
    [job_id] = enqueue(redis_conn, "ev-502")

    wait_for(lambda: job_status(redis_conn, job_id) == JobStatus.FAILED, 40, what="retries exhausted")
    got = receiver.for_event("ev-502")
    assert [r.attempt for r in got] == [1, 2, 3, 4]  # the first try and one per schedule step
    job = Job.fetch(job_id, connection=redis_conn, serializer=SERIALIZER)
    assert job.meta["last_status"] == 502 and job.meta["attempts"] == 4
    assert "retries exhausted" in job.latest_result().exc_string
    assert "bad gateway" in job.latest_result().exc_string


def test_the_same_event_is_never_delivered_twice_to_an_endpoint(wagw, receiver, redis_conn):
    wagw.scheduler()
    wagw.worker()
    [first] = enqueue(redis_conn, "ev-dup")
    wait_for(lambda: job_status(redis_conn, first) == JobStatus.FINISHED, 20, what="first delivered")
    # The same event enqueued again (a dedup window that ran out, an operator's re-enqueue).
    [second] = enqueue(redis_conn, "ev-dup")
    wait_for(lambda: job_status(redis_conn, second) == JobStatus.FINISHED, 20, what="second job done")
    assert receiver.delivered()["ev-dup"] == 1
    job = Job.fetch(second, connection=redis_conn, serializer=SERIALIZER)
    assert job.return_value()["duplicate"] is True


def test_sigterm_stops_the_worker_cleanly(wagw, redis_conn):
    worker = wagw.worker()
    from rq import Worker

    wait_for(lambda: Worker.all(connection=redis_conn), 20, what="worker registered")
    assert wagw.stop("webhook-worker-1", timeout=20) == 0
    assert Worker.all(connection=redis_conn) == []
    assert worker.returncode == 0


def test_a_job_queued_by_a_wagw_without_seals_is_refused_and_stays_refused_on_replay(wagw, receiver, redis_conn):
    from rq import Queue

    wagw.worker()
    queue = Queue("webhooks", connection=redis_conn, serializer=SERIALIZER)
    body = BODY.replace("{id}", "ev-old")
    job = queue.enqueue("workers.webhooks.deliver", args=(receiver.url, "ev-old", body))  # no seal, a URL
    wait_for(lambda: job_status(redis_conn, job.id) == JobStatus.FAILED, 20, what="refused")
    assert "not a sealed delivery job" in job.latest_result().exc_string
    replay = [sys.executable, "-m", "wagw", "webhooks", "replay", job.id]
    result = subprocess.run(replay, env=wagw.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and f"not a failed delivery: {job.id}" in result.stdout
    assert receiver.for_event("ev-old") == []


def test_only_deliver_jobs_run_on_the_webhooks_queue(wagw, receiver, redis_conn):
    from rq import Queue

    wagw.scheduler()
    wagw.worker()
    job = Queue("webhooks", connection=redis_conn, serializer=SERIALIZER).enqueue("os.getpid")
    wait_for(lambda: job_status(redis_conn, job.id) == JobStatus.FAILED, 20, what="foreign job failed")
    job.refresh()
    assert 'refused job "os.getpid": this worker runs only workers.webhooks.deliver' in job.latest_result().exc_string
    assert job.latest_result().type.name == "FAILED"
    # The worker carries on with real deliveries.
    [delivery] = enqueue(redis_conn, "ev-after-foreign")
    wait_for(lambda: job_status(redis_conn, delivery) == JobStatus.FINISHED, 20, what="delivered")
