"""The chaos receiver judges only whole requests: one whose sender died mid-body (a webhook
worker SIGKILLed while sending) is dropped unanswered, as any HTTP server drops it, and is
neither a receipt nor a bad signature."""

from __future__ import annotations

import socket

from chaos.polling import wait_for
from chaos.receiver import Receiver


def test_a_request_cut_mid_body_is_dropped_not_judged():
    receiver = Receiver("secret-of-sixteen-bytes", ["hook"]).start()
    try:
        port = int(receiver.url("hook").split(":")[2].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sender:
            sender.sendall(b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b'{"id": "cut')
        wait_for(lambda: receiver.incomplete == 1, 5, what="the cut request noticed")
        assert receiver.snapshot() == []
    finally:
        receiver.close()
