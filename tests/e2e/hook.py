"""A webhook endpoint for e2e tests that need whole bodies: it keeps every request (headers and
raw body) and answers 200. chaos.receiver checks signatures and keeps receipts instead."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rq import Queue
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer


class Hook:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                requests.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def messages(self, message_id: str) -> list[dict]:
        """Every `message` body delivered for this WhatsApp message id, in arrival order."""
        found = []
        for _headers, raw in list(self.requests):
            body = json.loads(raw)
            if body.get("event") == "message" and body["payload"].get("id") == message_id:
                found.append(body)
        return found

    def message(self, message_id: str) -> dict | None:
        """The payload of the first delivery of that message, if any."""
        found = self.messages(message_id)
        return found[0]["payload"] if found else None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def webhooks_settled(daemon) -> bool:
    """Nothing left to deliver: the webhooks queue, its scheduled and started registries empty."""
    conn = daemon.redis
    queue = Queue("webhooks", connection=conn, serializer=JSONSerializer)
    return (
        queue.count == 0 and ScheduledJobRegistry(queue=queue).count == 0 and StartedJobRegistry(queue=queue).count == 0
    )
