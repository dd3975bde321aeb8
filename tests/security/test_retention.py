"""What an enqueuer leaves in Redis does not stay there for a year, and Redis cannot be filled
until it evicts queued work (finding 9 of the trust issue)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys

import pytest
import redis
from rq import Queue
from rq.job import JobStatus
from rq.serializers import JSONSerializer

from tests.conftest import short_tempdir
from tests.integration.wa_worker_harness import ALICE, wait_done
from wagw import client, keys
from wagw.config import Settings
from wagw.supervisor.embedded_redis import start_standalone
from wagw.webhooks.enqueue import enqueue_deliveries

DAY = 86_400


def test_a_failed_wa_job_and_its_arguments_expire_within_a_week(start_worker, wa_queue, redis_conn):
    start_worker()
    big = base64.b64encode(b"%PDF-1.7" + b"\0" * 2_000_000).decode()  # not an image: fails validation
    job = wa_queue.enqueue("workers.wa.send_image", to=ALICE, image=big)
    assert wait_done(job) == JobStatus.FAILED
    assert 0 < redis_conn.ttl(job.key) <= 7 * DAY
    done = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
    assert wait_done(done) == JobStatus.FINISHED
    assert 0 < redis_conn.ttl(done.key) <= DAY  # the result waits a day for its app, not 500 s


def test_failed_deliveries_expire_after_the_replay_window(settings_env, redis_conn):
    settings = Settings(_env_file=None, webhook_urls=["https://hooks.example/wagw"], webhook_secret="s" * 16)
    with redis_conn.pipeline() as pipe:
        enqueue_deliveries(pipe, settings, "e1", "message", '{"event": "message"}')
        pipe.execute()
    [job_id] = redis_conn.lrange("rq:queue:webhooks", 0, -1)
    assert int(redis_conn.hget(b"rq:job:" + job_id, "failure_ttl")) == 14 * DAY


def test_the_client_refuses_oversized_arguments_before_storing_them(redis_conn, monkeypatch):
    monkeypatch.setattr(client, "MAX_ARGUMENT_BYTES", 1024)
    with pytest.raises(ValueError, match=r"the arguments take .* bytes; a job carries at most 1024"):
        client.enqueue_send_text(ALICE, "x" * 2000, connection=redis_conn)
    assert Queue(keys.WA_QUEUE, connection=redis_conn, serializer=JSONSerializer).count == 0


def test_a_full_embedded_redis_refuses_writes_and_evicts_nothing_and_status_warns():
    data_dir = short_tempdir("wagw-full-")
    proc, server = start_standalone(data_dir, max_memory_mb=64)
    try:
        conn = redis.Redis.from_url(server.url)
        queue = Queue(keys.WA_QUEUE, connection=conn, serializer=JSONSerializer)
        queued = [queue.enqueue("workers.wa.fetch_avatar", jid=ALICE) for _ in range(20)]
        chunk = b"\0" * (256 * 1024)
        with pytest.raises(redis.exceptions.ResponseError, match="maxmemory"):
            for n in range(1000):
                conn.set(f"filler:{n}", chunk)
        assert queue.get_job_ids() == [job.id for job in queued]  # nothing evicted
        env = {"PATH": os.environ["PATH"], "WAGW_DATA_DIR": str(data_dir), "WAGW_REDIS_URL": server.url}
        report = subprocess.run(
            [sys.executable, "-m", "wagw", "status", "--json"], env=env, capture_output=True, text=True, timeout=60
        )
        memory = json.loads(report.stdout)["redis_memory"]
        assert memory["max_bytes"] == 64 * 1024 * 1024 and memory["warn"] is True, memory
        text = subprocess.run(
            [sys.executable, "-m", "wagw", "status"],
            env={**env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        assert "Redis memory:" in text and "at the ceiling Redis refuses new events and jobs" in text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


# What a wa job may keep in Redis (WAGW_MAX_JOB_BYTES, WAGW_ENDED_JOB_MAX_BYTES) ----------------


def _noise_png(side: int = 300) -> str:
    """A real PNG that does not compress (about 270 KB), as base64."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "png")
    return base64.b64encode(buffer.getvalue()).decode()


def _record_bytes(conn, job) -> int:
    return int(conn.memory_usage(job.key, samples=0) or 0)


def _fetch(conn, job):
    from rq.job import Job

    return Job.fetch(job.id, connection=conn, serializer=JSONSerializer)


def test_a_job_over_the_size_cap_fails_at_once_for_good_and_reaches_nobody(start_worker, wa_queue, redis_conn):
    from rq import Retry

    from tests.integration.wa_worker_harness import sent

    start_worker(WAGW_MAX_JOB_BYTES="65536")
    junk = base64.b64encode(os.urandom(200_000)).decode()  # incompressible: ~270 KB as stored
    job = wa_queue.enqueue("workers.wa.send_image", to=ALICE, image=junk, retry=Retry(max=3, interval=1))
    assert wait_done(job) == JobStatus.FAILED
    failure = _fetch(redis_conn, job).latest_result().exc_string
    assert "workers.validation.InvalidArguments" in failure
    assert "more than WAGW_MAX_JOB_BYTES (65536)" in failure
    assert sent(redis_conn) == []  # never handed to WhatsApp
    assert _fetch(redis_conn, job).retries_left == 0  # and never tried again


def test_a_failed_job_keeps_who_it_was_not_its_megabytes(start_worker, wa_queue, redis_conn):
    start_worker()
    junk = base64.b64encode(os.urandom(1_500_000)).decode()  # not an image: fails validation
    job = wa_queue.enqueue("workers.wa.send_image", to=ALICE, image=junk)
    assert wait_done(job) == JobStatus.FAILED
    assert _record_bytes(redis_conn, job) <= 64 * 1024
    kept = _fetch(redis_conn, job)
    assert kept.func_name == "workers.wa.send_image" and kept.id == job.id
    assert kept.kwargs == {"arguments_dropped": {"bytes": kept.kwargs["arguments_dropped"]["bytes"]}}
    assert kept.kwargs["arguments_dropped"]["bytes"] > 1_500_000
    assert "InvalidArguments" in kept.latest_result().exc_string  # why it failed
    assert 0 < redis_conn.ttl(job.key) <= 7 * DAY
    assert job.id in wa_queue.failed_job_registry.get_job_ids()


def test_a_finished_job_keeps_its_result_not_its_arguments(start_worker, wa_queue, redis_conn):
    start_worker()
    job = wa_queue.enqueue("workers.wa.send_image", to=ALICE, image=_noise_png(), caption="hi")
    assert wait_done(job) == JobStatus.FINISHED
    assert _record_bytes(redis_conn, job) <= 64 * 1024
    kept = _fetch(redis_conn, job)
    assert kept.return_value()["to"] == ALICE and kept.kwargs.keys() == {"arguments_dropped"}


def test_a_job_that_will_be_retried_keeps_its_arguments(start_worker, wa_queue, redis_conn):
    from rq import Retry

    start_worker()
    image = _noise_png()
    job = wa_queue.enqueue(
        "workers.wa.send_image", to="fail@s.whatsapp.net", image=image, retry=Retry(max=1, interval=60)
    )
    from chaos.polling import wait_for

    wait_for(
        lambda: job.get_status() == JobStatus.SCHEDULED, 20, what="the first attempt to fail and schedule its retry"
    )
    assert _fetch(redis_conn, job).kwargs["image"] == image


def test_the_default_size_cap_fits_the_largest_legitimate_argument(settings):
    from wagw.operations.args import MAX_IMAGE_ARG, MAX_STICKER_ARG

    # A base64 argument as JSON, compressed by rq: never larger than itself (plus zlib's few bytes).
    assert settings.max_job_bytes >= max(MAX_IMAGE_ARG, MAX_STICKER_ARG) + 64 * 1024
    assert settings.max_job_bytes == client.MAX_ARGUMENT_BYTES  # what wagw.client lets through
