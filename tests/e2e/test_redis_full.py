"""The whole daemon when Redis is full: every process stays up, inbound events wait and are
stored and delivered exactly once when room comes back, and the log carries no message text.
The embedded redis-server runs with the smallest ceiling wagw allows (64 MB)."""

from __future__ import annotations

import json
import time

import pytest

from chaos.polling import wait_for
from chaos.receiver import Receiver
from tests.integration.redis_full_harness import fill, free, stays
from wagw import keys
from wagw.procs import pid_alive

pytestmark = pytest.mark.e2e
SECRET = "e2e-secret-of-sixteen-bytes"
SECRET_TEXT = "words-only-alice-may-read"
LONG_LIVED = ("redis", "scheduler", "session", "wa-worker-1", "webhook-worker-1")


@pytest.fixture
def receiver():
    rec = Receiver(SECRET, ["hook"]).start()
    yield rec
    rec.close()


@pytest.fixture
def daemon(daemon_factory, receiver):
    made = daemon_factory(
        {
            "WAGW_REDIS_MAX_MEMORY_MB": "64",
            "WAGW_WEBHOOK_URLS": receiver.url("hook"),
            "WAGW_WEBHOOK_SECRET": SECRET,
            "WAGW_WEBHOOK_RETRY_SCHEDULE": "1,1,1,2,2,2,4,4",
        }
    ).start()
    yield made
    assert made.stop() == 0


def pids(daemon) -> dict[str, int]:
    snap = daemon.snapshot() or {"processes": []}
    return {p["name"]: p["pid"] for p in snap["processes"] if p["name"] in LONG_LIVED}


def fresh_snapshot(daemon, since: float) -> dict | None:
    snap = daemon.snapshot()
    return snap if snap and snap["updated"] > since else None


def message(n: int) -> dict:
    return {
        "type": "message",
        "id": f"3EB0F{n:07d}",
        "sender": "15551234567@s.whatsapp.net",
        "text": f"{SECRET_TEXT} {n}",
        "timestamp": 1764412200 + n,
    }


def stored_ids(conn) -> list[str]:
    return [json.loads(fields[b"event"])["payload"]["id"] for _, fields in conn.xrange(keys.EVENTS_STREAM)]


def test_every_process_outlives_a_full_redis(daemon, receiver):
    before = pids(daemon)
    assert set(before) == set(LONG_LIVED), before
    conn = daemon.redis
    fill(conn)
    # Heartbeats, locks, metrics, the reaper, dequeues: each has been refused many times over.
    stays(lambda: all(pid_alive(pid) for pid in before.values()), 12, "every process alive while Redis is full")
    freed_at = time.time()
    free(conn)
    snap = wait_for(lambda: fresh_snapshot(daemon, freed_at), 10, what="a status snapshot after Redis has room")
    after = {p["name"]: (p["pid"], p["restarts"], p["state"]) for p in snap["processes"] if p["name"] in LONG_LIVED}
    assert after == {name: (pid, 0, "running") for name, pid in before.items()}
    # and the daemon works: an event goes through
    conn.rpush(keys.FAKE_INBOUND, json.dumps(message(1)))
    wait_for(lambda: receiver.delivered_ids("hook") >= {"3EB0F0000001"}, 30, what="the event delivered")
    log = daemon.log_text()
    assert "Traceback" not in log, daemon.log_tail(80)
    assert SECRET_TEXT not in log
