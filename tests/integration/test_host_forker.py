"""Native hosts forked by the wa-worker's host forker (workers.wa.host_forker), with a real
Go panic, a SIGKILLed forker and the cold fallback; driven by host_forker_harness.py in a
process of its own (it becomes a subreaper, which the test process must not)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _harness(*args: str) -> tuple[dict, str]:
    run = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("host_forker_harness.py")), *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    print(report)
    return report, run.stderr


def test_hosts_are_forked_their_crashes_reported_and_a_dead_forker_falls_back_to_cold(settings_env, redis_conn):
    report, stderr = _harness()

    assert report["forker_name"] == "wa-worker-1/forker"
    # A forked host: named by its title, and the harness's own child (its subreaper), not the forker's.
    assert report["first_call"] == report["after_crash_call"] == report["cold_call"]
    for host in (report["first"], report["second"]):
        assert host["name"] == "wa-worker-1/host" and host["parent"] == report["me"]
    # A real Go panic in a forked host: its real exit status and its panic text.
    assert report["crash"]["returncode"] == -signal.SIGABRT
    assert report["crash"]["panic"].startswith("panic: runtime error")
    assert report["second"]["pid"] != report["first"]["pid"]
    assert report["children_after_crash"] == sorted([report["forker"], report["second"]["pid"]])
    # The forker SIGKILLed: the host it forked keeps serving; the next host starts cold.
    assert report["forker_gone"] and report["survivor_call"] is True
    assert report["second_crash"] == -signal.SIGABRT
    assert "-m workers.wa.host" in report["cold_cmdline"] and report["cold"]["parent"] == report["me"]
    assert report["children_when_cold"] == [report["cold"]["pid"]]  # the dead forker reaped too
    assert report["forker_alive"] is False
    assert "the host forker is gone (" in stderr and "native hosts start cold from now on" in stderr
    # Every host and the forker reaped: nothing left behind, zombie or not.
    assert report["children_left"] == []


def test_a_request_interrupted_by_a_jobs_alarm_retires_the_forker_and_leaks_nothing(settings_env):
    report = _harness("interrupt")[0]
    assert report == {"interrupted": True, "alive": False, "fds_left": 0, "forker_gone": True, "children_left": []}
