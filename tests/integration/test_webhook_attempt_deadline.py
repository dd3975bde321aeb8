"""WAGW_WEBHOOK_TIMEOUT bounds a whole delivery attempt, not each read: a receiver that
answers one byte at a time, each well within the timeout, cannot hold an attempt (and a lane
thread) for longer than the timeout. A real trickling server on 127.0.0.1, bounded in bytes
and in time, against the delivery client and against a real `wagw webhook-worker`."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from rq.job import Job

from chaos.polling import wait_for
from tests.integration.webhook_harness import Processes
from wagw.config import Settings
from wagw.redisconn import SERIALIZER
from wagw.webhooks.enqueue import enqueue_deliveries
from workers.webhooks.http import WebhookHttp
from workers.webhooks.policy import Verdict

TIMEOUT = 2.0
SLACK = 1.0  # scheduling on a loaded machine; the trickle alone would go on for 20 s
TRICKLE_EVERY = 0.3  # seconds between two bytes: each read is far within the timeout
MAX_BYTES = 70  # bounds: the server never sends more than this, nor for longer than
MAX_SECONDS = 20.0


class TricklingServer:
    """Reads a request, then sends `reply` one byte every TRICKLE_EVERY seconds (after
    `fast` bytes sent at once), until it is sent, MAX_BYTES or MAX_SECONDS are reached, or the
    client goes away. Records, per connection, how long the client held it."""

    def __init__(self, reply: bytes, fast: int = 0) -> None:
        self.reply, self.fast = reply, fast
        self.held: list[float] = []  # seconds from accept to the client's close
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._serve, daemon=True)]
        self._threads[0].start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=MAX_SECONDS + 5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._trickle, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _trickle(self, conn: socket.socket) -> None:
        accepted = time.monotonic()
        with conn:
            conn.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            head, _, body = request.partition(b"\r\n\r\n")
            lengths = [
                line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
            ]
            length = int(lengths[0]) if lengths else 0
            while len(body) < length:
                body += conn.recv(65536)
            conn.settimeout(0.05)
            conn.sendall(self.reply[: self.fast])
            sent = self.fast
            while sent < min(len(self.reply), MAX_BYTES) and time.monotonic() - accepted < MAX_SECONDS:
                if self._stop.wait(TRICKLE_EVERY):
                    return
                try:
                    conn.sendall(self.reply[sent : sent + 1])
                    if conn.recv(1) == b"":  # the client closed its end
                        break
                except TimeoutError:
                    pass  # nothing from the client: it is still waiting for us
                except OSError:  # reset: the client is gone
                    break
                sent += 1
            self.held.append(time.monotonic() - accepted)


STATUS_LINE_AND_HEADERS = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 200 + b"\r\nContent-Length: 2\r\n\r\nok"
BODY_TRICKLE = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100\r\n\r\n" + b"b" * 100


@pytest.fixture
def http():
    client = WebhookHttp(connect_timeout=TIMEOUT, total_timeout=TIMEOUT)
    yield client
    client.close()


def test_a_response_trickled_byte_by_byte_ends_the_attempt_at_the_timeout_as_a_retryable_timeout(http):
    server = TricklingServer(STATUS_LINE_AND_HEADERS)
    try:
        started = time.monotonic()
        outcome = http.post(server.url, b"{}", {"Content-Type": "application/json"})
        took = time.monotonic() - started
    finally:
        server.close()
    assert took <= TIMEOUT + SLACK, f"the attempt took {took:.1f} s at a {TIMEOUT} s timeout"
    assert outcome.status is None and (outcome.error or "").startswith("timeout"), outcome
    assert outcome.verdict is Verdict.RETRY


def test_a_trickled_body_after_the_status_ends_at_the_timeout_and_keeps_the_status(http):
    server = TricklingServer(BODY_TRICKLE, fast=BODY_TRICKLE.index(b"\r\n\r\n") + 4)
    try:
        started = time.monotonic()
        outcome = http.post(server.url, b"{}", {"Content-Type": "application/json"})
        took = time.monotonic() - started
    finally:
        server.close()
    assert took <= TIMEOUT + SLACK, f"the attempt took {took:.1f} s at a {TIMEOUT} s timeout"
    assert outcome.status == 503 and outcome.verdict is Verdict.RETRY


def test_the_webhook_worker_lets_go_of_a_trickling_receiver_at_the_timeout_and_retries(
    settings_env, data_dir, redis_conn
):
    server = TricklingServer(STATUS_LINE_AND_HEADERS)
    procs = Processes(data_dir)
    try:
        for name, value in {
            "WAGW_WEBHOOK_URLS": server.url,
            "WAGW_WEBHOOK_SECRET": "the-real-webhook-secret-0123",
            "WAGW_WEBHOOK_TIMEOUT": str(TIMEOUT),
            "WAGW_WEBHOOK_RETRY_SCHEDULE": "60",
        }.items():
            settings_env.setenv(name, value)
            procs.env[name] = value
        body = json.dumps({"event": "message", "id": "ev-slow", "payload": {"id": "P-slow"}})
        with redis_conn.pipeline() as pipe:
            enqueue_deliveries(pipe, Settings(_env_file=None), "ev-slow", "message", body)
            pipe.execute()
        [job_id] = [i.decode() for i in redis_conn.lrange("rq:queue:webhooks", 0, -1)]
        procs.worker()
        job = Job.fetch(job_id, connection=redis_conn, serializer=SERIALIZER)
        wait_for(lambda: job.get_status(refresh=True) == "scheduled", 30, 0.1, "the attempt to end and be retried")
        job.refresh()
        assert job.meta["attempts"] == 1 and job.meta["last_error"].startswith("timeout"), job.meta
        wait_for(lambda: server.held, 5, 0.05, "the server to see the connection closed")
        assert server.held[0] <= TIMEOUT + SLACK + 2 * TRICKLE_EVERY, f"held for {server.held[0]:.1f} s"
    finally:
        procs.stop_all()
        server.close()
        print(procs.logs())
