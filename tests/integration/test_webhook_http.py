"""The delivery client's connections: kept alive per thread, never shared between threads, a
new one when the receiver closed the last, a reply past the size cap cut with its connection,
and close() closing every thread's. A real HTTP/1.1 server on 127.0.0.1 that counts its
connections and records what each request carried."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chaos.polling import wait_for
from workers.webhooks.http import MAX_RESPONSE_BYTES, WebhookHttp


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.connections: list[int] = []  # per connection: requests served on it
        self.open = 0
        self.requests: list[tuple[list[tuple[str, str]], bytes]] = []  # headers in order, body
        self.close_after = 0  # > 0: answer "Connection: close" to every n-th request of a connection
        self.reply = b"ok"
        self.status = 200
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook?token=t"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Receiver

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.index = len(self.server.connections)
            self.server.connections.append(0)
            self.server.open += 1

    def finish(self) -> None:
        super().finish()
        with self.server.lock:
            self.server.open -= 1

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.connections[self.index] += 1
            served = self.server.connections[self.index]
            self.server.requests.append((list(self.headers.items()), body))
            close = self.server.close_after and served % self.server.close_after == 0
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(self.server.reply)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(self.server.reply)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def http():
    client = WebhookHttp(connect_timeout=5.0, total_timeout=5.0)
    yield client
    client.close()


def test_one_thread_keeps_one_connection_and_sends_the_request_as_httpx_writes_it(receiver, http):
    for n in range(5):
        outcome = http.post(receiver.url, b'{"n": %d}' % n, {"Content-Type": "application/json", "X-Wagw-Attempt": "1"})
        assert outcome.status == 200, outcome
    assert receiver.connections == [5]
    headers, body = receiver.requests[-1]
    port = receiver.server_address[1]
    assert headers == [
        ("Host", f"127.0.0.1:{port}"),
        ("Content-Type", "application/json"),
        ("X-Wagw-Attempt", "1"),
        ("Content-Length", str(len(body))),
    ]
    assert body == b'{"n": 4}'


def test_each_thread_has_its_own_connection_even_taking_turns(receiver, http):
    turns = [threading.Semaphore(1), threading.Semaphore(0)]
    outcomes = []

    def post(me: int) -> None:
        for _ in range(3):
            turns[me].acquire()
            outcomes.append(http.post(receiver.url, b"{}", {}).status)
            turns[1 - me].release()

    threads = [threading.Thread(target=post, args=(me,)) for me in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == [200] * 6
    assert sorted(receiver.connections) == [3, 3]  # a shared pool would have used one for all six


def test_a_connection_the_receiver_closed_is_replaced_without_a_failed_attempt(receiver, http):
    receiver.close_after = 2
    statuses = [http.post(receiver.url, b"{}", {}).status for _ in range(6)]
    assert statuses == [200] * 6
    assert receiver.connections == [2, 2, 2]


def test_a_reply_past_the_cap_is_cut_and_its_connection_dropped(receiver, http):
    receiver.status, receiver.reply = 500, b"x" * (4 * MAX_RESPONSE_BYTES)
    outcome = http.post(receiver.url, b"{}", {})
    assert outcome.status == 500
    assert 0 < len(outcome.snippet) <= 210
    receiver.status, receiver.reply = 200, b"ok"
    assert http.post(receiver.url, b"{}", {}).status == 200
    assert len(receiver.connections) == 2  # the unread rest was not left on a kept connection


def test_close_closes_every_threads_connection(receiver, http):
    threads = [threading.Thread(target=http.post, args=(receiver.url, b"{}", {})) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(receiver.connections) == 3
    wait_for(lambda: receiver.open == 0 or None, timeout=10, what="the threads' connections dropped with them")
    assert http.post(receiver.url, b"{}", {}).status == 200
    assert receiver.open == 1
    http.close()
    wait_for(lambda: receiver.open == 0 or None, timeout=10, what="the receiver to see the connection closed")
