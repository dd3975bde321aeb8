"""A local webhook receiver that can misbehave on command.

One threaded HTTP server on 127.0.0.1 serves every endpoint (a path each). Modes:
- "ok": answer 200;
- "503": answer 503;
- "429": answer 429 with Retry-After;
- "down": really stop listening (the socket is closed, connections are refused) until
  the mode changes again, on the same port.
Every request is checked against both wagw signatures and recorded per endpoint with what
was answered, so the run can count what was lost and what was delivered twice.
HTTP/1.0 (one request per connection), so a "down" receiver never serves a kept-alive one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "down", "503", "429")
SIGNATURE_MAX_AGE = 300  # seconds: X-Wagw-Signature's timestamp must be this fresh


@dataclass
class Receipt:
    endpoint: str
    event_id: str | None  # the body's top-level "id"
    header_event_id: str | None  # X-Wagw-Event-Id
    payload_id: str | None  # the WhatsApp message id (payload "id")
    event: str | None
    status: int  # what the receiver answered
    time: float  # unix time the answer was decided
    attempt: str | None  # X-Wagw-Attempt
    signature_ok: bool
    problem: str | None = None  # why a signature or body check failed
    accepted: float = 0.0  # unix time the request's handler started (before reading the body)
    user_agent: str | None = None
    peer: str | None = None  # client address: which connection delivered it
    body_head: str | None = None  # the first bytes of a body that failed a check
    media: str | None = None  # a media message: "path", "download_error", or what was wrong with it
    account: str | None = None  # the body's top-level "account"
    header_account: str | None = None  # X-Wagw-Account
    device_id: str | None = None  # the body's top-level "device_id"


def check_signatures(secret: bytes, body: bytes, headers) -> str | None:
    """None if both signatures verify, else what is wrong."""
    hub = headers.get("X-Hub-Signature-256") or ""
    expected_hub = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(hub, expected_hub):
        return f"X-Hub-Signature-256 mismatch: {hub[:20]!r}"
    wagw = headers.get("X-Wagw-Signature") or ""
    parts = dict(part.split("=", 1) for part in wagw.split(",") if "=" in part)
    stamp, v1 = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit():
        return f"X-Wagw-Signature without a timestamp: {wagw[:40]!r}"
    expected = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(v1, expected):
        return "X-Wagw-Signature mismatch"
    if abs(time.time() - int(stamp)) > SIGNATURE_MAX_AGE:
        return f"X-Wagw-Signature timestamp {stamp} is stale"
    return None


class Receiver:
    def __init__(self, secret: str, endpoints: list[str], port: int = 0, retry_after: int = 2) -> None:
        self.secret = secret.encode()
        self.endpoints = list(endpoints)
        self.retry_after = retry_after
        self.mode = "ok"
        self.receipts: list[Receipt] = []
        # Requests whose sender went away mid-body (a webhook worker SIGKILLed while sending):
        # like any HTTP server, the receiver drops them unanswered; the sender retries.
        self.incomplete = 0
        self.mode_changes: list[tuple[float, str]] = []  # (time, mode): the outages, for the raw record
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port or _free_port()

    # Addresses --------------------------------------------------------------------------
    def url(self, endpoint: str) -> str:
        return f"http://127.0.0.1:{self.port}/{endpoint}"

    @property
    def urls(self) -> list[str]:
        return [self.url(endpoint) for endpoint in self.endpoints]

    # Modes ------------------------------------------------------------------------------
    def start(self) -> Receiver:
        self.set_mode("ok")
        return self

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown receiver mode {mode!r}")
        with self._lock:
            self.mode = mode
            self.mode_changes.append((time.time(), mode))
        if mode == "down":
            self._stop_listening()
        else:
            self._listen()

    def close(self) -> None:
        self._stop_listening()

    def _listen(self) -> None:
        if self._server is not None:
            return
        deadline = time.monotonic() + 10
        while True:
            try:
                server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
                break
            except OSError:  # the old socket is not released yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="receiver", daemon=True
        )
        self._thread.start()

    def _stop_listening(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # Requests ---------------------------------------------------------------------------
    def _answer(self, endpoint: str, body: bytes, headers, accepted: float, peer: str) -> tuple[int, dict[str, str]]:
        problem = check_signatures(self.secret, body, headers)
        event_id = payload_id = event = account = device_id = media = None
        try:
            data = json.loads(body)
            event_id, event = data.get("id"), data.get("event")
            account, device_id = data.get("account"), data.get("device_id")
            payload_id = (data.get("payload") or {}).get("id")
            media = media_outcome(data.get("payload") or {})
        except (ValueError, AttributeError) as error:
            problem = problem or f"body is not a JSON object: {error}"
        with self._lock:
            mode = self.mode
            if endpoint not in self.endpoints:
                status, extra = 404, {}
            elif problem is not None:
                status, extra = 401, {}
            elif mode == "503":
                status, extra = 503, {}
            elif mode == "429":
                status, extra = 429, {"Retry-After": str(self.retry_after)}
            else:  # "ok", or "down" for a request that was accepted just before
                status, extra = 200, {}
            self.receipts.append(
                Receipt(
                    endpoint=endpoint,
                    event_id=event_id,
                    header_event_id=headers.get("X-Wagw-Event-Id"),
                    payload_id=payload_id,
                    event=event,
                    status=status,
                    time=time.time(),
                    attempt=headers.get("X-Wagw-Attempt"),
                    signature_ok=problem is None,
                    problem=problem,
                    accepted=accepted,
                    user_agent=headers.get("User-Agent"),
                    peer=peer,
                    body_head=body[:300].decode("utf-8", "replace") if problem else None,
                    account=account,
                    header_account=headers.get("X-Wagw-Account"),
                    device_id=device_id,
                    media=media,
                )
            )
        return status, extra

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:
                accepted = time.time()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the connection closed before the whole body came
                    with receiver._lock:
                        receiver.incomplete += 1
                    self.close_connection = True
                    return
                status, extra = receiver._answer(
                    self.path.strip("/"),
                    body,
                    self.headers,
                    accepted,
                    f"{self.client_address[0]}:{self.client_address[1]}",
                )
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:  # quiet: the run reports figures instead
                pass

        return Handler

    # Reading ----------------------------------------------------------------------------
    def snapshot(self) -> list[Receipt]:
        with self._lock:
            return list(self.receipts)

    def delivered_ids(self, endpoint: str) -> set[str]:
        """Payload ids answered 2xx at `endpoint`."""
        return {r.payload_id for r in self.snapshot() if r.endpoint == endpoint and 200 <= r.status < 300}

    def dump(self) -> list[dict]:
        return [asdict(r) for r in self.snapshot()]


def media_outcome(payload: dict) -> str | None:
    """For a media message (WAGW_MEDIA_AUTO_DOWNLOAD on): "path" when its media field is the
    local path (a string, or {path, caption}) and no download_error; "download_error" when it
    kept the URL object and says why; anything else names what is wrong. None: not media."""
    media = payload.get("media")
    if not isinstance(media, dict) or not isinstance(media.get("kind"), str):
        return None
    field = payload.get(media["kind"])
    has_path = isinstance(field, str) or (isinstance(field, dict) and isinstance(field.get("path"), str))
    has_url = isinstance(field, dict) and isinstance(field.get("url"), str)
    error = payload.get("download_error")
    if has_path and not has_url and error is None:
        return "path"
    if has_url and not has_path and isinstance(error, str) and error:
        return "download_error"
    return "malformed: " + ("path and download_error" if has_path else "neither path nor download_error")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
