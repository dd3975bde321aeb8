"""download_media through neonize's own download_media_with_path and the ctypes boundary,
goneonize's DownloadMediaWithPath answered as whatsmeow answers (whatsmeow.World): the media
object an inbound message carries, the file stored, and whatsmeow's failures."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from tests.conformance.names import ALICE
from tests.conformance.test_outbound import job, worker  # noqa: F401  (the connected worker-1 fixture)

PATH = "/v/t62.7118-24/29872354_1208391_n.enc?ccb=11-4&oh=01_Q5AaIB&oe=6A77D5A9&_nc_sid=5e03e0"
KEY = bytes(range(32))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x01" * 500
TS = 1_764_412_200


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def media_object(path: str = PATH, content: bytes = JPEG, key: bytes = KEY, **changes) -> dict:
    obj = {
        "kind": "image",
        "mime_type": "image/jpeg",
        "direct_path": path,
        "media_key": b64(key),
        "file_sha256": b64(hashlib.sha256(content).digest()),
        "file_enc_sha256": b64(hashlib.sha256(b"cipher" + content).digest()),
        "file_length": len(content),
    }
    obj.update(changes)
    return obj


def serve(go) -> None:
    go.call("serve_media", direct_path=PATH, content_b64=b64(JPEG), key_b64=b64(KEY))


def test_an_inbound_image_carries_the_media_object_download_media_takes(session):
    image = {
        "URL": "https://mmg.whatsapp.net" + PATH,
        "mimetype": "image/jpeg",
        "caption": "look",
        "fileSHA256": b64(hashlib.sha256(JPEG).digest()),
        "fileLength": str(len(JPEG)),
        "mediaKey": b64(KEY),
        "fileEncSHA256": b64(hashlib.sha256(b"cipher" + JPEG).digest()),
        "directPath": PATH,
    }
    spec = {"kind": "message", "id": "3EB0M1", "sender": ALICE, "message": {"imageMessage": image}, "unix": TS}
    delivered = session.call("deliver", specs=[spec])
    assert not delivered["stub_errors"]
    [body] = [json.loads(event) for event in delivered["events"]]
    assert body["payload"]["media"] == media_object()
    assert body["payload"]["image"]["url"] == "https://mmg.whatsapp.net" + PATH


def test_download_media_stores_the_bytes_whatsmeow_returns(worker, data_dir):  # noqa: F811
    serve(worker)
    result = job(worker, "download_media", media=media_object())["result"]
    digest = hashlib.sha256(JPEG).hexdigest()
    media_dir = Path(data_dir) / "media"
    assert result == {
        "path": str(media_dir / f"{digest}.jpg"),
        "mimetype": "image/jpeg",
        "size": len(JPEG),
        "sha256": digest,
    }
    assert Path(result["path"]).read_bytes() == JPEG
    assert stat.S_IMODE(os.stat(result["path"]).st_mode) == 0o600
    [call] = worker.call("calls", entry="DownloadMediaWithPath")
    # neonize passes the path as given, the hashes and key as bytes, and whatsmeow's MediaImage
    # with its mms type "image" (stickers too; video notes as video).
    assert call == {
        "entry": "DownloadMediaWithPath",
        "direct_path": PATH,
        "enc_file_hash": 32,
        "file_hash": 32,
        "media_key": 32,
        "file_length": len(JPEG),
        "media_type": 0,
        "mms_type": "image",
    }


@pytest.mark.parametrize(
    ("kind", "media_type", "mms"),
    [("sticker", 0, "image"), ("video_note", 1, "video"), ("audio", 2, "audio"), ("document", 3, "document")],
)
def test_each_kind_asks_for_whatsmeows_media_type(worker, kind, media_type, mms):  # noqa: F811
    serve(worker)
    assert "result" in job(worker, "download_media", media=media_object(kind=kind))
    [call] = worker.call("calls", entry="DownloadMediaWithPath")
    assert (call["media_type"], call["mms_type"]) == (media_type, mms)


@pytest.mark.parametrize("status", [410, 404, 403])
def test_expired_media_fails_at_once_and_is_never_retried(worker, status):  # noqa: F811
    serve(worker)
    worker.call("set_world", media_status={PATH: status})
    failed = job(worker, "download_media", media=media_object())
    assert failed["error"] == "InvalidArguments" and failed["permanent"]
    assert "no longer on WhatsApp's servers" in failed["message"]
    assert f"download failed with status code {status}" in failed["message"]


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"key": bytes(32)}, "invalid media hmac"),
        ({"file_sha256": b64(hashlib.sha256(b"other").digest())}, "hash of media plaintext doesn't match"),
    ],
)
def test_a_media_object_that_does_not_match_the_file_fails_at_once(worker, changes, text):  # noqa: F811
    serve(worker)
    failed = job(worker, "download_media", media=media_object(**changes))
    assert failed["error"] == "InvalidArguments" and failed["permanent"]
    assert text in failed["message"] and "does not match the file" in failed["message"]


@pytest.mark.parametrize(
    ("world", "text"),
    [
        (
            {"media_status": {PATH: 502}},
            "failed to download media from last host: download failed with status code 502",
        ),
        (
            {"media_network_error": 'Get "https://mmg.whatsapp.net/v/t62": EOF'},
            "failed to download media from last host",
        ),
    ],
)
def test_network_trouble_and_server_errors_are_retried(worker, world, text):  # noqa: F811
    serve(worker)
    worker.call("set_world", **world)
    failed = job(worker, "download_media", media=media_object())
    assert failed["error"] == "BackendError" and not failed["permanent"]
    assert failed["message"].startswith("download_media failed: ") and text in failed["message"]


def test_bad_objects_never_reach_go(worker):  # noqa: F811
    serve(worker)
    for bad in ({"direct_path": "/v/../../x"}, {"kind": "../x"}, {"file_length": 10**9}):
        failed = job(worker, "download_media", media={**media_object(), **bad})
        assert failed["error"] == "InvalidArguments"
    assert worker.call("calls", entry="DownloadMediaWithPath") == []


def test_a_media_object_without_its_plaintext_hash_is_refused_before_go(worker):  # noqa: F811
    # goneonize passes allowNoHash=false: without file_sha256 whatsmeow checks the file
    # against 32 zero bytes, so the download could only ever fail after fetching it.
    serve(worker)
    media = media_object()
    del media["file_sha256"]
    failed = job(worker, "download_media", media=media)
    assert failed["error"] == "InvalidArguments" and failed["permanent"]
    assert "file_sha256" in failed["message"]
    assert worker.call("calls", entry="DownloadMediaWithPath") == []
