"""The chaos run, shortened for CI: one round of the chaos cycle, then SIGTERM and restart.

The same code as `make chaos` (chaos/run.py), with the "short" profile: about 65-75 s of
wall time. It fails with the whole report (and the daemon log's tail) when a target is missed.
"""

from __future__ import annotations

import shutil

import pytest

from chaos import report as reporting
from chaos.run import PROFILES, ChaosRun
from tests.conftest import short_tempdir

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


def _target(report: dict, name: str) -> dict:
    return next(t for t in report["targets"] if t["target"].startswith(name))


@pytest.mark.timeout(240)
def test_chaos_short_run_meets_every_target():
    data_dir = short_tempdir("wagw-chaos-")
    lines: list[str] = []
    run = ChaosRun(PROFILES["short"], data_dir, log=lines.append)
    try:
        record = run.execute()
        report = reporting.build(record)
        text = reporting.render(report) + "\n\nrun log:\n" + "\n".join(lines)
        if not report["ok"] or run.failure:
            text += "\n\ndaemon log (tail):\n" + run.daemon.log_tail(80)

        assert run.failure is None, text
        events = report["events"]
        assert events["in"] > 100, text
        for endpoint in events["endpoints"].values():
            assert endpoint["delivered"] == events["in"], text
            assert endpoint["lost"] == 0, text
            assert endpoint["duplicates_outside_kill_window"] == 0, text
            assert endpoint["bad_signatures"] == 0, text
        assert _target(report, "every crashed job retried and succeeded")["ok"], text
        # The crash lane's crashes all come from one target: it is poisoned, nobody else pays.
        assert report["jobs"]["crash_targets"] == 1 and report["jobs"]["collateral_failures"] == 0, text
        assert report["jobs"]["sends_repeated_after_unknown_outcome"] == 0, text
        assert report["jobs"]["sends_reaching_the_backend"] > 0, text
        assert report["jobs"]["sends_reaching_the_backend_twice"] == 0, text  # no customer got one twice
        assert report["native_crashes"]["count"] >= 5, text  # real Go panics happened
        assert _target(report, "the supervisor never exited")["ok"], text
        assert report["supervisor"]["stop_exit_codes"] == [0, 0], text
        assert {k["name"] for k in report["processes"]["kills"]} >= {
            "session",
            "webhook-worker-1",
            "webhook-worker-2",
            "wa-worker-1",
            "wa-worker-2",
        }, text
        assert report["ok"], text
    finally:
        run.daemon.kill_tree()
        shutil.rmtree(data_dir, ignore_errors=True)
