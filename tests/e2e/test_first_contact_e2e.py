"""First contact, with `wagw run` as a subprocess and the fake backend's simulated pairing.

- No terminal (as under systemd): the unpaired session is fatal with its instruction; a
  `wagw pair` from another process brings it up, and an unpaired wa-worker slot connects,
  without a restart of the daemon or of any other child (same pids).
- On a terminal (a pseudo-terminal here): `wagw run` asks, the answer pairs, the session
  comes up; while the question waits, the supervisor keeps restarting what dies.

The daemons use the test run's Redis, so the simulated "unpaired" state is set before they
start.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time

import pytest
from rq import Queue

from chaos.polling import wait_for
from wagw import keys
from wagw.redisconn import SERIALIZER

pytestmark = pytest.mark.e2e


def pids(daemon) -> dict[str, int | None]:
    return {p["name"]: p["pid"] for p in daemon.snapshot()["processes"]}


def pair(daemon, role: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wagw", "pair", "--role", role],
        env=daemon.env,
        cwd=daemon.data_dir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def device_state(daemon, role: str) -> str | None:
    raw = daemon.redis.hget(keys.DEVICE_STATUS.format(role=role), "state")
    return raw.decode() if raw else None


def test_a_device_paired_while_running_is_picked_up_without_restarts(daemon_factory, redis_url, redis_conn):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, mapping={"session": "unpaired", "worker-1": "unpaired"})
    daemon = daemon_factory({"WAGW_REDIS_URL": redis_url}).start()
    session = wait_for(lambda: (p := daemon.process("session")).get("state") == "fatal" and p, 15, what="fatal")
    assert session["last_exit"] == 80 and "not_paired" in session["last_exit_reason"]
    assert "Pairing on this terminal" not in daemon.log_text()  # no terminal: nobody is asked
    wait_for(lambda: device_state(daemon, "worker-1") == "unpaired", 15, what="worker-1 unpaired")
    before = pids(daemon)

    result = pair(daemon, "session")
    assert result.returncode == 0, result.stdout + result.stderr
    wait_for(lambda: daemon.process("session").get("state") == "running", 15, what="the session running again")
    after = pids(daemon)
    assert daemon.snapshot()["pid"] == daemon.pid
    assert {n: p for n, p in after.items() if n != "session"} == {n: p for n, p in before.items() if n != "session"}
    assert after["session"] is not None
    wait_for(lambda: device_state(daemon, "session") == "connected", 15, what="the session connected")

    # A slot: its wa-worker notices the pairing at its next idle beat and starts a fresh host.
    result = pair(daemon, "worker-1")
    assert result.returncode == 0, result.stdout + result.stderr
    wait_for(lambda: device_state(daemon, "worker-1") == "connected", 45, 0.2, "worker-1 connected")
    job = Queue(keys.WA_QUEUE, connection=daemon.redis, serializer=SERIALIZER).enqueue(
        "workers.wa.fetch_avatar", jid="15551234567@s.whatsapp.net"
    )
    wait_for(lambda: job.get_status(refresh=True) == "finished", 20, 0.1, "the avatar job")
    assert pids(daemon) == after  # nobody restarted for the slot either
    assert daemon.stop() == 0


def test_with_neonize_the_start_check_leaves_the_supervisor_without_it(daemon_factory):
    daemon = daemon_factory({"WAGW_BACKEND": "neonize", "WAGW_WA_CONNECT_WAIT": "5"}).start()
    with open(f"/proc/{daemon.proc.pid}/maps") as maps:
        assert "neonize" not in maps.read()  # it was loaded, but in the probe's child
    session = wait_for(lambda: (p := daemon.process("session")).get("state") == "fatal" and p, 30, what="fatal")
    assert session["last_exit"] == 80  # no store: unpaired, never connected
    assert "wagw pair --role session" in daemon.log_text()
    assert daemon.stop() == 0


class Terminal:
    """A pseudo-terminal whose output is read continuously (a full pty would stall the writer)."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.output = b""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if ready:
                    data = os.read(self.master, 65536)
                    if not data:
                        return
                    with self._lock:
                        self.output += data
            except OSError:
                return

    def text(self) -> str:
        with self._lock:
            return self.output.decode(errors="replace")

    def type(self, line: str) -> None:
        os.write(self.master, line.encode())

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def test_on_a_terminal_wagw_run_asks_and_pairs_while_everything_keeps_running(daemon_factory, redis_url, redis_conn):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "session", "unpaired")
    daemon = daemon_factory({"WAGW_REDIS_URL": redis_url})
    terminal = Terminal()
    try:
        daemon.proc = subprocess.Popen(
            [sys.executable, "-m", "wagw", "run"],
            env=daemon.env,
            cwd=daemon.data_dir,
            stdin=terminal.slave,
            stdout=terminal.slave,
            stderr=terminal.slave,
            start_new_session=True,
        )
        wait_for(lambda: "pair> " in terminal.text(), 30, 0.1, "the question on the terminal")
        assert "Enter           show a QR code" in terminal.text()
        assert daemon.process("session")["state"] == "fatal"

        # The supervisor's loop does not wait for the answer: a killed worker is replaced.
        victim = daemon.child_pid("webhook-worker-1")
        os.kill(victim, signal.SIGKILL)
        wait_for(
            lambda: daemon.child_pid("webhook-worker-1") not in (None, victim),
            10,
            0.05,
            "webhook-worker-1 replaced while the question waits",
        )
        shown = terminal.text()
        assert "webhook-worker-1: running -> backoff" not in shown  # held back: the QR code stays on screen

        terminal.type("\n")  # Enter: a QR code (simulated by the fake backend)
        wait_for(lambda: daemon.process("session").get("state") == "running", 20, 0.1, "the session running")
        wait_for(lambda: "log lines held while pairing" in terminal.text(), 10, 0.1, "the held lines")
        text = terminal.text()
        assert "session: paired as 15550001111:1@s.whatsapp.net" in text
        assert text.index("log lines held while pairing") < text.index("webhook-worker-1: running -> backoff")
        assert daemon.snapshot()["pid"] == daemon.proc.pid
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=30) == 0
    finally:
        terminal.close()


def test_on_a_terminal_a_skipped_question_leaves_the_session_fatal(daemon_factory, redis_url, redis_conn):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "session", "unpaired")
    daemon = daemon_factory({"WAGW_REDIS_URL": redis_url})
    terminal = Terminal()
    try:
        daemon.proc = subprocess.Popen(
            [sys.executable, "-m", "wagw", "run"],
            env=daemon.env,
            cwd=daemon.data_dir,
            stdin=terminal.slave,
            stdout=terminal.slave,
            stderr=terminal.slave,
            start_new_session=True,
        )
        wait_for(lambda: "pair> " in terminal.text(), 30, 0.1, "the question on the terminal")
        terminal.type("s\n")
        wait_for(lambda: "pairing on the terminal ended" in terminal.text(), 10, 0.1, "the pairing to end")
        time.sleep(1.5)  # a look or two of the supervisor: nothing to restart, nothing asked again
        assert daemon.process("session")["state"] == "fatal"
        assert terminal.text().count("pair> ") == 1
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=30) == 0
    finally:
        terminal.close()
