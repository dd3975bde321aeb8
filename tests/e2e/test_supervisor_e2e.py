"""`wagw run` as a subprocess: kill its children, signal it, and check what survives."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from chaos.polling import wait_for
from chaos.procs import descendants
from wagw import keys
from wagw.procs import pid_alive

pytestmark = pytest.mark.e2e


def test_killed_worker_is_replaced_and_others_keep_their_pids(daemon_factory):
    daemon = daemon_factory().start()
    before = {p["name"]: p["pid"] for p in daemon.snapshot()["processes"]}
    victim = before["webhook-worker-1"]
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    proc = wait_for(
        lambda: (p := daemon.process("webhook-worker-1")).get("pid") not in (None, victim) and p,
        timeout=2.0,
        what="webhook-worker-1 replaced",
    )
    assert time.monotonic() - killed_at < 2.0
    assert proc["restarts"] == 1 and proc["last_exit"] == -signal.SIGKILL
    after = {p["name"]: p["pid"] for p in daemon.snapshot()["processes"]}
    for name, pid in before.items():
        if name != "webhook-worker-1":
            assert after[name] == pid, f"{name} changed pid"
    assert daemon.stop() == 0


def test_sigterm_stops_everything_in_reverse_order_without_orphans(daemon_factory):
    daemon = daemon_factory().start()
    tree = descendants(daemon.proc.pid)
    assert len(tree) >= 5, tree
    started = time.monotonic()
    code = daemon.stop(timeout=5 + 5)
    assert code == 0
    assert time.monotonic() - started < 5 + 5
    assert wait_for(lambda: not any(pid_alive(pid) for pid in tree), 2.0, what="no orphans")
    log = daemon.log_text()
    stop_lines = [line for line in log.splitlines() if "-> stopped" in line]
    assert stop_lines and "redis:" in stop_lines[-1], "redis must stop last"
    session_at = next(i for i, line in enumerate(stop_lines) if "session:" in line)
    scheduler_at = next(i for i, line in enumerate(stop_lines) if "scheduler:" in line)
    assert session_at < scheduler_at


def test_second_sigterm_forces(daemon_factory):
    daemon = daemon_factory({"WAGW_SHUTDOWN_GRACE": "60"}).start()
    daemon.proc.send_signal(signal.SIGTERM)
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=15) == 0


def test_sighup_restarts_children_one_by_one(daemon_factory):
    daemon = daemon_factory().start()
    before = {p["name"]: p["pid"] for p in daemon.snapshot()["processes"]}
    daemon.proc.send_signal(signal.SIGHUP)

    def all_replaced():
        snap = daemon.snapshot()
        procs = {p["name"]: p for p in snap["processes"]}
        return (
            all(
                procs[n]["pid"] not in (None, before[n]) and procs[n]["state"] == "running"
                for n in before
                if n != "redis"
            )
            and procs
        )

    procs = wait_for(all_replaced, 30, 0.05, "every child restarted")
    assert procs["redis"]["pid"] == before["redis"]
    assert daemon.stop() == 0


def test_embedded_redis_keeps_data_across_sigkill_and_restart(daemon_factory):
    daemon = daemon_factory().start()
    daemon.redis.set("wagw:test:durable", "kept")
    aof = daemon.data_dir / "redis" / "appendonly.aof"
    wait_for(lambda: aof.exists() and b"wagw:test:durable" in aof.read_bytes(), 5.0, what="AOF fsync")
    tree = descendants(daemon.proc.pid)
    for pid in [daemon.proc.pid, *tree]:  # the whole tree dies at once, Redis included
        os.kill(pid, signal.SIGKILL)
    daemon.proc.wait(timeout=5)
    wait_for(lambda: not any(pid_alive(p) for p in tree), 5.0, what="tree gone")
    assert (daemon.data_dir / "redis" / "redis.sock").exists(), "a stale socket is left behind"
    daemon.start()
    assert daemon.redis.get("wagw:test:durable") == b"kept"
    assert daemon.stop() == 0


def test_status_json_matches_the_contract_and_supervisor_has_no_neonize(daemon_factory):
    daemon = daemon_factory({"WAGW_WA_WORKERS": "2"}).start()
    with open(f"/proc/{daemon.proc.pid}/maps") as maps:
        assert "neonize" not in maps.read()
    env = {**daemon.env, "WAGW_REDIS_URL": daemon.redis_url}
    result = subprocess.run(
        [sys.executable, "-m", "wagw", "status", "--json"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    names = [p["name"] for p in report["processes"]]
    assert names[:1] == ["redis"] and {"scheduler", "webhook-worker-1", "wa-worker-1", "wa-worker-2", "session"} <= set(
        names
    )
    for proc in report["processes"]:
        assert set(proc) >= {"name", "pid", "state", "restarts", "last_exit"}
        assert proc["state"] in ("starting", "running", "backoff", "stopping", "stopped", "fatal")
    assert [d["role"] for d in report["devices"]] == ["session", "worker-1", "worker-2"]
    for device in report["devices"]:
        assert set(device) >= {"role", "paired", "connected"}
    for queue in ("wa", "webhooks"):
        assert set(report["queues"][queue]) >= {"queued", "started", "failed", "scheduled"}
    table = subprocess.run(
        [sys.executable, "-m", "wagw", "status"], env=env, capture_output=True, text=True, timeout=30
    )
    assert table.returncode == 0 and "webhook-worker-1" in table.stdout and "running" in table.stdout
    assert daemon.stop() == 0
    dead = subprocess.run(
        [sys.executable, "-m", "wagw", "status", "--json"], env=env, capture_output=True, text=True, timeout=30
    )
    assert dead.returncode == 3


class NotifySocket:
    """systemd's end of the notify protocol: a datagram socket read all the time, as systemd does."""

    def __init__(self, path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self.done = threading.Event()
        self.listener = threading.Thread(target=self._listen, daemon=True)
        self.listener.start()

    def _listen(self) -> None:
        while not self.done.is_set():
            with contextlib.suppress(TimeoutError):
                self.messages.append((time.monotonic(), self.sock.recv(4096).decode()))

    def seen(self, marker: str, since: float = 0.0) -> bool:
        return any(marker in m for t, m in list(self.messages) if t >= since)

    def statuses(self) -> list[str]:
        lines = [line for _t, message in list(self.messages) for line in message.splitlines()]
        return [line.removeprefix("STATUS=") for line in lines if line.startswith("STATUS=")]

    def close(self) -> None:
        self.done.set()
        self.listener.join(timeout=2)
        self.sock.close()


def test_systemd_notify_ready_status_and_watchdog(daemon_factory, data_dir):
    systemd = NotifySocket(data_dir / "notify.sock")
    messages, seen = systemd.messages, systemd.seen
    daemon = daemon_factory({"NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": "400000"}).start(wait=False)
    try:
        wait_for(lambda: seen("READY=1"), 30, 0.02, "READY=1")
        ready_at = next(t for t, m in messages if "READY=1" in m)
        assert all(p["state"] in ("running", "fatal") for p in daemon.snapshot()["processes"])
        wait_for(
            lambda: sum("WATCHDOG=1" in m for t, m in list(messages) if t > ready_at) >= 3, 5, 0.02, "watchdog pings"
        )
        assert seen("STATUS=")
        daemon.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: seen("STOPPING=1"), 10, 0.02, "STOPPING=1")
        assert daemon.proc.wait(timeout=15) == 0
    finally:
        systemd.close()


def test_systemd_status_names_a_fatal_child_and_what_to_do(daemon_factory, data_dir, redis_url, redis_conn):
    """An unpaired session under systemd: `systemctl status wagw` says so, with the command."""
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "session", "unpaired")
    systemd = NotifySocket(data_dir / "notify.sock")
    daemon = daemon_factory({"NOTIFY_SOCKET": systemd.path, "WAGW_REDIS_URL": redis_url}).start(wait=False)
    try:
        wait_for(lambda: systemd.seen("READY=1"), 30, 0.02, "READY=1")
        fix = "session fatal: not paired — run `wagw pair --role session`"
        wait_for(lambda: any(fix in status for status in systemd.statuses()), 10, 0.02, "the fatal session in STATUS")
        status = next(status for status in systemd.statuses() if fix in status)
        assert status.startswith("1 fatal, ") and "running" in status
        assert daemon.process("session")["state"] == "fatal"
        # The same advice in the log line that says the session is fatal.
        assert "-> fatal (not_paired)" in daemon.log_text() and "— run `wagw pair --role session`" in daemon.log_text()
        assert daemon.stop() == 0
    finally:
        systemd.close()


def test_json_log_format_tags_every_line_with_its_process(daemon_factory):
    daemon = daemon_factory({"WAGW_LOG_FORMAT": "json"}).start()

    def processes() -> set[str]:
        return {json.loads(line)["process"] for line in daemon.log_text().splitlines() if line.strip()}

    # "Running" is a second alive; on a loaded machine a worker may not have logged by then.
    wait_for(lambda: "webhook-worker-1" in processes(), 20, 0.1, "a line from webhook-worker-1")
    assert daemon.stop() == 0
    records = [json.loads(line) for line in daemon.log_text().splitlines() if line.strip()]
    processes_seen = {r["process"] for r in records}
    assert {"supervisor", "redis", "scheduler", "webhook-worker-1"} <= processes_seen
    assert all({"time", "level", "message", "process"} <= set(r) for r in records)


def test_bad_config_stops_run_with_78(daemon_factory):
    daemon = daemon_factory({"WAGW_WA_WORKERS": "many"})
    daemon.start(wait=False)
    assert daemon.proc.wait(timeout=30) == 78
    assert "WAGW_WA_WORKERS" in daemon.log_text()


def test_stops_at_random_moments_on_a_loaded_machine_need_no_sigkill(daemon_factory, cpu_burners):
    """The first SIGTERM stops every child within its grace, whenever it comes."""
    rng = random.Random(19)
    daemon = daemon_factory({"WAGW_WA_WORKERS": "2", "WAGW_WEBHOOK_WORKERS": "2"})
    for round_ in range(3):
        daemon.start(timeout=60)
        time.sleep(rng.uniform(0.0, 2.0))  # the random moment, not a wait for a condition
        assert daemon.stop(timeout=5 + 15) == 0, f"round {round_}:\n{daemon.log_tail()}"
    killed = [line for line in daemon.log_text().splitlines() if "-> stopped" in line and "SIGKILL" in line]
    assert not killed, "children killed at the end of their grace:\n" + "\n".join(killed)
