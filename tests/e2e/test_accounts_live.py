"""`wagw accounts add|remove` against a running `wagw run`: the account's children come and go,
every other process keeps its pid, and the new account's events and jobs flow."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from chaos.polling import wait_for
from chaos.receiver import Receiver
from wagw.procs import pid_alive

pytestmark = pytest.mark.e2e
SECRET = "e2e-secret-of-sixteen-bytes"
ALICE = "15551234567@s.whatsapp.net"


def wagw_accounts(daemon, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wagw", "accounts", *args],
        env=daemon.env,
        cwd=daemon.data_dir,
        capture_output=True,
        text=True,
        timeout=30,
    )


def pids(daemon) -> dict[str, int]:
    return {p["name"]: p["pid"] for p in (daemon.snapshot() or {"processes": []})["processes"]}


def running(daemon, *names: str) -> bool:
    states = {p["name"]: p["state"] for p in (daemon.snapshot() or {"processes": []})["processes"]}
    return all(states.get(name) == "running" for name in names)


def message(n: int, account: str | None = None) -> dict:
    body = {
        "type": "message",
        "id": f"3EBLIVE{n:06d}",
        "chat": ALICE,
        "sender": ALICE,
        "push_name": "Alice",
        "text": f"hello {n}",
        "timestamp": 1764412200 + n,
    }
    if account is not None:
        body["account"] = account
    return body


def test_an_account_added_and_removed_while_running_leaves_the_others_alone(daemon_factory):
    receiver = Receiver(SECRET, ["hook"]).start()
    try:
        daemon = daemon_factory({"WAGW_WEBHOOK_URLS": receiver.url("hook"), "WAGW_WEBHOOK_SECRET": SECRET}).start()
        before = pids(daemon)
        assert {"session", "wa-worker-1", "scheduler", "webhook-worker-1"} <= set(before)

        added = wagw_accounts(daemon, "add", "support")
        assert added.returncode == 0, added.stderr
        assert "wagw pair --account support" in added.stdout
        wait_for(lambda: running(daemon, "support/session", "support/wa-worker-1"), 20, 0.1, "support's children")
        now = pids(daemon)
        assert {name: now[name] for name in before} == before, "an existing process was restarted"
        listed = json.loads(wagw_accounts(daemon, "list", "--json").stdout)
        assert [(a["name"], a["source"]) for a in listed] == [("default", "WAGW_ACCOUNTS"), ("support", "accounts add")]

        # Its events carry its name and its own device; its jobs run on its own device.
        daemon.redis.rpush("wagw:fake:inbound", json.dumps(message(1, "support")), json.dumps(message(2)))
        wait_for(lambda: len(receiver.delivered_ids("hook")) == 2, 20, 0.1, "both events delivered")
        by_account = {r.account: r for r in receiver.snapshot() if 200 <= r.status < 300}
        assert set(by_account) == {"default", "support"}
        assert by_account["support"].header_account == "support" and by_account["default"].header_account == "default"
        assert by_account["support"].device_id != by_account["default"].device_id
        assert all(r.signature_ok for r in receiver.snapshot())

        queue = Queue("wa.support", connection=daemon.redis, serializer=JSONSerializer)
        job = queue.enqueue("workers.wa.send_text", to=ALICE, text="from support")
        wait_for(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, 30, 0.1, "the support job")
        sent = [json.loads(raw) for raw in daemon.redis.lrange("wagw:fake:sent", 0, -1)]
        assert [(s["account"], s["role"], s["slot"]) for s in sent if s["op"] == "send_text"] == [
            ("support", "support/worker-1", 1)
        ]

        # Removed: its children stop, nobody else notices, its queue keeps what waits.
        support_pids = [now["support/session"], now["support/wa-worker-1"]]
        removed = wagw_accounts(daemon, "remove", "support")
        assert removed.returncode == 0, removed.stderr
        wait_for(lambda: "support/session" not in pids(daemon), 20, 0.1, "support's children gone")
        wait_for(lambda: not any(pid_alive(pid) for pid in support_pids), 10, 0.1, "support's processes ended")
        assert pids(daemon) == before
        waiting = queue.enqueue("workers.wa.send_text", to=ALICE, text="later")
        assert Job.fetch(waiting.id, connection=daemon.redis, serializer=JSONSerializer).get_status() == "queued"
        refused = wagw_accounts(daemon, "remove", "default")
        assert refused.returncode != 0 and "first of WAGW_ACCOUNTS" in refused.stderr
        assert daemon.stop() == 0
        assert os.stat(daemon.data_dir / "accounts.json").st_mode & 0o777 == 0o600
    finally:
        receiver.close()
