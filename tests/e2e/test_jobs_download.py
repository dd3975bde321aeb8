"""download_media on a running `wagw run` (fake backend): an inbound media message reaches the
webhook with its `media` object, and an app enqueues download_media with that object as it
came, by plain rq path (JSON serializer, no wagw import); the file lands in WAGW_MEDIA_DIR."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import time
from pathlib import Path

import pytest
from rq import Queue
from rq.job import JobStatus
from rq.serializers import JSONSerializer

from chaos.polling import wait_for

pytestmark = pytest.mark.e2e
ALICE = "15551234567@s.whatsapp.net"


@pytest.fixture
def daemon(daemon_factory, hook):
    running = daemon_factory(
        {"WAGW_WEBHOOK_URLS": hook.url, "WAGW_WEBHOOK_SECRET": "e2e-secret-of-sixteen-bytes"}
    ).start()
    yield running
    assert running.stop() == 0


def inbound_media(daemon, hook, message_id: str, kind: str, mimetype: str) -> dict:
    message = {
        "type": "message",
        "id": message_id,
        "sender": ALICE,
        "media": {"kind": kind, "mimetype": mimetype, "caption": "look"},
    }
    daemon.redis.rpush("wagw:fake:inbound", json.dumps(message))
    wait_for(lambda: hook.message(message_id) is not None, 30, 0.05, f"{message_id} at the webhook")
    payload = hook.message(message_id)
    assert payload is not None
    return payload


def enqueue(daemon, media: dict):
    job = Queue("wa", connection=daemon.redis, serializer=JSONSerializer).enqueue(
        "workers.wa.download_media", media=media
    )
    wait_for(lambda: job.get_status(refresh=True) in (JobStatus.FINISHED, JobStatus.FAILED), 30, 0.05, "download")
    return job


def test_an_inbound_images_media_object_downloads_into_the_media_folder(daemon, hook):
    payload = inbound_media(daemon, hook, "3EB0DL000001", "image", "image/jpeg")
    media = payload["media"]
    assert media["kind"] == "image" and media["mime_type"] == "image/jpeg" and "url" not in media
    job = enqueue(daemon, media)
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    result = job.return_value()
    digest = base64.b64decode(media["file_sha256"]).hex()
    folder = (Path(daemon.data_dir) / "media").resolve()
    assert result == {
        "path": str(folder / f"{digest}.jpg"),
        "mimetype": "image/jpeg",
        "size": media["file_length"],
        "sha256": digest,
    }
    data = Path(result["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest and len(data) == media["file_length"]
    assert stat.S_IMODE(os.stat(result["path"]).st_mode) == 0o600
    records = [json.loads(raw) for raw in daemon.redis.lrange("wagw:fake:sent", 0, -1)]
    [record] = [r for r in records if r["op"] == "download_media"]
    assert record["args"]["media"]["direct_path"] == media["direct_path"]


def test_a_document_and_an_expired_media_object(daemon, hook):
    payload = inbound_media(daemon, hook, "3EB0DL000002", "document", "application/pdf")
    job = enqueue(daemon, payload["media"])
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    assert job.return_value()["path"].endswith(".pdf")
    started = time.monotonic()
    expired = enqueue(daemon, {**payload["media"], "direct_path": "/v/t62.fake/expired.enc"})
    assert expired.get_status() == JobStatus.FAILED
    failure = expired.latest_result().exc_string
    assert "workers.validation.InvalidArguments" in failure and "status code 410" in failure
    # Failed at once: a retried job would wait 5 s (its Retry interval) before each new attempt.
    assert time.monotonic() - started < 5


def test_a_tampered_media_object_fails_at_once(daemon, hook):
    payload = inbound_media(daemon, hook, "3EB0DL000003", "image", "image/jpeg")
    job = enqueue(daemon, {**payload["media"], "direct_path": "/v/../../etc/passwd"})
    assert job.get_status() == JobStatus.FAILED
    assert "direct_path" in job.latest_result().exc_string
    folder = Path(daemon.data_dir, "media")
    assert not folder.exists() or not any(folder.iterdir())
