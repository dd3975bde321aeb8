"""Every bench in bench/ still runs on today's code: its --smoke run (every part and baseline
once, as small as it goes) exits 0. A bench that cannot measure (a baseline's worker killed,
deliveries that stop coming, a daemon's child dying) says what failed on stderr and exits 1 at
once instead of waiting out a long timeout."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from chaos.polling import wait_for
from chaos.procs import descendants

BENCH = Path(__file__).resolve().parents[2] / "bench"


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str
    seconds: float
    after_signal: float | None  # seconds from the signal to the exit


def run_bench(
    script: str, *args: str, timeout: float, signal_when: Callable[[int], list[int]] | None = None, sig: int = 0
) -> Finished:
    """Run bench/<script> in its own session; when `signal_when(bench_pid)` first names pids,
    send them `sig`. Past `timeout` the bench gets SIGTERM (it stops what it started), then its
    session SIGKILL, and the test fails."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    signalled_at = None
    try:
        if signal_when is not None:
            pids = wait_for(lambda: proc.poll() is not None or signal_when(proc.pid), timeout, 0.02, "the victims")
            if proc.poll() is None:
                for pid in pids:
                    os.kill(pid, sig)
                signalled_at = time.monotonic()
        stdout, stderr = proc.communicate(timeout=max(timeout - (time.monotonic() - started), 1))
    except BaseException:
        proc.terminate()
        try:
            stdout, stderr = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
        pytest.fail(f"bench/{script} {' '.join(args)} did not end within {timeout:g} s\n{stdout[-2000:]}\n{stderr}")
    ended = time.monotonic()
    return Finished(
        proc.returncode,
        stdout,
        stderr,
        ended - started,
        None if signalled_at is None else ended - signalled_at,
    )


def processes_below(bench_pid: int, needle: bytes, children_only: bool = False) -> list[int]:
    """The bench's descendants (or only its children) whose command line contains `needle`."""
    found = []
    for pid in descendants(bench_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if needle in cmdline and (ppid == bench_pid or not children_only):
            found.append(pid)
    return found


def children_running(needle: bytes, count: int = 1) -> Callable[[int], list[int]]:
    """The bench's own children whose command line contains `needle`, once there are `count`
    (a forking Worker's work horses are its children, not the bench's)."""

    def find(bench_pid: int) -> list[int]:
        found = processes_below(bench_pid, needle, children_only=True)
        return found if len(found) >= count else []

    return find


def smoke_passes(script: str, timeout: float) -> None:
    result = run_bench(script, "--smoke", timeout=timeout)
    assert result.code == 0, f"bench/{script} --smoke exited {result.code}:\n{result.stderr[-3000:]}"
    print(f"bench/{script} --smoke: {result.seconds:.1f} s")


@pytest.mark.timeout(60)
def test_history_smoke():
    smoke_passes("history.py", timeout=45)


@pytest.mark.timeout(60)
def test_wa_jobs_smoke():
    smoke_passes("wa_jobs.py", timeout=40)


@pytest.mark.timeout(60)
def test_send_order_smoke():
    smoke_passes("send_order.py", timeout=50)


@pytest.mark.timeout(60)
def test_media_jobs_smoke():
    smoke_passes("media_jobs.py", timeout=40)


@pytest.mark.timeout(120)
def test_webhooks_smoke():
    # ~15 s alone; beside the suite's other files it took over 45 s once (five parts, each
    # starting its own workers, scheduler and receiver)
    smoke_passes("webhooks.py", timeout=90)


@pytest.mark.timeout(60)
def test_replay_smoke():
    smoke_passes("replay.py", timeout=45)


@pytest.mark.timeout(60)
def test_footprint_smoke():
    smoke_passes("footprint.py", timeout=45)


@pytest.mark.timeout(90)
def test_api_smoke():
    smoke_passes("api.py", timeout=75)


@pytest.mark.timeout(60)
def test_webhooks_forking_worker_killed_stops_the_bench_at_once():
    result = run_bench(
        "webhooks.py",
        *("--smoke", "--only", "forking", "--forking", "300"),
        timeout=40,
        signal_when=children_running(b"--forking-worker"),
        sig=signal.SIGKILL,
    )
    assert result.code == 1, result.stderr
    # Both forking workers get the signal; the bench names whichever it sees first.
    assert re.search(r"cannot measure: forking-worker-\d exited \(signal SIGKILL\)", result.stderr), result.stderr
    assert result.after_signal is not None and result.after_signal < 10


@pytest.mark.timeout(60)
def test_webhooks_deliveries_that_stop_coming_stop_the_bench_after_grace():
    # Both forking Workers stopped (not dead): deliveries stop coming.
    result = run_bench(
        "webhooks.py",
        *("--smoke", "--only", "forking", "--forking", "300", "--grace", "2"),
        timeout=40,
        signal_when=children_running(b"--forking-worker", count=2),
        sig=signal.SIGSTOP,
    )
    assert result.code == 1, result.stderr
    assert "cannot measure: forking Worker: deliveries: " in result.stderr
    assert "of 300 after" in result.stderr
    assert result.after_signal is not None and result.after_signal < 12


@pytest.mark.timeout(60)
def test_wa_jobs_baseline_worker_killed_stops_the_bench_at_once():
    result = run_bench(
        "wa_jobs.py",
        *("--smoke", "--fork-jobs", "3000"),
        timeout=40,
        signal_when=children_running(b"rq.worker.Worker"),
        sig=signal.SIGKILL,
    )
    assert result.code == 1, result.stderr
    assert "cannot measure: forking-Worker exited (signal SIGKILL)" in result.stderr
    assert result.after_signal is not None and result.after_signal < 10


@pytest.mark.timeout(60)
def test_footprint_daemon_child_dying_stops_the_bench_at_once():
    result = run_bench(
        "footprint.py",
        "--smoke",
        timeout=40,
        signal_when=lambda bench_pid: processes_below(bench_pid, b"wagw\0session"),
        sig=signal.SIGKILL,
    )
    assert result.code == 1, result.stderr
    assert "cannot measure: session of wagw run exited (signal SIGKILL)" in result.stderr
    assert result.after_signal is not None and result.after_signal < 10
