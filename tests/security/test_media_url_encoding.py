"""A media URL whose server answers with a compression bomb: a reply of about a kilobyte,
gzipped twice (`Content-Encoding: gzip, gzip`), that inflates to hundreds of MiB. The
wa-worker asks for the body as it is (`Accept-Encoding: identity`), refuses any encoded
reply before decoding a byte of it, reads no redirect's body, and never holds more than the
size cap plus one chunk of a body."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from wagw.config import Settings
from wagw.operations.args import MAX_IMAGE_BYTES, InvalidArguments
from workers.wa import media

BOMB_MIB = 256  # what the bomb inflates to: far over send_image's 16 MiB cap


def _gzip_of_zeros(mib: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip stream
    zeros = bytes(1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(mib)) + packer.flush()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, "png")
    return buffer.getvalue()


PNG = _png()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    twice = gzip.compress(_gzip_of_zeros(BOMB_MIB), 9)
    assert len(twice) < 4096, len(twice)
    return twice


class _Server:
    """127.0.0.1: /bomb the doubly gzipped reply, /gzip a gzipped PNG, /a.png the PNG as is,
    /redirect-bomb a 302 whose body is the bomb, /endless-redirect a 302 with a body that never
    ends, /huge a Content-Length far over the cap."""

    def __init__(self, bomb: bytes) -> None:
        self.requests: list[dict[str, str]] = []
        self.redirect_body_sent: list[int] = []  # bytes of /endless-redirect's body written
        self.redirect_done = threading.Event()
        requests, redirect_body_sent, redirect_done = self.requests, self.redirect_body_sent, self.redirect_done

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
                if self.path == "/bomb":
                    self._reply(200, bomb, {"Content-Encoding": "gzip, gzip"})
                elif self.path == "/gzip":
                    self._reply(200, gzip.compress(PNG), {"Content-Encoding": "gzip"})
                elif self.path == "/redirect-bomb":
                    self._reply(302, bomb, {"Content-Encoding": "gzip, gzip", "Location": "/a.png"})
                elif self.path == "/endless-redirect":
                    self.send_response(302)
                    self.send_header("Location", "/a.png")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    written = 0
                    try:
                        for _ in range(BOMB_MIB * 4):  # 64 MiB, unless the client hangs up
                            self.wfile.write(bytes(1 << 16))
                            written += 1 << 16
                    except OSError:
                        pass
                    redirect_body_sent.append(written)
                    redirect_done.set()
                elif self.path == "/huge":
                    self.send_response(200)
                    self.send_header("Content-Length", str(10 << 30))
                    self.end_headers()
                else:
                    self._reply(200, PNG, {})

            def _reply(self, status, body, headers):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(bomb):
    running = _Server(bomb)
    yield running
    running.close()


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "media").mkdir()
    # The server is on loopback: private fetches allowed, as an operator may.
    return Settings(_env_file=None, data_dir=tmp_path, backend="fake", fetch_private=True)


def _send_image(settings: Settings, url: str) -> dict:
    return media.image_params({"to": "1@s.whatsapp.net", "image": url}, settings, None)


def test_the_body_is_asked_for_as_is(settings, server):
    _send_image(settings, f"{server.url}/a.png")
    assert server.requests[-1]["accept-encoding"] == "identity"


@pytest.mark.parametrize("path", ["/bomb", "/gzip", "/redirect-bomb"])
def test_an_encoded_reply_is_refused_at_once(settings, server, path):
    with pytest.raises(InvalidArguments) as caught:
        _send_image(settings, f"{server.url}{path}")
    assert str(caught.value) == (
        "invalid arguments for send_image: image: the URL cannot be used: "
        "the server encoded the body (Content-Encoding), and wagw takes it only as is"
    )


def test_a_redirects_body_is_not_read(settings, server):
    params = _send_image(settings, f"{server.url}/endless-redirect")
    assert params["mimetype"] == "image/png"
    assert [request["path"] for request in server.requests] == ["/endless-redirect", "/a.png"]
    assert server.redirect_done.wait(30)
    # The worker hung up after the headers: only what socket buffers took was written.
    assert server.redirect_body_sent and server.redirect_body_sent[0] < 32 << 20, server.redirect_body_sent


def test_a_declared_length_over_the_cap_is_refused_before_reading(settings, server):
    with pytest.raises(InvalidArguments, match=f"the URL cannot be used: more than {MAX_IMAGE_BYTES} bytes"):
        _send_image(settings, f"{server.url}/huge")


_PROBE = """
import json, sys
from wagw.config import Settings
from wagw.operations.args import InvalidArguments
from workers.wa import media

base, data_dir = sys.argv[1], sys.argv[2]
settings = Settings(_env_file=None, data_dir=data_dir, backend="fake", fetch_private=True)
def send(path):
    return media.image_params({"to": "1@s.whatsapp.net", "image": base + path}, settings, None)
def peak_kib():  # this process's own peak RSS (ru_maxrss would carry the parent's over exec)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
send("/a.png")  # httpx, TLS and the image checks loaded
before = peak_kib()
outcomes = {}
for path in ("/bomb", "/redirect-bomb"):
    try:
        send(path)
        outcomes[path] = "sent"
    except Exception as error:
        outcomes[path] = type(error).__name__
after = peak_kib()
print(json.dumps({"grew_kib": after - before, "outcomes": outcomes}))
"""


def test_a_bomb_never_grows_the_worker_past_the_cap(server, tmp_path):
    """Peak memory of a fresh process fetching the bomb, directly and behind a redirect."""
    (tmp_path / "media").mkdir()
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, server.url, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    probe = json.loads(run.stdout.strip().splitlines()[-1])
    assert probe["outcomes"] == {"/bomb": "InvalidArguments", "/redirect-bomb": "InvalidArguments"}, probe
    cap_kib = MAX_IMAGE_BYTES // 1024
    print(f"bomb: peak memory grew {probe['grew_kib']} KiB")
    assert probe["grew_kib"] < cap_kib, f"peak memory grew {probe['grew_kib']} KiB for a {BOMB_MIB} MiB bomb"
