"""`wagw run` with its fork server (the default): the pure-Python children are forked from it,
are the supervisor's own, survive its death, come back when killed, and no secret is ever in
its memory. One daemon for the module; the tests run in order on it."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import time
from collections.abc import Iterator

import pytest

from chaos.daemon import Daemon
from chaos.devices import SESSION_JID, WORKER_JID, make_paired_store
from chaos.polling import wait_for
from chaos.procs import descendants, parent_map, process_name
from tests.conftest import E2E_ENV, short_tempdir
from wagw.exitcodes import ExitCode
from wagw.procs import pid_alive

pytestmark = pytest.mark.e2e

FORKED = ("scheduler", "history", "webhook-worker-1", "wa-worker-1", "session")
COLD = ("redis",)
SECRET = f"fork-e2e-{secrets.token_hex(16)}"


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    data_dir = short_tempdir("wagw-fork-")
    # The webhook workers are granted the secret; the fork server must never see it.
    env = {**E2E_ENV, "WAGW_WEBHOOK_SECRET": SECRET, "WAGW_WEBHOOK_URLS": "http://127.0.0.1:9/hook"}
    running = Daemon(data_dir, env)
    try:
        running.start(timeout=60)
        yield running
    finally:
        running.kill_tree()
        shutil.rmtree(data_dir, ignore_errors=True)


def _cmdline(pid: int) -> bytes:
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        return handle.read()


def _ppid(pid: int) -> int:
    return parent_map()[pid]


def _forked(pid: int, name: str) -> bool:
    return _cmdline(pid).startswith(f"wagw: {name} (forked)\0".encode())


def _running(daemon: Daemon, name: str, other_than: int | None = None) -> int:
    """The pid of `name` once the snapshot shows it running (and not other_than)."""

    def found() -> int | None:
        process = daemon.process(name)
        pid = process.get("pid")
        return pid if process.get("state") == "running" and pid not in (None, other_than) else None

    return wait_for(found, timeout=30, what=f"{name} running")


def _memory_holds(pid: int, needle: bytes) -> bool:
    """Whether any writable mapping of the process (heap, anonymous, stack) holds `needle`."""
    found = False
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            if "rw" not in fields[1]:
                continue
            start, end = (int(value, 16) for value in fields[0].split("-"))
            try:
                mem.seek(start)
                if needle in mem.read(end - start):
                    found = True
            except OSError:  # a mapping that cannot be read (vvar, guard pages)
                continue
    return found


def test_the_pure_python_children_are_forked_and_the_supervisors_own(daemon):
    server = _running(daemon, "fork-server")
    assert _ppid(server) == daemon.pid
    assert b"wagw.forkserver" in _cmdline(server)
    for name in FORKED:
        pid = _running(daemon, name)
        assert _ppid(pid) == daemon.pid, f"{name}: parent {_ppid(pid)}, not the supervisor"
        assert _forked(pid, name), f"{name}: {_cmdline(pid)[:60]!r}"
        assert process_name(pid) == name  # as the chaos run and the e2e tests name it
    for name in COLD:
        pid = _running(daemon, name)
        assert _ppid(pid) == daemon.pid and not _cmdline(pid).startswith(b"wagw: ")
    worker = _running(daemon, "wa-worker-1")
    below = wait_for(lambda: _named_below(worker, "wa-worker-1/host", "wa-worker-1/forker"), 30, what="host, forker")
    # The native host: forked by the wa-worker's host forker, and the wa-worker's own child.
    assert _ppid(below["wa-worker-1/host"]) == _ppid(below["wa-worker-1/forker"]) == worker
    assert _forked(below["wa-worker-1/host"], "wa-worker-1/host")
    assert "fork-server: starting -> running" in daemon.log_text()


def _named_below(parent: int, *names: str) -> dict[str, int]:
    """The named processes below `parent`, once every one of them is there, else {}."""
    found = {process_name(pid): pid for pid in descendants(parent)}
    return {name: found[name] for name in names} if all(name in found for name in names) else {}


def test_no_secret_in_the_fork_servers_environment_or_memory(daemon):
    server = _running(daemon, "fork-server")
    worker = _running(daemon, "webhook-worker-1")
    needle = SECRET.encode()
    with open(f"/proc/{server}/environ", "rb") as environ:
        assert needle not in environ.read()
    assert not _memory_holds(server, needle)
    # The scan finds it where it is: the forked webhook worker was given it.
    assert _forked(worker, "webhook-worker-1")
    assert _memory_holds(worker, needle)


def test_a_killed_forked_child_is_restarted_forked_with_its_real_exit(daemon):
    victim = _running(daemon, "webhook-worker-1")
    os.kill(victim, signal.SIGKILL)
    pid = _running(daemon, "webhook-worker-1", other_than=victim)
    process = daemon.process("webhook-worker-1")
    assert process["last_exit"] == -signal.SIGKILL and process["restarts"] >= 1
    assert _ppid(pid) == daemon.pid and _forked(pid, "webhook-worker-1")
    assert "webhook-worker-1: running -> backoff (signal SIGKILL)" in daemon.log_text()


def test_a_go_panic_in_the_forked_session_kills_it_alone(daemon):
    """The forked session loads neonize after the fork (the fake backend's `crash` is a real Go
    panic inside the real library): the panic aborts the session only, which comes back forked."""
    victim = _running(daemon, "session")
    others = {name: _running(daemon, name) for name in ("fork-server", *FORKED) if name != "session"}
    daemon.redis.rpush("wagw:fake:inbound", json.dumps({"type": "crash"}))
    pid = _running(daemon, "session", other_than=victim)
    assert daemon.process("session")["last_exit"] == -signal.SIGABRT
    assert "panic:" in daemon.log_text() and "session: running -> backoff (signal SIGABRT)" in daemon.log_text()
    assert _forked(pid, "session") and _ppid(pid) == daemon.pid
    for name, other in others.items():
        assert daemon.child_pid(name) == other and pid_alive(other), f"{name} did not survive the session's panic"


def test_a_forked_session_loads_the_real_neonize_after_the_fork(daemon_factory):
    """The neonize backend, offline: each forked session loads the Go library in the child,
    makes its client on a (synthetic) paired store and fails at the network as a cold one
    does (exit 75, another try, forked again); the server itself never loads it. So does each
    native host its wa-worker's host forker forks (which never loads it either)."""
    daemon = daemon_factory({"WAGW_BACKEND": "neonize", "WAGW_WA_CONNECT_WAIT": "5"})
    devices = daemon.data_dir.resolve() / "devices"
    store_env = {**daemon.env, "PATH": os.environ["PATH"]}
    make_paired_store(devices / "session.sqlite3", SESSION_JID, store_env)
    make_paired_store(devices / "worker-1.sqlite3", WORKER_JID, store_env)
    daemon.start(timeout=60)
    # whatsmeow's own words for a failed dial: the Go code ran in the forked session.
    wait_for(lambda: "[session] session connection failed: cannot connect to WhatsApp" in daemon.log_text(), 60)
    wait_for(lambda: daemon.process("session").get("restarts", 0) >= 1, 30, what="the session tried again")
    assert daemon.process("session")["last_exit"] == ExitCode.TEMPFAIL
    wait_for(lambda: _forked(daemon.child_pid("session") or 0, "session"), 30, what="a forked session")
    server = _running(daemon, "fork-server")
    with open(f"/proc/{server}/maps") as maps:
        assert "neonize" not in maps.read()
    # The forked hosts: whatsmeow's words in the host, exit 75, and the next one forked too.
    wait_for(lambda: "[wa-worker-1/host] worker-1 cannot connect: cannot connect to WhatsApp" in daemon.log_text(), 60)
    forked_hosts = re.compile(r"\[wa-worker-1\] started native host pid \d+ for slot 1 \(forked\)")
    wait_for(lambda: len(forked_hosts.findall(daemon.log_text())) >= 2, 60, what="a second forked host")
    assert "native host pid" in daemon.log_text() and "exited with tempfail" in daemon.log_text()
    forker = _named_below(_running(daemon, "wa-worker-1"), "wa-worker-1/forker")["wa-worker-1/forker"]
    with open(f"/proc/{forker}/maps") as maps:
        assert "neonize" not in maps.read()
    assert "panic:" not in daemon.log_text()


def test_the_fork_server_killed_is_restarted_and_its_children_keep_running(daemon):
    server = _running(daemon, "fork-server")
    children = {name: _running(daemon, name) for name in FORKED}
    os.kill(server, signal.SIGKILL)
    new_server = _running(daemon, "fork-server", other_than=server)
    assert daemon.process("fork-server")["last_exit"] == -signal.SIGKILL
    assert not pid_alive(server)
    for name, pid in children.items():
        assert daemon.child_pid(name) == pid and pid_alive(pid), f"{name} did not survive the server"
        assert _ppid(pid) == daemon.pid
    # The new server forks the next child once it is ready.
    wait_for(lambda: daemon.log_text().count("[fork-server] ready:") >= 2, 30, what="the new server ready")
    victim = children["scheduler"]
    os.kill(victim, signal.SIGKILL)
    pid = _running(daemon, "scheduler", other_than=victim)
    assert _forked(pid, "scheduler") and _ppid(pid) == daemon.pid
    assert pid_alive(new_server)
    with open(f"/proc/{new_server}/environ", "rb") as environ:
        assert SECRET.encode() not in environ.read()
    assert not _memory_holds(new_server, SECRET.encode())


def test_children_start_cold_while_the_fork_server_is_down(daemon):
    server = _running(daemon, "fork-server")
    victim = _running(daemon, "history")
    os.kill(server, signal.SIGKILL)
    os.kill(victim, signal.SIGKILL)  # restarted before the new server can be ready
    pid = _running(daemon, "history", other_than=victim)
    assert b"-m\0wagw\0history-writer" in _cmdline(pid), _cmdline(pid)[:80]
    assert process_name(pid) == "history" and _ppid(pid) == daemon.pid
    _running(daemon, "fork-server", other_than=server)


def test_a_rolling_restart_forks_the_children_again_from_a_new_server(daemon):
    """SIGHUP (systemctl reload) restarts the server first and each child once it is ready."""
    wait_for(lambda: daemon.wait_settled(30), 30, what="settled")
    before = {name: _running(daemon, name) for name in ("fork-server", *FORKED)}
    os.kill(daemon.pid, signal.SIGHUP)
    after = {name: _running(daemon, name, other_than=pid) for name, pid in before.items()}
    for name in FORKED:
        assert _forked(after[name], name) and _ppid(after[name]) == daemon.pid, name


def test_sigterm_stops_every_child_forked_or_not_and_exits_0(daemon):
    wait_for(lambda: daemon.wait_settled(30), 30, what="settled")
    tree = descendants(daemon.pid)
    assert len(tree) >= 8, tree
    began = time.monotonic()
    assert daemon.stop(timeout=30) == 0
    wait_for(lambda: not any(pid_alive(pid) for pid in tree), 10, what="every process of the tree gone")
    assert time.monotonic() - began < 30
    assert "fork-server: stopping -> stopped (ok)" in daemon.log_text()
    assert "still alive after shutdown" not in daemon.log_text()


def test_forked_children_die_with_the_supervisor(daemon_factory):
    """PR_SET_PDEATHSIG is set by each forked child once it is the supervisor's: a supervisor
    killed outright leaves none of them (nor the server) running."""
    daemon = daemon_factory({"WAGW_SHUTDOWN_GRACE": "3"}).start(timeout=60)
    forked = {name: _running(daemon, name) for name in FORKED}
    assert all(_forked(pid, name) for name, pid in forked.items())
    tree = descendants(daemon.pid)
    os.kill(daemon.pid, signal.SIGKILL)
    daemon.proc.wait(timeout=10)
    wait_for(lambda: not [pid for pid in tree if pid_alive(pid)], 30, what="every child to die with the supervisor")


def test_with_the_setting_off_every_child_starts_cold(daemon_factory):
    daemon = daemon_factory({"WAGW_FORK_SERVER": "false"}).start(timeout=60)
    names = [process["name"] for process in daemon.snapshot()["processes"]]
    assert "fork-server" not in names and set(FORKED) <= set(names)
    for name in FORKED:
        pid = _running(daemon, name)
        assert b"\0-m\0wagw\0" in _cmdline(pid) and process_name(pid) == name
    worker = _running(daemon, "wa-worker-1")
    [host] = wait_for(lambda: _named_below(worker, "wa-worker-1/host").values(), 30, what="host")
    assert b"\0-m\0workers.wa.host" in _cmdline(host) and not _named_below(worker, "wa-worker-1/forker")
    assert daemon.stop() == 0
