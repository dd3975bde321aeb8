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
