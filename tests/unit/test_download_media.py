"""download_media: the media object's checks, the wa-worker's storing of the host's bytes and
retention (the host's half: tests/conformance/test_download_media.py)."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import time

import fakeredis
import pytest

from wagw import events, operations
from wagw.config import Settings
from wagw.operations.args import MAX_DOWNLOAD_BYTES, InvalidArguments
from wagw.whatsapp import go_errors
from wagw.whatsapp.fake_inbound import fake_media, fake_media_bytes
from workers import wa
from workers.wa import downloads, jobs

CONTENT = b"\xff\xd8\xff\xe0" + b"jpeg" * 100


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def media_object(**changes) -> dict:
    obj = {
        "kind": "image",
        "mime_type": "image/jpeg",
        "direct_path": "/v/t62.7118-24/12345_67890.enc?ccb=11-4&oh=01_Q5&oe=6A77D5A9&_nc_sid=5e03e0",
        "media_key": b64(bytes(range(32))),
        "file_sha256": b64(hashlib.sha256(CONTENT).digest()),
        "file_enc_sha256": b64(hashlib.sha256(b"enc").digest()),
        "file_length": len(CONTENT),
    }
    obj.update(changes)
    return {k: v for k, v in obj.items() if v is not None}


def test_a_media_object_from_an_event_is_accepted_as_it_is():
    event = events.message(
        id="X",
        chat="1@s.whatsapp.net",
        sender="1@s.whatsapp.net",
        timestamp=1,
        media=("video", fake_media("X", "video")),
    )
    valid = operations.validate("download_media", (event.payload["media"],), {})
    assert valid.model_dump()["media"]["kind"] == "video"
    assert operations.OPERATIONS["download_media"].target_of(valid) is None
    assert "download_media" not in operations.SENDS


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "../x"}, "media.kind"),
        ({"kind": "location"}, "media.kind"),
        ({"direct_path": "../../etc/passwd"}, "media.direct_path"),
        ({"direct_path": "/v/../../etc/passwd"}, "media.direct_path"),
        ({"direct_path": "/v/./x"}, "media.direct_path"),
        ({"direct_path": "https://evil.example/x"}, "media.direct_path"),
        ({"direct_path": "//evil.example/x"}, "media.direct_path"),
        ({"direct_path": "/v/x\r\nHost: evil"}, "media.direct_path"),
        ({"direct_path": "/v/x y"}, "media.direct_path"),
        ({"direct_path": "/" + "a" * 2048}, "media.direct_path"),
        ({"media_key": b64(b"short")}, "media.media_key: Value error, media_key must be 32 bytes"),
        ({"media_key": "not base64!" * 4}, "media.media_key"),
        ({"file_sha256": b64(bytes(31))}, "media.file_sha256"),
        ({"file_enc_sha256": b64(bytes(33))}, "media.file_enc_sha256"),
        ({"file_length": 0}, "media.file_length"),
        ({"file_length": -5}, "media.file_length"),
        ({"file_length": "12"}, "media.file_length"),
        ({"file_length": MAX_DOWNLOAD_BYTES["image"] + 1}, "is more than the 16777216 bytes a image may have"),
        ({"kind": "sticker", "file_length": 2 * 1024 * 1024}, "a sticker may have"),
        ({"mime_type": "image/jpeg\n"}, "media.mime_type"),
        ({"url": "https://mmg.whatsapp.net/x"}, "media.url: Extra inputs are not permitted"),
        ({"media_key": None}, "media.media_key: Field required"),
        ({"direct_path": None}, "media.direct_path: Field required"),
    ],
)
def test_bad_media_objects_are_refused_before_the_host(changes, message):
    with pytest.raises(InvalidArguments) as caught:
        operations.validate("download_media", (), {"media": media_object(**changes)})
    assert message.replace("Value error, ", "") in str(caught.value)


def test_a_document_may_be_larger():
    valid = operations.validate("download_media", (), {"media": media_object(kind="document", file_length=50_000_000)})
    assert valid.model_dump()["media"]["file_length"] == 50_000_000


def test_file_sha256_is_required():
    # goneonize asks whatsmeow to check the file against it (allowNoHash=false): without it
    # the download could only fail, after fetching the file.
    no_hash = {k: v for k, v in media_object().items() if k != "file_sha256"}
    for media in (no_hash, media_object(file_sha256=None)):
        with pytest.raises(InvalidArguments, match="file_sha256"):
            operations.validate("download_media", (), {"media": media})


def test_the_media_argument_is_an_object():
    with pytest.raises(InvalidArguments, match="media"):
        operations.validate("download_media", ("/v/x",), {})


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("download failed with status code 410", True),
        ("download failed with status code 404", True),
        ("download failed with status code 403", True),
        ("failed to download media from last host: download failed with status code 410", True),
        ("invalid media hmac", True),
        ("hash of media plaintext doesn't match", True),
        ("hash of media ciphertext doesn't match", True),
        ("download failed with status code 502", False),
        ('failed to download media from last host: Get "https://mmg.whatsapp.net/v/x": EOF', False),
        ("failed to refresh media connections: failed to send query: websocket not connected", False),
    ],
)
def test_expired_or_mismatched_media_is_permanent_and_network_trouble_is_not(text, refused):
    assert (go_errors.media_download_refused(text) is not None) is refused


# Storing ------------------------------------------------------------------------------------
@pytest.fixture
def settings(tmp_path):
    return Settings(_env_file=None, backend="fake", data_dir=tmp_path / "data", media_dir=tmp_path / "media")


def test_stored_content_addressed_0600_in_a_0700_folder(settings):
    result = downloads.store({"data_b64": b64(CONTENT), "mimetype": "image/jpeg"}, media_object(), settings)
    digest = hashlib.sha256(CONTENT).hexdigest()
    assert result == {
        "path": str(settings.media_path / f"{digest}.jpg"),
        "mimetype": "image/jpeg",
        "size": len(CONTENT),
        "sha256": digest,
    }
    path = settings.media_path / f"{digest}.jpg"
    assert path.read_bytes() == CONTENT
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.media_path.stat().st_mode) == 0o700
    assert sorted(p.name for p in settings.media_path.iterdir()) == [path.name]  # no temporary left
    again = downloads.store({"data_b64": b64(CONTENT)}, media_object(), settings)
    assert again == result


def test_bytes_that_do_not_match_file_sha256_are_not_stored(settings):
    with pytest.raises(InvalidArguments, match="do not match file_sha256"):
        downloads.store({"data_b64": b64(CONTENT + b"x")}, media_object(), settings)
    assert not settings.media_path.exists() or not any(settings.media_path.iterdir())


def test_bytes_over_the_kind_cap_are_not_stored(settings):
    big = b"\0" * (MAX_DOWNLOAD_BYTES["sticker"] + 1)
    with pytest.raises(InvalidArguments, match="sticker may have"):
        downloads.store({"data_b64": b64(big)}, media_object(kind="sticker", file_sha256=None), settings)


@pytest.mark.parametrize(
    ("mimetype", "ext"),
    [
        ("audio/ogg; codecs=opus", "ogg"),
        ("image/webp", "webp"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "bin"),
        ("../../x/y", "bin"),
    ],
)
def test_the_extension_comes_from_a_fixed_table(mimetype, ext):
    assert downloads.extension(mimetype) == ext


def test_a_name_that_is_not_content_addressed_is_never_written(tmp_path):
    with pytest.raises(ValueError):
        downloads.write(tmp_path, "../escape.jpg", b"x")
    assert not (tmp_path.parent / "escape.jpg").exists()


def test_retention_removes_old_downloads_only(tmp_path):
    old = time.time() - 8 * 86400
    folder = tmp_path / "media"
    folder.mkdir()
    stale = folder / (("a" * 64) + ".jpg")
    fresh = folder / (("b" * 64) + ".jpg")
    mine = folder / "invoice.pdf"  # an app's file to send: never removed
    outside = tmp_path / (("c" * 64) + ".jpg")
    for path in (stale, fresh, mine, outside):
        path.write_bytes(b"x")
    link = folder / (("d" * 64) + ".jpg")
    link.symlink_to(outside)
    for path in (stale, mine, outside):
        os.utime(path, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)
    assert downloads.prune(folder, 7 * 86400, force=True) == 1
    assert not stale.exists()
    assert fresh.exists() and mine.exists() and outside.exists() and link.is_symlink()
    # At most once an hour unless forced.
    os.utime(fresh, (old, old))
    assert downloads.prune(folder, 7 * 86400) == 0
    assert downloads.prune(folder, 7 * 86400, force=True) == 1


# The job, against a stand-in host ------------------------------------------------------------
class StubHost:
    def __init__(self, data: bytes):
        self.data = data
        self.reached = False
        self.calls: list[tuple[str, dict, bool]] = []

    def call(self, operation, params, *, deadline, connect_wait, acknowledge=False, before_write=None):
        self.calls.append((operation, params, acknowledge))
        return {"mimetype": params["media"].get("mime_type"), "data_b64": b64(self.data)}


def test_the_job_stores_what_the_host_returns(settings):
    media = fake_media("M1", "image")
    obj = {"kind": "image", "mime_type": "image/jpeg", **{k: v for k, v in media.items() if k != "url"}}
    host = StubHost(fake_media_bytes(base64.b64decode(media["media_key"]), media["file_length"]))
    runtime = jobs.Runtime(settings=settings, conn=fakeredis.FakeRedis(), host=host, slot=1)  # type: ignore[arg-type]
    runtime.begin(30, job_id="job-1")
    jobs.bind(runtime)
    try:
        result = wa.download_media(obj)
    finally:
        jobs.bind(None)
    assert host.calls[0][0] == "download_media" and host.calls[0][2] is False  # not a send
    assert result["sha256"] == base64.b64decode(media["file_sha256"]).hex()
    assert result["path"] == str(settings.media_path / f"{result['sha256']}.jpg")
    assert result["size"] == media["file_length"] and result["mimetype"] == "image/jpeg"


# The fake's conventions ----------------------------------------------------------------------
@pytest.fixture
def fake_backend(settings, monkeypatch):
    from wagw.whatsapp import fake

    monkeypatch.setattr(fake, "connect", lambda settings: fakeredis.FakeRedis())
    return fake.FakeBackend(settings, "worker-1")


def test_the_fake_serves_its_media_and_fails_as_whatsmeow_would(fake_backend):
    from wagw.whatsapp.backend import BackendError

    media = media_object(**{k: v for k, v in fake_media("M2", "audio").items() if k != "url"}, kind="audio")
    served = fake_backend.download_media(media)
    assert hashlib.sha256(base64.b64decode(served["data_b64"])).digest() == base64.b64decode(media["file_sha256"])
    for path, status in (("/v/t62.7118-24/x.enc", 404), ("/v/t62.fake/expired.enc", 410)):
        with pytest.raises(InvalidArguments, match=f"status code {status}"):
            fake_backend.download_media({**media, "direct_path": path})
    with pytest.raises(BackendError, match="simulated failure"):
        fake_backend.download_media({**media, "direct_path": "/v/t62.fake/fail.enc"})
