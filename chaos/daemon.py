"""`wagw run` as a subprocess: start it, read its status, stop it, and clean up after it.

The one driver for everything that runs the daemon from outside: the chaos run and the e2e
tests. It lives here, not under tests/, because `make chaos` is an operator tool that must
work from a checkout without the test suite; the tests already drive the daemon with chaos's
parts (its webhook receiver, the short chaos run), and take this one too.

Every wait has a deadline. The supervisor runs in its own session: a Ctrl-C at the terminal
reaches only the driver, which then stops or kills the daemon's whole tree itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from redis import Redis

from chaos.polling import wait_for
from chaos.procs import descendants, parent_map
from wagw import keys
from wagw.procs import pid_alive


class DaemonError(AssertionError):
    """`wagw run` died, or did not stop in time. An AssertionError, as for chaos.polling.Timeout:
    a test expects neither."""


class Daemon:
    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str],
        run_accounts: list[str] | None = None,
        wrapper: list[str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        # Run before `wagw run`, which it must exec (its pid is the supervisor's): a namespace.
        self.wrapper = wrapper or []
        # `wagw run --accounts`: this daemon runs only these (others share its Redis).
        self.run_accounts = run_accounts or []
        self.log_path = data_dir / "wagw-run.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WAGW_")}
        self.env.update({"WAGW_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
        self.env.update(env)
        self.proc: subprocess.Popen | None = None
        self._redis: Redis | None = None

    @property
    def redis_url(self) -> str:
        folder = "socket" if self.env.get("WAGW_REDIS_SOCKET_GROUP") else "redis"  # as Settings.redis_socket
        return self.env.get("WAGW_REDIS_URL") or f"unix://{self.data_dir.resolve()}/{folder}/redis.sock"

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            self._redis = Redis.from_url(self.redis_url, socket_timeout=5, socket_connect_timeout=2)
        return self._redis

    @property
    def pid(self) -> int | None:
        """The supervisor's pid."""
        return self.proc.pid if self.proc else None

    def start(self, wait: bool = True, timeout: float = 30.0) -> Daemon:
        """Start `wagw run` (again, on the same data dir after a stop); with `wait`, return once
        it has settled."""
        self._close_redis()  # a previous incarnation's connections are dead
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [*self.wrapper, sys.executable, "-m", "wagw", "run", *self.run_args],
                env=self.env,
                cwd=self.data_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        if wait:
            self.wait_settled(timeout)
        return self

    @property
    def run_args(self) -> list[str]:
        return ["--accounts", ",".join(self.run_accounts)] if self.run_accounts else []

    @property
    def status_key(self) -> str:
        if self.run_accounts:
            return keys.SUPERVISOR_STATUS_OF.format(accounts=",".join(self.run_accounts))
        return keys.SUPERVISOR_STATUS

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            code = self.proc.returncode if self.proc else None
            raise DaemonError(f"wagw run exited unexpectedly with {code}:\n{self.log_tail()}")

    # Status -------------------------------------------------------------------------------
    def snapshot(self) -> dict | None:
        """The supervisor's status snapshot, if this incarnation has published one."""
        try:
            raw = self.redis.get(self.status_key)
        except Exception:
            return None
        if not raw:
            return None
        snap = json.loads(raw)
        if snap.get("pid") != self.pid:
            return None  # a previous supervisor's last word
        return snap

    def process(self, name: str) -> dict:
        snap = self.snapshot() or {"processes": []}
        return next((p for p in snap["processes"] if p["name"] == name), {})

    def child_pid(self, name: str) -> int | None:
        return self.process(name).get("pid")

    def wait_settled(self, timeout: float = 30.0) -> dict:
        """The first snapshot in which every child is running or fatal (given up on: the
        supervisor will not try again)."""

        def settled():
            self.check_alive()
            snap = self.snapshot()
            if snap and all(p["state"] in ("running", "fatal") for p in snap["processes"]):
                return snap
            return None

        return wait_for(settled, timeout, 0.05, "every child of wagw run to be running or fatal")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # Stopping -----------------------------------------------------------------------------
    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for the graceful stop; a hang is an error (after killing the tree)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else 0
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_tree()
            raise DaemonError(f"wagw run did not stop within {timeout:g}s of SIGTERM:\n{self.log_tail()}") from None

    def kill9(self) -> None:
        """SIGKILL the supervisor alone, as a crash would; the kernel then sends its children
        SIGTERM (PR_SET_PDEATHSIG)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def _is_ours(self, pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            return False
        # redis-server gets no environment of ours; its command line names its config file.
        return f"WAGW_DATA_DIR={self.data_dir}".encode() in environ or str(self.data_dir.resolve()).encode() in cmdline

    def kill_tree(self) -> list[int]:
        """SIGKILL the supervisor and everything it started, in this incarnation or an earlier
        one; return the pids still alive 10 s later."""
        if self.proc is None:
            return []
        parents = parent_map()
        doomed = {self.proc.pid, *descendants(self.proc.pid, parents)}
        # Children that outlived a dead supervisor were reparented: they still carry our
        # data dir in their environment or command line (pids alone could have been reused
        # meanwhile).
        for pid in parents:
            if pid not in doomed and self._is_ours(pid):
                doomed.add(pid)
                doomed.update(descendants(pid, parents))
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        # The rest are reaped by their parents or init: give them the time, so that nothing
        # writes into the data dir once this returns.
        deadline = time.monotonic() + 10
        while (survivors := [pid for pid in doomed if pid_alive(pid)]) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._close_redis()
        return survivors

    def _close_redis(self) -> None:
        if self._redis is not None:
            self._redis.close()
            self._redis = None
