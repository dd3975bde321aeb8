"""What the webhook integration tests run against: a real endpoint and real wagw processes.

`Receiver`: a threaded http.server on 127.0.0.1 (random port) that records every request and
answers as the test scripts it; it can go down (listener closed, open keep-alive connections
dropped) and come back on the same port. `Processes`: `python -m wagw scheduler` and
`python -m wagw webhook-worker` children with the test's environment."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    time: float  # time.time() when the request was complete
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int = 0  # what the receiver answered

    @property
    def event_id(self) -> str:
        return self.headers.get("x-wagw-event-id", "")

    @property
    def attempt(self) -> int:
        return int(self.headers.get("x-wagw-attempt", "0"))


# (request, how many requests for this event id came before it) -> (status, headers, body)
Responder = Callable[[Received, int], "tuple[int, dict[str, str], bytes]"]


def always(status: int = 200, headers: dict[str, str] | None = None, body: bytes = b"ok") -> Responder:
    return lambda request, before: (status, headers or {}, body)


def sequence(*statuses: int, then: int = 200, headers: dict[str, str] | None = None) -> Responder:
    """Per event id: the n-th request gets statuses[n], later ones `then`."""

    def respond(request: Received, before: int) -> tuple[int, dict[str, str], bytes]:
        status = statuses[before] if before < len(statuses) else then
        return status, (headers or {}) if status != then else {}, f"status {status}".encode()

    return respond


class Receiver:
    def __init__(self, respond: Responder | None = None, delay: float = 0.0) -> None:
        self.respond = respond or always()
        self.delay = delay
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._down = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Receiver:
        self._down.clear()
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def down(self) -> None:
        """Refuse connections, and drop requests on connections already open."""
        self._down.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def up(self) -> None:
        self.start()

    stop = down

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.down()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook?token=t0ps3cret"

    # ---- what arrived ---------------------------------------------------------------------------

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def for_event(self, event_id: str) -> list[Received]:
        return [r for r in self.snapshot() if r.event_id == event_id]

    def delivered(self) -> Counter:
        """event id -> number of 2xx answers it got."""
        return Counter(r.event_id for r in self.snapshot() if 200 <= r.status < 300)

    # ---- the server -------------------------------------------------------------------------------

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

            def do_POST(self) -> None:
                if receiver._down.is_set():
                    self.close_connection = True
                    return  # no answer: the sender sees the connection drop
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                request = Received(time.time(), self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    before = sum(1 for r in receiver.requests if r.event_id == request.event_id)
                    status, headers, reply = receiver.respond(request, before)
                    request.status = status
                    receiver.requests.append(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        return Handler


# ---- real wagw processes --------------------------------------------------------------------------


class Processes:
    """`python -m wagw scheduler` and `python -m wagw webhook-worker` children for one test,
    with the test's WAGW_ environment; logs go to files in the data dir."""

    def __init__(self, data_dir, **env: str) -> None:
        import os

        self.data_dir = data_dir
        self.env = dict(os.environ.items())
        self.env.update({"PYTHONUNBUFFERED": "1", "WAGW_LOG_LEVEL": "DEBUG"})
        self.env.update(env)
        self.procs: dict[str, object] = {}

    def start(self, name: str, *argv: str):
        import subprocess
        import sys

        with open(self.data_dir / f"{name}.log", "a") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen(
                [sys.executable, "-m", "wagw", *argv],
                env={**self.env, "WAGW_PROCESS_NAME": name},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.procs[name] = proc
        return proc

    def scheduler(self):
        return self.start("scheduler", "scheduler")

    def worker(self, n: int = 1):
        return self.start(f"webhook-worker-{n}", "webhook-worker")

    def stop(self, name: str, timeout: float = 30.0) -> int:
        import signal
        import subprocess

        proc = self.procs.pop(name)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"{name} did not stop within {timeout} s of SIGTERM") from None

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            with contextlib.suppress(AssertionError):
                self.stop(name)

    def logs(self) -> str:
        return "\n".join(f"==== {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.data_dir.glob("*.log")))


def stock_burst(queue) -> None:
    """Run `queue`'s jobs with rq's own SimpleWorker in burst mode, as `rq worker --burst`
    does, minus its command channel: that channel's thread reads with a 60 s timeout, and
    closing it at the end of a burst can wait for that read (a minute per burst, nothing
    these tests look at)."""
    from rq import SimpleWorker

    class WithoutCommands(SimpleWorker):
        def subscribe(self) -> None:
            pass

    WithoutCommands([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)
