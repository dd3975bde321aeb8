"""Spellings of the host's own addresses in a media URL: IPv6 forms that carry an IPv4
address (IPv4-compatible, SIIT, NAT64, 6to4, Teredo). The wa-worker refuses each before a
connection, with the one "not a public address" message, never a retryable connection
failure."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wagw.config import Settings
from wagw.operations.args import InvalidArguments
from workers.wa import media

REFUSED = "invalid arguments for send_image: image: the URL cannot be used: the URL's host is not a public address"


@pytest.fixture
def loopback():
    """A server on 127.0.0.1 that counts what reaches it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], hits
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "media").mkdir()
    return Settings(_env_file=None, data_dir=tmp_path, backend="fake")


@pytest.mark.parametrize(
    "host",
    [
        "[::127.0.0.1]",
        "[::ffff:0:127.0.0.1]",
        "[64:ff9b::127.0.0.1]",
        "[64:ff9b::a9fe:a9fe]",
        "[64:ff9b:1::7f00:1]",
        "[2002:7f00:1::1]",
        "[2001:0:7f00:1:0:ffff:f7f7:f7f7]",  # Teredo, server 127.0.0.1
        "[2001:0:808:808:0:ffff:80ff:fffe]",  # Teredo, client 127.0.0.1
    ],
)
def test_ipv6_forms_of_the_hosts_own_addresses_are_refused(settings, loopback, host):
    port, hits = loopback
    with pytest.raises(InvalidArguments) as caught:
        media.image_params({"to": "1@s.whatsapp.net", "image": f"http://{host}:{port}/a.png"}, settings, None)
    assert str(caught.value) == REFUSED
    assert hits == []
