"""WAGW_MEDIA_AUTO_DOWNLOAD=true on a running `wagw run` (fake backend): a media event reaches
the webhook with the local path, go-whatsapp-web-multidevice's way, and the file is there with
the event's sha256; a download that dies of a real Go panic in its native host, or whose
media has expired, still reaches the webhook exactly once, with the URL object and a
`download_error`. The event log has each event once, at once, whatever the download does."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from chaos.polling import wait_for
from tests.e2e.hook import webhooks_settled
from wagw.webhooks.signing import verify_hub_signature

pytestmark = pytest.mark.e2e
ALICE = "15551234567@s.whatsapp.net"
SECRET = "e2e-secret-of-sixteen-bytes"


@pytest.fixture
def daemon(daemon_factory, hook):
    running = daemon_factory(
        {"WAGW_WEBHOOK_URLS": hook.url, "WAGW_WEBHOOK_SECRET": SECRET, "WAGW_MEDIA_AUTO_DOWNLOAD": "true"}
    ).start()
    yield running
    assert running.stop() == 0


def push_media(daemon, message_id: str, kind: str, mimetype: str, caption: str | None = None, **media) -> None:
    message = {
        "type": "message",
        "id": message_id,
        "sender": ALICE,
        "media": {"kind": kind, "mimetype": mimetype, **({"caption": caption} if caption else {}), **media},
    }
    daemon.redis.rpush("wagw:fake:inbound", json.dumps(message))


def logged(daemon, message_id: str) -> list[dict]:
    """The event log's entries for one message (the stream entry's fields, the event parsed)."""
    entries = []
    for _id, fields in daemon.redis.xrange("wagw:events"):
        event = json.loads(fields[b"event"])
        if event["payload"].get("id") == message_id:
            entries.append({"event": event, "download": fields.get(b"download", b"").decode()})
    return entries


def delivered_once(daemon, hook, message_id: str, timeout: float) -> dict:
    wait_for(lambda: hook.messages(message_id), timeout, 0.05, f"{message_id} at the webhook")
    wait_for(lambda: webhooks_settled(daemon), 30, 0.1, "the webhook queue to settle")
    bodies = hook.messages(message_id)
    attempts = [
        headers.get("x-wagw-attempt")
        for headers, raw in list(hook.requests)
        if json.loads(raw).get("payload", {}).get("id") == message_id
    ]
    # Sent once. A second request is allowed only as the retry of an attempt whose answer
    # never reached the worker (a timeout on a starved machine): a later attempt number and
    # the very same body. Two requests of one attempt would be a double send.
    assert len(set(attempts)) == len(attempts) and all(body == bodies[0] for body in bodies), (attempts, bodies)
    for headers, raw in hook.requests:
        assert verify_hub_signature(SECRET.encode(), raw, headers.get("x-hub-signature-256"))
    return bodies[0]


def download_job(daemon, message_id: str) -> Job:
    [entry] = logged(daemon, message_id)
    return Job.fetch(entry["download"], connection=daemon.redis, serializer=JSONSerializer)


def test_a_media_event_arrives_with_the_local_path_of_its_file(daemon, hook):
    push_media(daemon, "3EBAD0000001", "image", "image/jpeg", caption="look")
    body = delivered_once(daemon, hook, "3EBAD0000001", 30)
    payload = body["payload"]
    media = payload["media"]
    digest = base64.b64decode(media["file_sha256"]).hex()
    folder = (Path(daemon.data_dir) / "media").resolve()
    assert payload["image"] == {"path": str(folder / f"{digest}.jpg"), "caption": "look"}
    assert payload["body"] == "look" and "download_error" not in payload
    data = Path(payload["image"]["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest and len(data) == media["file_length"]
    # The event log got it once, as the session stored it (the URL object), naming the download.
    [entry] = logged(daemon, "3EBAD0000001")
    assert entry["event"]["payload"]["image"]["url"].startswith("https://mmg.whatsapp.net/")
    assert entry["event"]["id"] == body["id"]
    job = download_job(daemon, "3EBAD0000001")
    assert job.func_name == "workers.wa.download_media" and job.get_status() == JobStatus.FINISHED
    # A voice note without caption: the bare path, as that gateway sends audio.
    push_media(daemon, "3EBAD0000002", "audio", "audio/ogg; codecs=opus")
    audio = delivered_once(daemon, hook, "3EBAD0000002", 30)["payload"]
    assert isinstance(audio["audio"], str) and audio["audio"].endswith(".ogg") and Path(audio["audio"]).is_file()


def test_a_go_panic_during_the_download_still_delivers_the_event_once(daemon, hook):
    session_pid = daemon.child_pid("session")
    push_media(daemon, "3EBAD0000003", "image", "image/jpeg", caption="boom", download="crash")
    # The event log has it at once, while the download is still crashing hosts.
    wait_for(lambda: logged(daemon, "3EBAD0000003"), 5, 0.05, "the event in the log")
    # Three attempts (Retry(max=2, interval=5)), each a real panic, or a quarantine.
    body = delivered_once(daemon, hook, "3EBAD0000003", 90)
    payload = body["payload"]
    assert payload["image"]["url"].startswith("https://mmg.whatsapp.net/v/t62.fake/crash.enc")
    assert payload["image"]["caption"] == "boom"
    job = download_job(daemon, "3EBAD0000003")
    assert job.get_status() == JobStatus.FAILED
    crashes = [json.loads(raw) for raw in daemon.redis.lrange("wagw:crashes", 0, -1)]
    assert any("panic" in json.dumps(crash) for crash in crashes), crashes
    error = payload["download_error"]
    assert "HostCrashed" in error or "quarantine" in error.lower(), error
    assert daemon.child_pid("session") == session_pid
    assert len(logged(daemon, "3EBAD0000003")) == 1


def test_expired_media_is_delivered_once_with_the_url_and_the_reason(daemon, hook):
    push_media(daemon, "3EBAD0000004", "document", "application/pdf", filename="r.pdf", download="expired")
    body = delivered_once(daemon, hook, "3EBAD0000004", 30)
    payload = body["payload"]
    assert payload["document"]["url"].startswith("https://mmg.whatsapp.net/v/t62.fake/expired.enc")
    assert payload["document"]["filename"] == "r.pdf"
    assert "no longer on WhatsApp's servers" in payload["download_error"]
    assert download_job(daemon, "3EBAD0000004").get_status() == JobStatus.FAILED
    folder = Path(daemon.data_dir, "media")
    assert not folder.exists() or not any(folder.iterdir())
