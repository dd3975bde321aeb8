"""One POST -> one `Outcome`, over keep-alive connections each lane thread keeps for itself.

The client is httpcore's HTTP/1.1 connection (keep-alive, TLS: what httpx sits on) used
directly: without httpx's client layer (cookies, redirects, auth, event hooks), which wagw does
not use, and without httpcore's shared pool, whose lock, per-request bookkeeping and scan of
every pooled connection cost more CPU than the request itself once a worker's threads share it
(docs/webhooks.md, "Throughput"). A thread owns its connection to each origin, so none is ever
shared. httpx parses each endpoint URL once and the request's headers are written as httpx
writes them.
Redirects are not followed: a webhook URL should be the final one, and following a 301/302
would turn the POST into a GET.

A whole attempt (connect, TLS, sending, the response and its body) ends at one deadline,
WAGW_WEBHOOK_TIMEOUT after it started. httpcore's timeouts apply to each network wait on its
own, so a receiver that answers one byte at a time, each within the timeout, could otherwise
hold an attempt (and its lane's thread) for ever: the connections' network backend cuts every
wait to the time left before the calling thread's deadline.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpcore
import httpx

from workers.webhooks.policy import Outcome, parse_retry_after, snippet

# Enough for any reply a receiver sends back; a larger body is cut and its connection dropped.
MAX_RESPONSE_BYTES = 64 * 1024
# A request is written in pieces of at most this, each given the time left.
WRITE_CHUNK = 64 * 1024
# As httpx's default: an idle kept-alive connection is closed after this many seconds.
KEEPALIVE_EXPIRY = 5.0
# Endpoint URLs parsed and kept (one per configured endpoint; more only if the configuration changes).
MAX_TARGETS = 1024


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's synchronous network backend, with every wait (connect, each read, each
    write, the TLS handshake) cut to the time left before the calling thread's deadline, and
    the right timeout error once it has passed. Outside `deadline()`, httpcore's own timeouts."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._local = threading.local()

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        self._local.at = time.monotonic() + seconds
        try:
            yield
        finally:
            self._local.at = None

    def left(self, timeout: float | None, expired: type[Exception]) -> float | None:
        at: float | None = getattr(self._local, "at", None)
        if at is None:
            return timeout
        remaining = at - time.monotonic()
        if remaining <= 0:
            raise expired("the attempt's time is spent")
        return remaining if timeout is None else min(timeout, remaining)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        wait = self.left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, wait, local_address, socket_options), self)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.NetworkStream:
        wait = self.left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, wait, socket_options), self)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, backend: DeadlineBackend) -> None:
        self._stream = stream
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._backend.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # The inner write sends until done with one timeout: in pieces, each gets the time left.
        for start in range(0, len(buffer), WRITE_CHUNK):
            piece = buffer[start : start + WRITE_CHUNK]
            self._stream.write(piece, self._backend.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        wait = self._backend.left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, wait), self._backend)

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)


@dataclass(frozen=True)
class _Target:
    """An endpoint URL as httpx parses it, kept: the request line's parts and the Host header."""

    origin: httpcore.Origin
    where: tuple[bytes, bytes, int]  # the origin, as a key
    url: httpcore.URL
    host: bytes


class WebhookHttp:
    """Thread-safe: each thread has its own connections. `connect_timeout` bounds the TCP/TLS
    connect; `total_timeout` bounds the whole attempt, the connect included."""

    def __init__(self, connect_timeout: float, total_timeout: float) -> None:
        self.total_timeout = total_timeout
        connect = min(connect_timeout, total_timeout)
        self._timeouts = {"connect": connect, "read": total_timeout, "write": total_timeout, "pool": total_timeout}
        self.backend = DeadlineBackend()
        self._ssl_context = httpx.create_ssl_context()
        self._targets: dict[str, _Target] = {}
        self._local = threading.local()  # .connections: origin -> this thread's connection
        # Every connection still open, for close(); a thread's own are dropped with it.
        self._open: weakref.WeakSet[httpcore.HTTPConnection] = weakref.WeakSet()
        self._open_lock = threading.Lock()

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            parsed = httpx.Request("POST", url)  # the URL as httpx reads it and the Host it writes
            raw = parsed.url
            request_url = httpcore.URL(scheme=raw.raw_scheme, host=raw.raw_host, port=raw.port, target=raw.raw_path)
            origin = request_url.origin
            where = (origin.scheme, origin.host, origin.port)
            target = _Target(origin=origin, where=where, url=request_url, host=parsed.headers.raw[0][1])
            if len(self._targets) >= MAX_TARGETS:
                self._targets.clear()
            self._targets[url] = target
        return target

    def _connection(self, target: _Target) -> httpcore.HTTPConnection:
        """This thread's connection to the target's origin: kept while idle, alive and not past its
        keep-alive expiry (closed by the peer, left mid-response or failed: a new one)."""
        connections: dict[tuple, httpcore.HTTPConnection] | None = getattr(self._local, "connections", None)
        if connections is None:
            connections = self._local.connections = {}
        connection = connections.get(target.where)
        if connection is not None and connection.is_idle() and not connection.has_expired():
            return connection
        if connection is not None:
            connection.close()
        connection = httpcore.HTTPConnection(
            target.origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=KEEPALIVE_EXPIRY,
            network_backend=self.backend,
        )
        connections[target.where] = connection
        with self._open_lock:
            self._open.add(connection)
        return connection

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        started = time.monotonic()
        target = self._target(url)
        raw = [(b"Host", target.host)]  # httpx's order: Host, the given headers, Content-Length
        raw += [(name.encode("ascii"), value.encode("ascii")) for name, value in headers.items()]
        raw.append((b"Content-Length", b"%d" % len(body)))
        timeouts = {"timeout": self._timeouts}
        request = httpcore.Request(b"POST", target.url, headers=raw, content=body, extensions=timeouts)
        with self.backend.deadline(self.total_timeout):
            try:
                response = self._connection(target).handle_request(request)
            except httpcore.TimeoutException as error:
                return Outcome(None, time.monotonic() - started, error=f"timeout ({type(error).__name__})")
            except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as error:
                # Error texts can quote what the peer sent: kept short and escaped like a reply.
                return Outcome(None, time.monotonic() - started, error=snippet(f"{type(error).__name__}: {error}"))
            try:
                text = self._read_body(response)
            except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError):
                text = ""  # the status is what counts; a broken or late body does not undo it
            finally:
                response.close()  # a body left unread (cut at the cap, or broken) closes the connection
        retry_after = next((value for name, value in response.headers if name.lower() == b"retry-after"), None)
        return Outcome(
            response.status,
            time.monotonic() - started,
            retry_after=parse_retry_after(retry_after.decode("latin-1") if retry_after is not None else None),
            snippet=snippet(text) if not 200 <= response.status < 300 else "",
        )

    def _read_body(self, response: httpcore.Response) -> str:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_stream():
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_RESPONSE_BYTES:
                break
        return b"".join(chunks)[:MAX_RESPONSE_BYTES].decode("utf-8", "replace")

    def close(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            connection.close()
