"""One pooled keep-alive HTTP client per process, and one POST -> one `Outcome`.

The client is httpcore's connection pool (keep-alive, TLS: what httpx sits on) used directly,
without httpx's client layer (cookies, redirects, auth, event hooks), which wagw does not use
and which costs about 40 % of the CPU per request here (docs/webhooks.md, "Throughput"); httpx
still parses the URL and the headers, as it would.
Redirects are not followed: a webhook URL should be the final one, and following a 301/302
would turn the POST into a GET.

A whole attempt (connect, TLS, sending, the response and its body) ends at one deadline,
WAGW_WEBHOOK_TIMEOUT after it started. httpcore's timeouts apply to each network wait on its
own, so a receiver that answers one byte at a time, each within the timeout, could otherwise
hold an attempt (and its lane's thread) for ever: the pool's network backend cuts every wait
to the time left before the calling thread's deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import httpcore
import httpx

from workers.webhooks.policy import Outcome, parse_retry_after, snippet

# Enough for any reply a receiver sends back; a larger body is cut and its connection dropped.
MAX_RESPONSE_BYTES = 64 * 1024
# A request is written in pieces of at most this, each given the time left.
WRITE_CHUNK = 64 * 1024
# As httpx's default: an idle kept-alive connection is closed after this many seconds.
KEEPALIVE_EXPIRY = 5.0


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


class WebhookHttp:
    """Thread-safe. `connect_timeout` bounds the TCP/TLS connect; `total_timeout` bounds the
    whole attempt, the connect included."""

    def __init__(self, connect_timeout: float, total_timeout: float, max_keepalive: int = 64) -> None:
        self.total_timeout = total_timeout
        connect = min(connect_timeout, total_timeout)
        self._timeouts = {"connect": connect, "read": total_timeout, "write": total_timeout, "pool": total_timeout}
        self.backend = DeadlineBackend()
        # No cap on connections in the pool: each endpoint's concurrency is capped by its
        # lane instead, so one stuck endpoint cannot hold connections another one needs.
        self.pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=None,
            max_keepalive_connections=max_keepalive,
            keepalive_expiry=KEEPALIVE_EXPIRY,
            retries=0,
            network_backend=self.backend,
        )

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        started = time.monotonic()
        parsed = httpx.Request("POST", url, content=body, headers=headers)  # URL and headers as httpx writes them
        request = httpcore.Request(
            method=b"POST",
            url=httpcore.URL(
                scheme=parsed.url.raw_scheme, host=parsed.url.raw_host, port=parsed.url.port, target=parsed.url.raw_path
            ),
            headers=parsed.headers.raw,
            content=body,
            extensions={"timeout": self._timeouts},
        )
        with self.backend.deadline(self.total_timeout):
            try:
                response = self.pool.handle_request(request)
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
                response.close()
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
        self.pool.close()
