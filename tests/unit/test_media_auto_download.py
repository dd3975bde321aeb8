"""WAGW_MEDIA_AUTO_DOWNLOAD, the pure parts: the seal over a download job id, the body in
go-whatsapp-web-multidevice's auto-download shape, the checks a download's result must pass
before its path goes into a signed body, and the job the session enqueues (compared with
what rq's own enqueue writes, on fakeredis: record layout only)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import fakeredis
import pytest
from rq import Queue, Retry
from rq.job import Job

from wagw.config import Settings
from wagw.events import message
from wagw.redisconn import SERIALIZER
from wagw.webhooks import enqueue as webhooks
from wagw.webhooks.signing import seal, seal_key, sealed
from workers.webhooks import media

KEY = seal_key(b"s" * 16)
CONTENT = b"the picture"
DIGEST = hashlib.sha256(CONTENT).hexdigest()
MEDIA_DIR = Path("/srv/wagw/media")
DOWNLOAD_ID = "0b5cbe4e-8d4e-4a4f-9a61-1f1c7a2b3c4d"


def media_event(kind: str = "image", caption: str | None = "look", **extra) -> str:
    obj = {
        "url": "https://mmg.whatsapp.net/v/t62.7118-24/x.enc?oh=1",
        "mime_type": "image/jpeg",
        "caption": caption,
        "direct_path": "/v/t62.7118-24/x.enc",
        "media_key": base64.b64encode(b"k" * 32).decode(),
        "file_sha256": base64.b64encode(hashlib.sha256(CONTENT).digest()).decode(),
        "file_enc_sha256": base64.b64encode(b"e" * 32).decode(),
        "file_length": len(CONTENT),
        **extra,
    }
    chat = "1555@s.whatsapp.net"
    event = message(id="3EB0AA", chat=chat, sender=chat, timestamp=1, media=(kind, obj))
    return json.dumps({"event": "message", "id": "e1", "payload": event.payload}, separators=(",", ":"))


def result(path: str | None = None, digest: str = DIGEST) -> dict:
    return {"path": path or str(MEDIA_DIR / f"{digest}.jpg"), "mimetype": "image/jpeg", "size": 11, "sha256": digest}


# ---- the seal ------------------------------------------------------------------------------------


def test_the_seal_covers_the_download_job_id():
    plain = seal(KEY, "ep", "e1", "{}")
    with_download = seal(KEY, "ep", "e1", "{}", DOWNLOAD_ID)
    assert plain != with_download
    assert sealed(KEY, ("ep", "e1", "{}", with_download, DOWNLOAD_ID))
    assert sealed(KEY, ("ep", "e1", "{}", plain))
    other = DOWNLOAD_ID.replace("0b5c", "0b5d")
    assert not sealed(KEY, ("ep", "e1", "{}", with_download, other)), "the job id can be changed"
    assert not sealed(KEY, ("ep", "e1", "{}", plain, DOWNLOAD_ID)), "a job id can be added to a plain seal"
    assert not sealed(KEY, ("ep", "e1", "{}", with_download)), "the job id can be dropped"
    assert not sealed(KEY, ("ep", "e1", "{}", with_download, 7))


# ---- the body ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "caption", "expected"),
    [
        ("image", "look", {"path": "P", "caption": "look"}),
        ("image", None, "P"),
        ("video", "watch", {"path": "P", "caption": "watch"}),
        ("document", None, "P"),
        ("video_note", None, "P"),
        ("audio", None, "P"),
        ("sticker", None, "P"),
    ],
)
def test_the_path_goes_where_go_whatsapp_puts_it(kind, caption, expected):
    body = media_event(kind, caption)
    delivered = json.loads(media.with_path(body, "P"))
    before = json.loads(body)
    assert delivered["payload"][kind] == expected
    # Everything else as the session built it, the media object download_media takes included.
    assert {k: v for k, v in delivered["payload"].items() if k != kind} == {
        k: v for k, v in before["payload"].items() if k != kind
    }
    assert "download_error" not in delivered["payload"]


def test_a_body_with_the_path_is_written_as_the_session_writes_bodies():
    body = media_event(caption="héllo")
    out = media.with_path(body, "P")
    assert '"caption":"héllo"' in out and ", " not in out


def test_a_failed_download_keeps_the_url_object_and_says_why():
    body = media_event()
    delivered = json.loads(media.with_error(body, media.DownloadError.CRASHED))
    assert delivered["payload"]["image"] == json.loads(body)["payload"]["image"]
    assert delivered["payload"]["image"]["url"].startswith("https://mmg.whatsapp.net/")
    assert delivered["payload"]["download_error"] == "the native host died during the download (HostCrashed)"
    with pytest.raises(ValueError):
        media.with_error(body, "any other text")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc_string", "status", "expected"),
    [
        (
            "Traceback (most recent call last):\n  x\nworkers.host_client.HostCrashed: native host of slot 1 …",
            "failed",
            "CRASHED",
        ),
        ("workers.host_client.HostTimeout: the call did not answer", "failed", "TIMED_OUT"),
        ("rq.timeouts.JobTimeoutException: Task exceeded maximum timeout value (300 seconds)", "failed", "TIMED_OUT"),
        ("wagw.quarantine.Quarantined: download_media is quarantined", "failed", "QUARANTINED"),
        ("wagw.quarantine.PoisonedTarget: …", "failed", "POISONED"),
        ("workers.host_client.SlotNotPaired: slot 1 …", "failed", "NO_DEVICE"),
        ("wagw.backends.base.BackendError: download_media failed (simulated failure)", "failed", "BACKEND"),
        ("wagw.backends.base.LoggedOut: …", "failed", "BACKEND"),
        (
            "workers.validation.InvalidArguments: invalid arguments for download_media: media: the media is no "
            "longer on WhatsApp's servers (expired or deleted); ask for it to be sent again (download failed with "
            "status code 410)",
            "failed",
            "MEDIA_GONE",
        ),
        (
            "workers.validation.InvalidArguments: … (hash of media plaintext doesn't match)",
            "failed",
            "MEDIA_MISMATCH",
        ),
        ("workers.validation.InvalidArguments: 99999999 bytes is more than …", "failed", "INVALID"),
        ("Moved to FailedJobRegistry, due to AbandonedJobError, at 2026-12-06", "failed", "ABANDONED"),
        ("call +1 555 0100 now", "failed", "FAILED"),
        ("", "failed", "FAILED"),
        ("workers.host_client.HostCrashed: …", "stopped", "STOPPED"),
        ("workers.host_client.HostCrashed: …", "canceled", "CANCELED"),
    ],
)
def test_a_failed_downloads_error_is_a_fixed_text_by_its_kind(exc_string, status, expected):
    from rq.job import JobStatus

    assert media.failure_of(exc_string, JobStatus(status)) is media.DownloadError[expected]


# ---- what a result must be -------------------------------------------------------------------------


def payload_media() -> dict:
    return json.loads(media_event())["payload"]["media"]


def test_a_result_from_download_media_passes():
    assert media.checked_path(result(), payload_media(), MEDIA_DIR) == str(MEDIA_DIR / f"{DIGEST}.jpg")
    no_hash = {k: v for k, v in payload_media().items() if k != "file_sha256"}
    assert media.checked_path(result(), no_hash, MEDIA_DIR) == str(MEDIA_DIR / f"{DIGEST}.jpg")
    # Without a mimetype in the event, download_media took the type from the bytes.
    no_type = {k: v for k, v in payload_media().items() if k != "mime_type"}
    assert media.checked_path(result(str(MEDIA_DIR / f"{DIGEST}.png")), no_type, MEDIA_DIR).endswith(".png")
    with_parameters = {**payload_media(), "mime_type": "IMAGE/JPEG; q=1"}
    assert media.checked_path(result(), with_parameters, MEDIA_DIR).endswith(".jpg")


@pytest.mark.parametrize(
    ("forged", "why"),
    [
        (["not", "an", "object"], "not an object"),
        ({"path": str(MEDIA_DIR / f"{DIGEST}.jpg")}, "no sha256"),
        ({**result(), "sha256": "../../x"}, "no sha256"),
        ({**result(), "path": None}, "no path"),
        (result("/etc/passwd"), "not a content-addressed download"),
        (result(f"/etc/{DIGEST}.jpg"), "not in WAGW_MEDIA_DIR"),
        (result(f"{MEDIA_DIR}/../../etc/{DIGEST}.jpg"), "not in WAGW_MEDIA_DIR"),
        (result(f"{MEDIA_DIR}/sub/{DIGEST}.jpg"), "not in WAGW_MEDIA_DIR"),
        (result(f"media/{DIGEST}.jpg"), "not in WAGW_MEDIA_DIR"),
        (result(str(MEDIA_DIR / f"{'a' * 64}.jpg")), "not a content-addressed download"),
        (result(str(MEDIA_DIR / f"{DIGEST}.JPG")), "not a content-addressed download"),
        (result(str(MEDIA_DIR / f"{DIGEST}.jpg/..")), "not a content-addressed download"),
        (result(str(MEDIA_DIR / f"{'a' * 64}.jpg"), digest="a" * 64), "not the event's file_sha256"),
        (result(str(MEDIA_DIR / f"{DIGEST}.exe")), "not the one for the event's mimetype"),
        (result(str(MEDIA_DIR / f"{DIGEST}.png")), "not the one for the event's mimetype"),
        (result(str(MEDIA_DIR / f"{DIGEST}.bin")), "not the one for the event's mimetype"),
    ],
)
def test_a_result_that_is_not_download_medias_is_refused(forged, why):
    with pytest.raises(media.RefusedResult, match=why) as refused:
        media.checked_path(forged, payload_media(), MEDIA_DIR)
    assert refused.value.error in media.DownloadError


def test_without_a_mimetype_in_the_event_only_extensions_of_the_table_pass():
    no_type = {k: v for k, v in payload_media().items() if k != "mime_type"}
    with pytest.raises(media.RefusedResult, match="mimetype"):
        media.checked_path(result(str(MEDIA_DIR / f"{DIGEST}.exe")), no_type, MEDIA_DIR)


def test_job_ids_and_waits():
    assert media.valid_job_id(DOWNLOAD_ID)
    for bad in ("", "rq:job:x", "../" + DOWNLOAD_ID, DOWNLOAD_ID + "\n", None, 5):
        assert not media.valid_job_id(bad)
    assert media.wait_delay(0) < 1 <= media.wait_delay(30) < media.wait_delay(600)
    # Longer than download_media's worst case: 3 attempts of 300 s and two 5 s intervals.
    assert media.patience() > 3 * 300 + 2 * 5
    assert media.retry_interval(media.Pending(0.2)) == 1


# ---- what the session enqueues ----------------------------------------------------------------------


@pytest.fixture
def settings(monkeypatch):
    for key in ("WAGW_WEBHOOK_URLS", "WAGW_WEBHOOK_SECRET", "WAGW_MEDIA_AUTO_DOWNLOAD"):
        monkeypatch.delenv(key, raising=False)
    return Settings(_env_file=None, data_dir="/tmp", webhook_urls="https://a.example/in", webhook_secret="s" * 16)


def test_only_media_messages_with_auto_download_on_are_downloaded(settings):
    payload = json.loads(media_event())["payload"]
    assert webhooks.auto_download_media(settings, payload) is None
    on = settings.model_copy(update={"media_auto_download": True})
    assert webhooks.auto_download_media(on, payload) == payload["media"]
    assert webhooks.auto_download_media(on, {"body": "hi"}) is None
    assert webhooks.auto_download_media(on, {**payload, "image": "a path"}) is None
    assert webhooks.auto_download_media(on, {**payload, "media": {"kind": "pdf"}}) is None


def test_the_download_job_is_what_rq_would_enqueue(settings):
    media_object = payload_media()
    ours, theirs = fakeredis.FakeRedis(), fakeredis.FakeRedis()
    with ours.pipeline() as pipe:
        job_id = webhooks.enqueue_download(pipe, settings, "e1", media_object)
        pipe.execute()
    keep = webhooks.download_keep(settings)
    Queue("wa", connection=theirs, serializer=SERIALIZER).enqueue(
        "workers.wa.download_media",
        media_object,
        job_id=job_id,
        job_timeout=300,
        retry=Retry(max=2, interval=[5, 5]),
        result_ttl=keep,
        failure_ttl=keep,
        description="download_media e1",
    )
    mine, rqs = (Job.fetch(job_id, connection=c, serializer=SERIALIZER) for c in (ours, theirs))
    for attribute in ("func_name", "args", "kwargs", "timeout", "retries_left", "retry_intervals", "origin"):
        assert getattr(mine, attribute) == getattr(rqs, attribute), attribute
    assert (mine.result_ttl, mine.failure_ttl, mine.get_status()) == (keep, keep, rqs.get_status())
    assert ours.lrange("rq:queue:wa", 0, -1) == theirs.lrange("rq:queue:wa", 0, -1) == [job_id.encode()]
    # Kept while a delivery following it may still be retried, jitter included.
    assert keep > sum(settings.retry_intervals) * 1.25 + media.patience()


def test_deliveries_name_the_download_under_the_seal(settings):
    conn = fakeredis.FakeRedis()
    with conn.pipeline() as pipe:
        assert webhooks.enqueue_deliveries(pipe, settings, "e1", "message", "{}", download=DOWNLOAD_ID) == 1
        pipe.execute()
    [job_id] = [i.decode() for i in conn.lrange("rq:queue:webhooks", 0, -1)]
    job = Job.fetch(job_id, connection=conn, serializer=SERIALIZER)
    assert len(job.args) == 5 and job.args[4] == DOWNLOAD_ID
    assert sealed(seal_key(settings.webhook_secret_bytes), job.args)
