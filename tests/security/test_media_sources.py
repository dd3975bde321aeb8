"""An enqueuer with bad intent names files and URLs in media arguments (finding 5 of the
trust issue): it must not read files outside WAGW_MEDIA_DIR, reach the host's own network, or
learn anything about either from the error messages."""

from __future__ import annotations

import base64
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from wagw.config import Settings
from wagw.operations.args import InvalidArguments
from workers.wa import fetch, media


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buffer, "png")
    return buffer.getvalue()


PNG = _png()  # a real image: the wa-worker checks that an image decodes before sending it


class _Server:
    """An HTTP server on one loopback address: serves PNG at /a.png, redirects /go?to=URL."""

    def __init__(self, host: str) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                if self.path.startswith("/go?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path.removeprefix("/go?to="))
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(PNG)))
                self.end_headers()
                self.wfile.write(PNG)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def inside():
    server = _Server("127.0.0.1")  # stands for the host's own network
    yield server
    server.close()


@pytest.fixture
def outside(monkeypatch):
    """A server the test treats as a public address (127.0.0.2: loopback, but 'public' here)."""
    server = _Server("127.0.0.2")
    real = fetch.is_public
    monkeypatch.setattr(fetch, "is_public", lambda address: address == "127.0.0.2" or real(address))
    yield server
    server.close()


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "media").mkdir()
    return Settings(_env_file=None, data_dir=tmp_path, backend="fake")


def _send_image(settings: Settings, image: str) -> dict:
    return media.image_params({"to": "1@s.whatsapp.net", "image": image}, settings, None)


def test_a_file_outside_the_media_folder_is_not_read_and_not_told_apart_from_a_missing_one(settings, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)  # looks like an image: the old code sent it to anyone
    messages = set()
    for path in (str(secret), "../secret.png", "./../secret.png", f"file://{secret}", str(tmp_path / "nothing.png")):
        with pytest.raises(InvalidArguments) as caught:
            media.read_media_file(path.removeprefix("file://"), settings.media_path)
        messages.add(str(caught.value))
    assert messages == {"invalid arguments for send_image: image: not a file in the media folder (WAGW_MEDIA_DIR)"}


def test_a_symlink_out_of_the_media_folder_is_refused(settings, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    (settings.media_path / "link.png").symlink_to(secret)
    with pytest.raises(InvalidArguments, match="not a file in the media folder"):
        _send_image(settings, "file://link.png")
    with pytest.raises(InvalidArguments):
        _send_image(settings, str(settings.media_path / "link.png"))


def test_a_file_inside_the_media_folder_is_sent(settings):
    (settings.media_path / "ok.png").write_bytes(PNG)
    params = _send_image(settings, str(settings.media_path / "ok.png"))
    assert base64.b64decode(params["image_b64"]) == PNG and params["mimetype"] == "image/png"


def test_loopback_and_metadata_urls_are_refused_without_a_connection(settings, inside):
    for url in (
        f"{inside.url}/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:1/x",
        "http://0.0.0.0:80/",
        "http://10.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
    ):
        with pytest.raises(InvalidArguments) as caught:
            _send_image(settings, url)
        assert str(caught.value).endswith("the URL cannot be used: the URL's host is not a public address")
    assert inside.hits == []


def test_a_redirect_to_the_host_network_is_refused_at_that_hop(settings, outside, inside):
    with pytest.raises(InvalidArguments, match="not a public address"):
        _send_image(settings, f"{outside.url}/go?to={inside.url}/a.png")
    assert outside.hits and inside.hits == []
    # The same redirect to a public address is followed.
    params = _send_image(settings, f"{outside.url}/go?to={outside.url}/a.png")
    assert base64.b64decode(params["image_b64"]) == PNG


def test_the_checked_address_is_the_one_connected_to(settings, outside, inside, monkeypatch):
    """DNS rebinding: a name that resolves to a public address for the check and to a private
    one a moment later must be fetched from the checked address."""
    answers = iter(["127.0.0.2", "127.0.0.1", "127.0.0.1"])
    real = fetch.socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.test":
            return real(next(answers), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(fetch.socket, "getaddrinfo", rebinding)
    port = outside.url.rsplit(":", 1)[1]
    inside.url.rsplit(":", 1)[1]
    assert True
    params = _send_image(settings, f"http://rebind.test:{port}/a.png")
    assert base64.b64decode(params["image_b64"]) == PNG
    assert outside.hits == ["/a.png"] and inside.hits == []


def test_errors_do_not_tell_closed_ports_from_refused_hosts(settings, monkeypatch):
    monkeypatch.setattr(fetch, "is_public", lambda address: True)  # as if the LAN were public
    messages = set()
    for url in ("http://127.0.0.1:1/a.png", "http://127.0.0.1:9/a.png"):
        with pytest.raises(media.ImageDownloadFailed) as caught:
            _send_image(settings, url)
        messages.add(str(caught.value))
    assert messages == {"downloading the image failed: the connection failed"}


def test_private_urls_are_allowed_only_when_the_operator_says_so(tmp_path, inside):
    (tmp_path / "media").mkdir()
    allowed = Settings(_env_file=None, data_dir=tmp_path, fetch_private=True)
    params = _send_image(allowed, f"{inside.url}/a.png")
    assert base64.b64decode(params["image_b64"]) == PNG
