"""`wagw events tail` as a real process against the real test Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

from chaos.polling import wait_for
from wagw import keys


def add(redis_conn, n: int) -> None:
    body = json.dumps({"event": "message", "id": f"E{n}", "payload": {"n": n}})
    redis_conn.xadd(keys.EVENTS_STREAM, {"id": f"E{n}", "name": "message", "event": body})


def tail(*args: str) -> list[str]:
    return [sys.executable, "-m", "wagw", "events", "tail", *args]


def test_last_n_without_follow(settings_env, redis_conn):
    for n in range(5):
        add(redis_conn, n)
    out = subprocess.run(
        tail("-n", "2", "--no-follow"), env=dict(os.environ), capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["id"] for line in out.stdout.splitlines()] == ["E3", "E4"]


def test_empty_log_without_follow_prints_nothing(settings_env, redis_conn):
    out = subprocess.run(tail("--no-follow"), env=dict(os.environ), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout == ""


def test_follow_prints_new_events_and_stops_on_sigterm(settings_env, redis_conn):
    add(redis_conn, 0)
    proc = subprocess.Popen(
        tail("-n", "1"),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_for(lambda: len(lines) == 1, timeout=15, what="the last event")
        add(redis_conn, 1)
        add(redis_conn, 2)
        wait_for(lambda: len(lines) == 3, timeout=10, what="the followed events")
        assert [json.loads(line)["id"] for line in lines] == ["E0", "E1", "E2"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()


def test_one_accounts_events(settings_env, redis_conn):
    settings_env.setenv("WAGW_ACCOUNTS", "sales,support")
    for n in range(6):
        body = json.dumps({"event": "message", "account": "sales" if n % 3 else "support", "id": f"E{n}"})
        redis_conn.xadd(keys.EVENTS_STREAM, {"id": f"E{n}", "name": "message", "event": body})

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(tail(*args), env=dict(os.environ), capture_output=True, text=True, timeout=30)

    support = run("-n", "5", "--no-follow", "--account", "support")
    assert support.returncode == 0, support.stderr
    assert [json.loads(line)["id"] for line in support.stdout.splitlines()] == ["E0", "E3"]
    unknown = run("--no-follow", "--account", "nobody")
    assert unknown.returncode == 64 and "no account 'nobody'" in unknown.stderr
