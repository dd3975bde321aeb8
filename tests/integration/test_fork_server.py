"""The fork server with the supervisor's real launcher and state machine, in a process of its
own (tests/integration/fork_harness.py): a forked child's config error is seen with its real
exit code and not retried; reaping orphans leaves the supervisor's own processes alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_forked_config_error_is_fatal_with_its_exit_and_orphans_are_reaped_without_stealing():
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.fork_harness"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["subreaper"] is True
    assert report["bad_forked"] is True, "the child was started cold, not forked"
    assert report["bad"] == {"state": "fatal", "last_exit": 78, "restarts": 0}
    assert report["orphan_reaped"] is True
    assert report["own_exit"] == 7 and report["own_reaped_by_reap"] is False
    assert report["server"] == {"state": "stopped", "last_exit": 0, "was_running": True}
