"""`wagw run` as a subprocess of the chaos run: start, read its status, stop, and clean up.

Every wait has a deadline. The supervisor runs in its own session so that cleanup can kill
its whole tree, native hosts included, whatever state it was left in.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from redis import Redis

from chaos.procs import descendants, parent_map

T = TypeVar("T")
STATUS_KEY = "wagw:status:supervisor"  # SPEC: the supervisor's process table


class ChaosError(RuntimeError):
    """The run cannot go on (a deadline passed, the daemon died)."""


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise ChaosError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class Daemon:
    def __init__(self, data_dir: Path, env: dict[str, str], python: str = sys.executable) -> None:
        self.data_dir = data_dir
        self.python = python
        self.log_path = data_dir / "wagw-run.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WAGW_")}
        self.env.update({"WAGW_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
        self.env.update(env)
        self.proc: subprocess.Popen | None = None
        self._redis: Redis | None = None

    @property
    def redis_url(self) -> str:
        return self.env.get("WAGW_REDIS_URL") or f"unix://{self.data_dir.resolve()}/redis/redis.sock"

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            self._redis = Redis.from_url(self.redis_url, socket_timeout=5, socket_connect_timeout=2)
        return self._redis

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> Daemon:
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [self.python, "-m", "wagw", "run"], env=self.env, cwd=self.data_dir, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            code = self.proc.returncode if self.proc else None
            raise ChaosError(f"wagw run exited unexpectedly with {code}:\n{self.log_tail()}")

    # Status -------------------------------------------------------------------------------
    def snapshot(self) -> dict | None:
        try:
            raw = self.redis.get(STATUS_KEY)
        except Exception:
            return None
        if not raw:
            return None
        snap = json.loads(raw)
        if snap.get("pid") != self.pid:
            return None  # the previous supervisor's last word
        return snap

    def process(self, name: str) -> dict:
        snap = self.snapshot() or {"processes": []}
        return next((p for p in snap["processes"] if p["name"] == name), {})

    def wait_settled(self, timeout: float) -> dict:
        def settled():
            self.check_alive()
            snap = self.snapshot()
            if snap and all(p["state"] == "running" for p in snap["processes"]):
                return snap
            return None

        return wait_for(settled, timeout, "every child of wagw run to be running", 0.1)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # Stopping -----------------------------------------------------------------------------
    def terminate(self, timeout: float) -> int:
        """SIGTERM and wait for the graceful stop; a hang is an error (after a kill)."""
        if not self.alive():
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_tree()
            raise ChaosError(f"wagw run did not stop within {timeout:.0f}s of SIGTERM") from None

    def _is_ours(self, pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except OSError:
            return False
        return f"WAGW_DATA_DIR={self.data_dir}".encode() in environ

    def kill_tree(self) -> list[int]:
        """SIGKILL the supervisor and everything it started; return what was still alive."""
        if self.proc is None:
            return []
        parents = parent_map()
        doomed = {self.proc.pid, *descendants(self.proc.pid, parents)}
        # Children that outlived a dead supervisor were reparented: they still carry our
        # data dir in their environment (pids alone could have been reused meanwhile).
        for pid in parents:
            if pid not in doomed and self._is_ours(pid):
                doomed.add(pid)
                doomed.update(descendants(pid, parents))
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        survivors = [pid for pid in doomed if pid in parent_map()]
        if self._redis is not None:
            self._redis.close()
            self._redis = None
        return survivors
