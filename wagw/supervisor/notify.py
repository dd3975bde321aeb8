"""systemd's notify protocol: READY, STATUS, STOPPING and watchdog pings (no-ops elsewhere)."""

from __future__ import annotations

import contextlib
import os

import sdnotify


class Notifier:
    def __init__(self) -> None:
        self._enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self._notifier = sdnotify.SystemdNotifier() if self._enabled else None
        if self._notifier is not None and self._notifier.socket is not None:
            # A manager that stops reading must never stall the supervisor: drop the message.
            self._notifier.socket.setblocking(False)
        self._last_status = ""
        usec = os.environ.get("WATCHDOG_USEC", "")
        # Ping at half the interval systemd expects, as sd_watchdog_enabled(3) advises.
        self.watchdog_interval = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None

    def _send(self, message: str) -> None:
        # UTF-8, as systemd reads it: sdnotify's own notify() encodes Latin-1 and silently drops
        # a message with any other character (a STATUS naming a fix with "—" would be lost).
        if self._notifier is not None and self._notifier.socket is not None:
            with contextlib.suppress(OSError):
                self._notifier.socket.sendall(message.encode())

    def ready(self, status: str) -> None:
        self._send(f"READY=1\nSTATUS={status}")

    def status(self, status: str) -> None:
        if status != self._last_status:
            self._last_status = status
            self._send(f"STATUS={status}")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")
