"""One pooled keep-alive HTTP client per process, and one POST -> one `Outcome`.

The client is an httpx transport (httpx's connection pool, keep-alive, TLS) used through its
public `handle_request`: the same pool httpx.Client sits on, without the per-request cost of
the client layer (cookies, redirects, auth, event hooks), which wagw does not use and which
costs about 40 % of the CPU per request here (docs/webhooks.md, "Throughput").
Redirects are not followed: a webhook URL should be the final one, and following a 301/302
would turn the POST into a GET.
"""

from __future__ import annotations

import time

import httpx

from workers.webhooks.policy import Outcome, parse_retry_after, snippet

# Enough for any reply a receiver sends back; a larger body is cut and its connection dropped.
MAX_RESPONSE_BYTES = 64 * 1024


class WebhookHttp:
    """Thread-safe. `connect_timeout` bounds the TCP/TLS connect; `total_timeout` bounds every
    other wait (sending, the response, its body) and the body is read only while the total
    time is not spent."""

    def __init__(self, connect_timeout: float, total_timeout: float, max_keepalive: int = 64) -> None:
        self.total_timeout = total_timeout
        self._timeouts = httpx.Timeout(
            total_timeout, connect=min(connect_timeout, total_timeout), pool=total_timeout
        ).as_dict()
        # No cap on connections in the pool: each endpoint's concurrency is capped by its
        # lane instead, so one stuck endpoint cannot hold connections another one needs.
        self.transport = httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=max_keepalive),
            retries=0,
        )

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        started = time.monotonic()
        request = httpx.Request("POST", url, content=body, headers=headers, extensions={"timeout": self._timeouts})
        try:
            response = self.transport.handle_request(request)
        except httpx.TimeoutException as error:
            return Outcome(None, time.monotonic() - started, error=f"timeout ({type(error).__name__})")
        except httpx.HTTPError as error:
            # Error texts can quote what the peer sent: kept short and escaped like a reply.
            return Outcome(None, time.monotonic() - started, error=snippet(f"{type(error).__name__}: {error}"))
        try:
            text = self._read_body(response, started)
        except httpx.HTTPError:
            text = ""  # the status is what counts; a broken body does not undo it
        finally:
            response.close()
        return Outcome(
            response.status_code,
            time.monotonic() - started,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            snippet=snippet(text) if not 200 <= response.status_code < 300 else "",
        )

    def _read_body(self, response: httpx.Response, started: float) -> str:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_raw():
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_RESPONSE_BYTES or time.monotonic() - started > self.total_timeout:
                break
        return b"".join(chunks)[:MAX_RESPONSE_BYTES].decode("utf-8", "replace")

    def close(self) -> None:
        self.transport.close()
