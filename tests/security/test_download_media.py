"""download_media's attack cases: a media object is JSON from any app. Whatever it holds, the
file goes into WAGW_MEDIA_DIR only, mode 0600, under a content-addressed name; path tricks
are refused before the host; wagw itself fetches no URL (whatsmeow asks WhatsApp's media
hosts for the direct path); retention never removes anything else."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import stat
import time

import fakeredis
import pytest

from wagw.config import Settings
from wagw.operations.args import InvalidArguments
from wagw.whatsapp import fake as fake_module
from wagw.whatsapp.fake_inbound import fake_media
from workers import wa
from workers.wa import downloads, jobs
from workers.wa.host import Host
from workers.wa.host_client import HostClient


class LocalHost:
    """The native host's part in this process: Host._execute on the fake backend, its reply
    through JSON and HostClient._result, as over the pipe."""

    def __init__(self, settings: Settings, backend: fake_module.FakeBackend):
        self.settings, self.backend = settings, backend
        self.reached = False

    def call(self, operation, params, *, deadline, connect_wait, acknowledge=False, before_write=None):
        reply = Host(self.settings, 1, io.StringIO(), io.StringIO())._execute(self.backend, 1, operation, params)
        return HostClient(self.settings, 1)._result(json.loads(json.dumps(reply)))


@pytest.fixture
def settings(tmp_path):
    return Settings(_env_file=None, data_dir=tmp_path / "data", media_dir=tmp_path / "data" / "media", backend="fake")


@pytest.fixture
def download(settings, monkeypatch):
    """`download(obj)`: the download_media job on the fake backend, as a wa-worker runs it."""
    conn = fakeredis.FakeRedis()
    monkeypatch.setattr(fake_module, "connect", lambda settings: conn)
    backend = fake_module.FakeBackend(settings, "worker-1")
    runtime = jobs.Runtime(settings=settings, conn=conn, host=LocalHost(settings, backend), slot=1)  # type: ignore[arg-type]
    jobs.bind(runtime)

    def run(obj: dict) -> dict:
        runtime.begin(30, job_id="job-1")
        try:
            return wa.download_media(obj)
        finally:
            runtime.end()

    yield run
    jobs.bind(None)


def event_media(message_id: str = "3EB0SEC", kind: str = "image") -> dict:
    fields = {k: v for k, v in fake_media(message_id, kind).items() if k != "url"}
    return {"kind": kind, "mime_type": "image/jpeg", **fields}


def files(root) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def test_a_genuine_download_is_content_addressed_0600_in_the_media_folder(download, settings, tmp_path):
    result = download(event_media())
    path = settings.media_path / f"{result['sha256']}.jpg"
    assert result["path"] == str(path) and path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.media_path.stat().st_mode) == 0o700
    assert files(tmp_path) == {"data", "data/media", f"data/media/{path.name}"}


@pytest.mark.parametrize(
    "changes",
    [
        {"direct_path": "../../../../etc/cron.d/x"},
        {"direct_path": "/v/t62.fake/../../../../tmp/x.enc"},
        {"direct_path": "/v/t62.fake/./x"},
        {"direct_path": "/v/t62.fake/..%2f..%2fx/.."},
        {"direct_path": "//evil.example/x"},
        {"direct_path": "@evil.example/x"},  # whatsmeow writes "https://" + host + direct_path
        {"direct_path": "https://evil.example/x"},
        {"direct_path": "/v/x\\..\\..\\x"},
        {"direct_path": "/v/x\x00.jpg"},
        {"direct_path": "/v/x\nX-Injected: 1"},
        {"kind": "../x"},
        {"kind": "/etc/passwd"},
        {"kind": "image/../../x"},
        {"mime_type": "image/jpeg\r\nX: y"},
        {"path": "/etc/passwd"},  # no caller-chosen file names or folders
        {"filename": "../../x.jpg"},
        {"name": "x.jpg"},
        {"media_dir": "/tmp"},
    ],
)
def test_path_tricks_are_refused_before_anything_is_downloaded_or_written(download, settings, tmp_path, changes):
    with pytest.raises(InvalidArguments):
        download({**event_media(), **changes})
    assert files(tmp_path) <= {"data"}


def test_a_weird_but_valid_direct_path_still_writes_only_a_content_addressed_file(download, settings, tmp_path):
    """A direct path is only ever a request to WhatsApp's media hosts: never a file name."""
    obj = {**event_media(), "direct_path": "/v/t62.fake/%2e%2e%2f%2e%2e%2fescape.jpg?x=../../y"}
    result = download(obj)
    assert os.path.dirname(result["path"]) == str(settings.media_path)
    assert os.path.basename(result["path"]) == f"{result['sha256']}.jpg"
    assert files(tmp_path) == {"data", "data/media", f"data/media/{result['sha256']}.jpg"}


def test_the_extension_never_comes_from_the_caller(download, settings):
    result = download({**event_media(), "mime_type": "image/../../../x"})
    assert result["path"].endswith(".bin") and os.path.dirname(result["path"]) == str(settings.media_path)


def test_a_symlink_planted_under_the_files_name_is_replaced_not_followed(download, settings, tmp_path):
    obj = event_media()
    digest = base64.b64decode(obj["file_sha256"]).hex()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    settings.media_path.mkdir(parents=True)
    (settings.media_path / f"{digest}.jpg").symlink_to(victim)
    result = download(obj)
    assert victim.read_text() == "keep me"
    assert not os.path.islink(result["path"]) and stat.S_IMODE(os.stat(result["path"]).st_mode) == 0o600


def test_bytes_that_are_not_the_events_file_are_refused(download, settings, tmp_path):
    """The fake serves bytes from the media key: another key's bytes do not hash to
    file_sha256 (whatsmeow's check), and nothing is written."""
    obj = {**event_media(), "media_key": event_media("3EB0OTHER")["media_key"]}
    with pytest.raises(InvalidArguments, match="does not match"):
        download(obj)
    assert files(tmp_path) <= {"data"}


def test_no_url_from_the_object_is_fetched_by_wagw(download, monkeypatch):
    """The event's url is not an argument; a download opens no connection from wagw's Python
    (with the neonize backend whatsmeow fetches the direct path from WhatsApp's hosts)."""
    with pytest.raises(InvalidArguments, match="url: Extra inputs are not permitted"):
        download({**event_media(), "url": "http://169.254.169.254/latest/meta-data/"})

    def no_network(*args, **kwargs):
        raise AssertionError("wagw opened a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr("workers.wa.fetch.fetch", no_network)
    assert download(event_media())["size"] > 0


def test_expired_media_on_the_fake_is_a_permanent_failure(download, tmp_path):
    with pytest.raises(InvalidArguments, match="status code 410") as caught:
        download({**event_media(), "direct_path": "/v/t62.fake/expired.enc"})
    assert caught.value.permanent
    assert files(tmp_path) <= {"data"}


def test_retention_never_touches_files_outside_the_folder_or_not_named_as_downloads(settings, tmp_path):
    folder = settings.media_path
    folder.mkdir(parents=True)
    old = time.time() - 30 * 86400
    outside = tmp_path / ("e" * 64 + ".jpg")
    nested = folder / "sub"
    nested.mkdir()
    inner = nested / ("f" * 64 + ".jpg")
    app_file = folder / "to-send.pdf"
    for path in (outside, inner, app_file):
        path.write_bytes(b"x")
        os.utime(path, (old, old))
    link = folder / ("a" * 64 + ".jpg")
    link.symlink_to(outside)
    assert downloads.prune(folder, 60, force=True) == 0
    assert outside.exists() and inner.exists() and app_file.exists() and link.is_symlink()
