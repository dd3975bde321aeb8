"""A `wagw wa-worker` as a real subprocess, for the tests that drive one (fixtures in conftest)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from rq.job import Job, JobStatus

from chaos.polling import wait_for
from chaos.procs import process_name
from wagw import keys

ALICE = "15551234567@s.whatsapp.net"
CRASH = "crash@s.whatsapp.net"
HANG = "hang@s.whatsapp.net"
DONE = (JobStatus.FINISHED, JobStatus.FAILED)


def child_pids(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


class WaWorkerProcess:
    """One `python -m wagw wa-worker --slot N` with its output in a log file."""

    def __init__(self, conn, data_dir: Path, slot: int = 1, env: dict[str, str] | None = None):
        self.conn = conn
        self.slot = slot
        self.log = data_dir / f"wa-worker-{slot}.log"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self, ready: bool = True) -> WaWorkerProcess:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "wagw", "wa-worker", "--slot", str(self.slot)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        if ready:
            # Two Python start-ups (worker, host): generous, for a loaded machine.
            wait_for(self.connected, 60, 0.05, "the wa-worker's host to connect")
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def status(self) -> dict[str, str]:
        raw = self.conn.hgetall(keys.DEVICE_STATUS.format(role=f"worker-{self.slot}"))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def connected(self) -> bool:
        self.assert_alive()
        status = self.status()
        return status.get("worker_pid") == str(self.pid) and status.get("connected") == "1" and bool(self.host_pid())

    def host_pid(self) -> int | None:
        """Its native host (beside it runs its host forker, unless hosts start cold)."""
        hosts = [pid for pid in child_pids(self.pid) if (process_name(pid) or "").endswith("/host")]
        return hosts[0] if len(hosts) == 1 else None

    def assert_alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"wa-worker exited with {self.proc.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"wa-worker ignored SIGTERM:\n{self.tail()}") from None


def wait_done(job: Job, timeout: float = 20.0) -> JobStatus:
    return wait_for(lambda: job.get_status() in DONE and job.get_status(), timeout, 0.02, f"job {job.id} to end")


def sent(conn, op: str | None = None) -> list[dict]:
    records = [json.loads(raw) for raw in conn.lrange(keys.FAKE_SENT, 0, -1)]
    return [r for r in records if op is None or r["op"] == op]
