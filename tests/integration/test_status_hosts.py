"""`wagw status` with several hosts on one Redis (a host column), and with wagw's components
running without `wagw run` (supervisord's supervisor.conf): not "not running"."""

from __future__ import annotations

import argparse
import json
import time

from rich.console import Console

from wagw import keys, status
from wagw.exitcodes import ExitCode
from wagw.status import collect
from wagw.status.table import render


def snapshot(pid: int, host: str, accounts: list[str], process: str) -> str:
    """A daemon's status as the supervisor publishes it."""
    entry = {"name": process, "account": accounts[0], "pid": pid + 1, "state": "running", "restarts": 0}
    return json.dumps(
        {
            "pid": pid,
            "host": host,
            "version": "x",
            "started_at": time.time(),
            "state": "running",
            "accounts": accounts,
            "processes": [entry],
        }
    )


def shown(report: dict) -> str:
    console = Console(width=250, record=True)
    render(report, console)
    return console.export_text()


def test_several_hosts_on_one_redis_get_a_host_column(redis_conn, settings):
    settings = settings.model_copy(update={"accounts": ["sales", "support"]})
    redis_conn.set(
        keys.SUPERVISOR_STATUS_OF.format(accounts="sales"), snapshot(100, "vps-a", ["sales"], "sales/session")
    )
    redis_conn.set(
        keys.SUPERVISOR_STATUS_OF.format(accounts="support"), snapshot(200, "vps-b", ["support"], "support/session")
    )
    report = collect(settings, redis_conn)
    assert {(p["name"], p["host"]) for p in report["processes"]} == {
        ("sales/session", "vps-a"),
        ("support/session", "vps-b"),
    }
    assert [d["host"] for d in report["supervisors"]] == ["vps-a", "vps-b"]
    text = shown(report)
    assert "supervisor pid 100 on vps-a" in text and "also supervisor pid 200 on vps-b" in text
    rows = [line.split("│")[1:3] for line in text.splitlines() if "│ vps-" in line]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["sales/session", "vps-a"],
        ["support/session", "vps-b"],
    ]


def test_components_run_without_wagw_run_are_not_reported_as_not_running(redis_conn, settings, start_worker, capsys):
    worker = start_worker()  # a wa-worker on its own, as supervisord's program runs it
    report = collect(settings, redis_conn)
    assert report["supervisor"] is None
    assert [(w["pid"], w["queues"]) for w in report["standalone"]] == [(worker.pid, ["wa.default", "wa"])]
    text = shown(report)
    assert "supervisor not running" not in text
    assert "no `wagw run` supervisor: its components run on their own" in text and "wa.default, wa" in text
    capsys.readouterr()
    assert status.main(settings, argparse.Namespace(json=True, account=None)) == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["standalone"][0]["pid"] == worker.pid


def test_nothing_running_is_not_running(redis_conn, settings, capsys):
    assert status.main(settings, argparse.Namespace(json=False, account=None)) == ExitCode.NOT_RUNNING
    assert "supervisor not running" in capsys.readouterr().out
