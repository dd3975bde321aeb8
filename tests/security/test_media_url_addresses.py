"""Spellings of the host's own addresses in a media URL: IPv6 forms that carry an IPv4
address (IPv4-compatible, SIIT, NAT64, 6to4, Teredo) and inet_aton's numeric forms
(`0177.0.0.1`, `2130706433`, `0x7f.1`). The wa-worker refuses each before a connection, never
with a retryable connection failure; and a URL that does not parse, the job's or a
redirect's, fails the job as InvalidArguments naming the argument, never a raw parser
error."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wagw.config import Settings
from wagw.operations.args import InvalidArguments
from workers.wa import media

REFUSED = "invalid arguments for send_image: image: the URL cannot be used: the URL's host is not a public address"
INVALID = "invalid arguments for send_image: image: the URL cannot be used: not a valid http(s) URL"


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


@pytest.mark.parametrize(
    "host",
    ["0177.0.0.1", "2130706433", "0x7f.1", "0x7f000001", "127.1", "017700000001", "0x7f.0.0.1", "0177.1"],
)
def test_numeric_spellings_of_loopback_are_refused(settings, loopback, host):
    """inet_aton's octal, hexadecimal and short forms all mean 127.0.0.1 to the resolver."""
    port, hits = loopback
    with pytest.raises(InvalidArguments) as caught:
        media.image_params({"to": "1@s.whatsapp.net", "image": f"http://{host}:{port}/a.png"}, settings, None)
    assert str(caught.value) in (REFUSED, INVALID), str(caught.value)
    assert hits == []


@pytest.mark.parametrize(
    "url",
    [
        "http://0177.0.0.1/",
        "http://256.1.1.1/",
        "http://[::1/",
        "http://[1:2:3]/",
        "http://[v1.x]/",
        "http://exa\x00mple/",
        "http://a\tb/",
        "http://a b/",
        "http://%zz/",
        "http://:80/",
        "http:///x",
        "http://",
        "https://user:pw@/x",
        "http://example.com:abc/",
        "http://example.com:99999/",
        "http://example.com:0/",
        "http://xn--/",
        "http://\u2024/",
        "http://\ufeff/",
        "http://" + "a" * 64 + ".example/",
    ],
)
@pytest.mark.parametrize("name", ["send_image", "send_file"])
def test_a_url_that_does_not_parse_fails_as_invalid_arguments_never_retried(settings, url, name):
    argument = {"send_image": "image", "send_file": "file"}[name]
    with pytest.raises(InvalidArguments) as caught:
        media.prepare(name, {"to": "1@s.whatsapp.net", argument: url}, settings, None)
    assert str(caught.value) == INVALID.replace("send_image: image", f"{name}: {argument}")


def test_a_redirect_to_a_url_that_does_not_parse_is_not_retried(tmp_path):
    """The server's Location is no valid URL: the job fails at once, it is not a network error."""
    locations = ["http://[::1/x", "http://a b/x", "http://0177.0.0.1/x", "http:// /x"]
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(302)
            self.send_header("Location", locations[int(self.path.strip("/"))])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    (tmp_path / "media").mkdir()
    allowed = Settings(_env_file=None, data_dir=tmp_path, backend="fake", fetch_private=True)
    try:
        for index in range(len(locations)):
            url = f"http://127.0.0.1:{httpd.server_address[1]}/{index}"
            with pytest.raises(InvalidArguments) as caught:
                media.image_params({"to": "1@s.whatsapp.net", "image": url}, allowed, None)
            message = str(caught.value)
            assert message.endswith("the URL cannot be used: a redirect went to an invalid URL"), locations[index]
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert hits == [f"/{index}" for index in range(len(locations))]
