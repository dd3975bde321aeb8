"""The real neonize backend, as far as it goes offline: a client per role with its handlers,
an unpaired store that is never connected, and the offline connect error -> exit code.

Every neonize use runs in a child process (one client per process; pytest must not load
the Go runtime). A "paired" store is a real whatsmeow sqlite store with a synthetic device
row (chaos.devices): neonize accepts it and fails at the network, as a paired device does offline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from chaos.devices import SESSION_JID, WORKER_JID, make_paired_store
from chaos.polling import wait_for
from wagw import keys
from wagw.whatsapp.neonize_events import MAPPERS


def run_py(code: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def neonize_env(settings_env, data_dir) -> dict:
    settings_env.setenv("WAGW_BACKEND", "neonize")
    settings_env.setenv("WAGW_WA_CONNECT_WAIT", "5")
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def store(data_dir: Path, role: str) -> Path:
    return data_dir.resolve() / "devices" / f"{role}.sqlite3"


def test_a_client_per_role_with_its_handlers(neonize_env, data_dir):
    make_paired_store(store(data_dir, "session"), SESSION_JID, neonize_env)
    make_paired_store(store(data_dir, "worker-1"), WORKER_JID, neonize_env)
    code = """
        import json, sys
        from wagw.config import Settings
        from wagw.whatsapp import make_backend
        role = sys.argv[1]
        backend = make_backend(Settings(_env_file=None), role)
        if role == "session":
            backend._on_event = lambda event: None
        client = backend.make_client()
        print(json.dumps({"class": type(backend).__name__, "store": client.name, "jid": backend.device_jid(),
                          "events": backend.registered_events()}))
    """
    results = {}
    for role in ("session", "worker-1"):
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code), role],
            env=neonize_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        results[role] = json.loads(proc.stdout.strip().splitlines()[-1])
    connection = {
        "Connected",
        "Disconnected",
        "KeepAliveTimeout",
        "KeepAliveRestored",
        "LoggedOut",
        "StreamReplaced",
        "TemporaryBan",
        "ConnectFailure",
        "ClientOutdated",
    }
    assert results["session"] == {
        "class": "NeonizeBackend",
        "store": str(store(data_dir, "session")),
        "jid": SESSION_JID,
        "events": sorted(connection | set(MAPPERS)),  # every inbound event class wagw maps
    }
    assert results["worker-1"]["store"] == str(store(data_dir, "worker-1"))
    assert results["worker-1"]["jid"] == WORKER_JID
    assert results["worker-1"]["events"] == sorted(connection)  # outbound only: no inbound handlers


def test_offline_connect_raises_connect_failure_quickly(neonize_env, data_dir):
    make_paired_store(store(data_dir, "worker-1"), WORKER_JID, neonize_env)
    proc = run_py(
        """
        import time
        from wagw.config import Settings
        from wagw.whatsapp.neonize_backend import NeonizeBackend
        from wagw.whatsapp.backend import ConnectFailure
        backend = NeonizeBackend(Settings(_env_file=None), "worker-1")
        started = time.monotonic()
        try:
            backend.start()
        except ConnectFailure as error:
            print("ConnectFailure", error.exit_code, round(time.monotonic() - started, 3), error)
    """,
        neonize_env,
    )
    assert proc.returncode == 0, proc.stderr
    name, code, seconds, *message = proc.stdout.split()
    assert name == "ConnectFailure" and int(code) == 75
    # neonize fails offline within milliseconds plus the client setup (about 0.1 s idle, 2.1 s
    # beside two CPU burners): the bound is one that only a hang on the network exceeds.
    assert float(seconds) < 10.0
    assert "cannot connect to WhatsApp" in " ".join(message)


def test_unpaired_session_exits_not_paired_without_connecting(neonize_env, data_dir, redis_conn):
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "wagw", "session"], env=neonize_env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 80, proc.stdout + proc.stderr
    assert time.monotonic() - started < 10
    assert "wagw pair --role session" in proc.stdout
    assert "dial" not in proc.stdout  # a QR pairing connection was never attempted
    status = redis_conn.hgetall(keys.DEVICE_STATUS.format(role="session"))
    assert status[b"state"] == b"unpaired" and status[b"paired"] == b"0"


def test_paired_session_offline_exits_tempfail(neonize_env, data_dir, redis_conn):
    make_paired_store(store(data_dir, "session"), SESSION_JID, neonize_env)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "wagw", "session"], env=neonize_env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 75, proc.stdout + proc.stderr
    assert time.monotonic() - started >= 2.0
    assert "cannot connect to WhatsApp" in proc.stdout
    status = redis_conn.hgetall(keys.DEVICE_STATUS.format(role="session"))
    assert status[b"state"] == b"offline" and status[b"paired"] == b"1" and status[b"jid"] == SESSION_JID.encode()


class StalledProxy:
    """An HTTPS proxy that accepts connections and never answers: neonize's connect() then
    blocks the way it does on a stalled network (and its stop() with it)."""

    def __init__(self):
        import socket
        import threading

        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.accepted: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.accepted.append(self.server.accept()[0])
            except OSError:
                return

    @property
    def env(self) -> dict:
        return {"HTTPS_PROXY": f"http://127.0.0.1:{self.server.getsockname()[1]}"}

    def close(self) -> None:
        self.server.close()
        for sock in self.accepted:
            sock.close()


@pytest.fixture
def stalled_network():
    proxy = StalledProxy()
    yield proxy
    proxy.close()


def test_stalled_connect_gives_up_after_the_connect_wait(neonize_env, data_dir, stalled_network):
    make_paired_store(store(data_dir, "session"), SESSION_JID, neonize_env)
    env = {**neonize_env, **stalled_network.env, "WAGW_WA_CONNECT_WAIT": "2"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "wagw", "session"], env=env, capture_output=True, text=True, timeout=60
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 75, proc.stdout + proc.stderr
    assert "no WhatsApp connection within 2s" in proc.stdout
    assert 4.0 <= elapsed < 20  # connect wait + pause, and the blocked neonize thread did not hold the exit


def test_sigterm_during_a_stalled_connect_exits_within_the_grace(neonize_env, data_dir, stalled_network):
    make_paired_store(store(data_dir, "session"), SESSION_JID, neonize_env)
    env = {**neonize_env, **stalled_network.env, "WAGW_WA_CONNECT_WAIT": "60", "WAGW_SHUTDOWN_GRACE": "2"}
    log = data_dir / "stalled.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wagw", "session"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for(
            lambda: stalled_network.accepted or proc.poll() is not None,
            timeout=20,
            what="neonize to connect to the stalled proxy",
        )
        assert proc.poll() is None, log.read_text()
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()
        assert time.monotonic() - started < 6
    finally:
        proc.kill()
