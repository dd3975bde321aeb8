"""Start `wagw run` as a real subprocess and break it; never let a hung shutdown hang CI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from redis import Redis

from tests.helpers import pid_alive, wait_for


class Daemon:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir / "wagw-run.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WAGW_")}
        self.env.update({"WAGW_DATA_DIR": str(data_dir), "WAGW_BACKEND": "fake", "WAGW_WEBHOOK_WORKERS": "1",
                         "WAGW_SHUTDOWN_GRACE": "5", "PYTHONUNBUFFERED": "1"})
        self.env.update(env or {})
        self.proc: subprocess.Popen | None = None
        self.seen_pids: set[int] = set()
        self._redis: Redis | None = None

    @property
    def redis_url(self) -> str:
        return self.env.get("WAGW_REDIS_URL") or f"unix://{self.data_dir.resolve()}/redis/redis.sock"

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            self._redis = Redis.from_url(self.redis_url, socket_timeout=5)
        return self._redis

    def start(self, wait: bool = True, timeout: float = 30.0) -> Daemon:
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([sys.executable, "-m", "wagw", "run"], env=self.env, cwd=self.data_dir,
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        if wait:
            self.wait_settled(timeout)
        return self

    # Status --------------------------------------------------------------------------------
    def snapshot(self) -> dict | None:
        try:
            raw = self.redis.get("wagw:status:supervisor")
        except Exception:
            return None
        if not raw:
            return None
        snap = json.loads(raw)
        if snap.get("pid") != (self.proc.pid if self.proc else None):
            return None  # a previous supervisor's last word
        self.seen_pids.update(p["pid"] for p in snap["processes"] if p["pid"])
        return snap

    def process(self, name: str) -> dict:
        snap = self.snapshot() or {"processes": []}
        return next((p for p in snap["processes"] if p["name"] == name), {})

    def pid(self, name: str) -> int | None:
        return self.process(name).get("pid")

    def wait_settled(self, timeout: float = 30.0) -> dict:
        def settled():
            self.assert_alive()
            snap = self.snapshot()
            if snap and all(p["state"] in ("running", "fatal") for p in snap["processes"]):
                return snap
            return None

        return wait_for(settled, timeout, 0.05, "every child running or fatal")

    def wait_state(self, name: str, state: str, timeout: float = 10.0) -> dict:
        return wait_for(lambda: (p := self.process(name)).get("state") == state and p, timeout, 0.02,
                        f"{name} to be {state}")

    def assert_alive(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, (
            f"wagw run exited with {self.proc.returncode if self.proc else None}:\n{self.log_tail()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # Stopping ------------------------------------------------------------------------------
    def stop(self, timeout: float = 30.0, sig: int = signal.SIGTERM) -> int:
        """Signal the supervisor and wait; a hang fails the test after cleaning up."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.snapshot()
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_all()
            raise AssertionError(f"wagw run did not stop within {timeout}s:\n{self.log_tail()}") from None

    def kill9(self) -> None:
        self.snapshot()
        self.proc.kill()
        self.proc.wait(timeout=10)

    def kill_all(self) -> None:
        """Teardown: nothing this daemon started may survive the test."""
        if self.proc is not None and self.proc.poll() is None:
            self.snapshot()
            self.proc.kill()
            self.proc.wait(timeout=10)
        for pid in self.seen_pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + 10
        while any(pid_alive(p) for p in self.seen_pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._redis is not None:
            self._redis.close()
