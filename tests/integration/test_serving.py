"""Accounts and queues nobody serves: the client refuses the account at once, and `wagw status`
and `wagw doctor` show jobs waiting on a wa queue that no live wa-worker listens to."""

from __future__ import annotations

import json
import os
import time

import pytest
from rich.console import Console
from rq import Queue

from tests.integration.wa_worker_harness import ALICE
from wagw import client, keys, serving
from wagw.doctor import Status, check_unserved_queues
from wagw.redisconn import SERIALIZER
from wagw.status import collect
from wagw.status.table import render


def publish_daemon(conn, accounts: list[str], key: str = keys.SUPERVISOR_STATUS) -> None:
    """A running daemon's status, as the supervisor publishes it every second."""
    status = {"pid": os.getpid(), "version": "0", "started_at": time.time(), "state": "running"}
    conn.set(key, json.dumps({**status, "accounts": accounts, "processes": []}), ex=5)


@pytest.fixture(autouse=True)
def fresh_served_cache(monkeypatch):
    monkeypatch.setattr(serving, "_served", {})


def test_an_account_no_running_daemon_serves_is_refused_at_once_naming_it(redis_conn):
    publish_daemon(redis_conn, ["default"])
    publish_daemon(redis_conn, ["sales"], keys.SUPERVISOR_STATUS_OF.format(accounts="sales"))
    started = time.monotonic()
    with pytest.raises(ValueError, match="no running wagw serves account 'nope'") as refused:
        client.enqueue_fetch_avatar(ALICE, account="nope", connection=redis_conn)
    assert time.monotonic() - started < 1
    assert "served: default, sales" in str(refused.value)
    assert not redis_conn.exists("rq:queue:wa.nope")
    # Served by either daemon: queued.
    for account in ("default", "sales"):
        job = client.enqueue_fetch_avatar(ALICE, account=account, connection=redis_conn)
        assert job.origin == f"wa.{account}"


def test_without_any_running_daemon_jobs_wait_for_its_start(redis_conn):
    job = client.enqueue_fetch_avatar(ALICE, account="sales", connection=redis_conn)
    assert Queue("wa.sales", connection=redis_conn, serializer=SERIALIZER).job_ids == [job.id]


def test_status_and_doctor_show_jobs_waiting_on_a_queue_no_live_worker_listens_to(redis_conn, settings, start_worker):
    start_worker()  # the default account's slot: listens to wa.default and wa
    Queue("wa.nope", connection=redis_conn, serializer=SERIALIZER).enqueue_call("workers.wa.fetch_avatar", [ALICE])
    Queue("wa.nope", connection=redis_conn, serializer=SERIALIZER).enqueue_call("workers.wa.fetch_avatar", [ALICE])
    report = collect(settings, redis_conn)
    assert report["unserved_queues"] == [{"queue": "wa.nope", "waiting": 2}]
    console = Console(width=250, record=True)
    render(report, console)
    assert "queue wa.nope: 2 job(s) waiting, and no live wa-worker listens to it" in console.export_text()
    checks = check_unserved_queues(redis_conn)
    assert [(c.status, c.what) for c in checks] == [
        (Status.WARN, "wa.nope: 2 job(s) waiting, and no live wa-worker listens to it")
    ]
