"""`wagw status` reads everything from Redis: devices, queues, crashes, quarantines, poisoned
targets, failed deliveries."""

from __future__ import annotations

import json
import time

from rich.console import Console
from rq import Queue
from rq.registry import FailedJobRegistry

from wagw import keys, quarantine
from wagw.redisconn import SERIALIZER
from wagw.status import collect
from wagw.status.table import render
from wagw.webhooks.endpoints import endpoint_id

PANIC = "panic: unsupported payload type: *store.PrivacyToken"
HOOK = "https://user:pw@hooks.example/in?token=x"


def test_report_shows_crashes_quarantines_poisoned_targets_and_failed_deliveries(redis_conn, settings):
    for _ in range(settings.quarantine_crashes):
        quarantine.record_crash(
            redis_conn, settings, "fetch_avatar", process="wa-worker-1", exit="signal SIGABRT", panic=PANIC
        )
    for _ in range(settings.poison_crashes):
        quarantine.record_crash(
            redis_conn,
            settings,
            "send_text",
            target=quarantine.Target.of("15551234567@s.whatsapp.net"),
            process="wa-worker-1",
            exit="signal SIGABRT",
            panic=PANIC,
        )
    queue = Queue(keys.WEBHOOKS_QUEUE, connection=redis_conn, serializer=SERIALIZER)
    settings = settings.model_copy(update={"webhook_urls": [HOOK]})
    failed = [
        queue.enqueue("workers.webhooks.deliver", args=(reference, f"evt-{n}", "{}"))
        for n, reference in enumerate([endpoint_id(HOOK), HOOK, "https://u:pw2@elsewhere.example/x?t=y", "ffff0000"])
    ]
    for job in failed:
        job.meta.update({"attempts": 12, "last_status": 503})
        job.save_meta()
        FailedJobRegistry(queue=queue).add(job, exc_string="HTTP 503")
    redis_conn.hset(
        keys.DEVICE_STATUS.format(role="session"),
        mapping={"paired": "1", "connected": "1", "jid": "15550001111:1@s.whatsapp.net"},
    )

    report = collect(settings, redis_conn)
    assert report["supervisor"] is None and report["processes"] == []
    assert report["devices"][0] == {
        "role": "session",
        "account": "default",
        "paired": True,
        "connected": True,
        "jid": "15550001111:1@s.whatsapp.net",
        "state": "offline",
    }
    assert report["devices"][1]["paired"] is False and "wagw pair --role worker-1" in report["devices"][1]["hint"]
    assert report["queues"]["webhooks"]["failed"] == 4
    assert [q["operation"] for q in report["quarantines"]] == ["fetch_avatar"]
    [poisoned] = report["poisoned_targets"]
    assert (poisoned["operation"], poisoned["target"]) == ("send_text", "…4567@s.whatsapp.net")
    assert poisoned["crashes"] == settings.poison_crashes and poisoned["panic"] == PANIC
    assert len(report["crashes"]) == settings.quarantine_crashes + settings.poison_crashes
    assert report["crashes"][0]["panic"] == PANIC and report["crashes"][0]["target"] == "…4567@s.whatsapp.net"
    assert report["failed_deliveries"]["count"] == 4
    # A configured endpoint shows as its redacted URL, and so does a job naming a URL (from a wagw
    # without ids); one this configuration does not know shows as the job names it, without credentials.
    assert sorted(d["endpoint"] for d in report["failed_deliveries"]["recent"]) == [
        "ffff0000",
        "https://elsewhere.example/x",
        "https://hooks.example/in",
        "https://hooks.example/in",
    ]
    json.dumps(report)  # --json must serialise it

    console = Console(record=True, width=200, force_terminal=False)
    render(report, console)
    text = console.export_text()
    assert "supervisor not running" in text
    assert "quarantined operations" in text and "fetch_avatar" in text
    assert "PrivacyToken" in text
    assert "poisoned targets" in text and "…4567@s.whatsapp.net" in text
    assert "15551234567" not in text and "15551234567" not in json.dumps(report)  # masked everywhere
    assert "failed deliveries (4;" in text and "evt-1" in text and "503" in text
    assert "pw@" not in text and "token=x" not in text and "pw2" not in text  # no credentials on screen


def test_one_accounts_view_and_every_daemon_on_the_redis(redis_conn, settings):
    settings = settings.model_copy(update={"accounts": ["sales", "support"]})

    def snapshot(pid: int, accounts: list[str], processes: list[tuple[str, str | None]]) -> str:
        return json.dumps(
            {
                "pid": pid,
                "version": "x",
                "started_at": 0,
                "state": "running",
                "accounts": accounts,
                "processes": [
                    {"name": n, "account": a, "pid": pid + i, "state": "running", "restarts": 0}
                    for i, (n, a) in enumerate(processes)
                ],
            }
        )

    redis_conn.set(
        keys.SUPERVISOR_STATUS_OF.format(accounts="sales"),
        snapshot(100, ["sales"], [("scheduler", None), ("sales/session", "sales")]),
    )
    redis_conn.set(
        keys.SUPERVISOR_STATUS_OF.format(accounts="support"),
        snapshot(200, ["support"], [("scheduler", None), ("support/session", "support")]),
    )
    everything = collect(settings, redis_conn)
    assert [d["pid"] for d in everything["supervisors"]] == [100, 200]
    assert len(everything["processes"]) == 4
    assert list(everything["queues"]) == ["wa", "wa.sales", "wa.support", "webhooks"]
    assert [d["role"] for d in everything["devices"]] == [
        "sales/session",
        "sales/worker-1",
        "support/session",
        "support/worker-1",
    ]
    support = collect(settings, redis_conn, "support")
    assert [p["name"] for p in support["processes"]] == ["support/session"]
    assert list(support["queues"]) == ["wa.support"]
    assert {d["account"] for d in support["devices"]} == {"support"}
    assert "wagw pair --role support/worker-1" in support["devices"][1]["hint"]
    sales = collect(settings, redis_conn, "sales")
    assert list(sales["queues"]) == ["wa.sales", "wa"]  # the first account also serves `wa`
    text = Console(record=True, width=200)
    render(everything, text)
    assert "also supervisor pid 200 running accounts support" in text.export_text()


def test_one_accounts_view_shows_only_its_crashes_quarantines_and_poisoned_targets(redis_conn, settings):
    settings = settings.model_copy(update={"accounts": ["default", "sales"]})
    target = quarantine.Target.of("15551234567@s.whatsapp.net")
    for _ in range(settings.quarantine_crashes):  # sales' fetch_avatar, scoped as the wa-worker does
        quarantine.record_crash(
            redis_conn, settings, "sales/fetch_avatar", process="sales/wa-worker-1/host", exit="SIGABRT", panic=PANIC
        )
    for _ in range(settings.poison_crashes):  # default's send_text on one target: legacy scope
        quarantine.record_crash(
            redis_conn, settings, "send_text", target=target, process="default/wa-worker-1/host", exit="x", panic=PANIC
        )
    supervised = [("sales/session", "SIGABRT"), ("default/session", "SIGKILL"), ("webhook-worker-1", "SIGKILL")]
    for process, exit_ in supervised:  # as the supervisor records a child's crash
        redis_conn.lpush(keys.CRASHES, json.dumps({"time": 1.0, "process": process, "exit": exit_, "state": "backoff"}))

    sales = collect(settings, redis_conn, "sales")
    assert [q["operation"] for q in sales["quarantines"]] == ["sales/fetch_avatar"] and not sales["poisoned_targets"]
    assert {c["process"] for c in sales["crashes"]} == {"sales/session", "sales/wa-worker-1/host"}
    default = collect(settings, redis_conn, "default")
    assert not default["quarantines"] and [p["operation"] for p in default["poisoned_targets"]] == ["send_text"]
    assert {c["process"] for c in default["crashes"]} == {"default/session", "default/wa-worker-1/host"}
    everything = collect(settings, redis_conn)  # the whole view: all of them, shared ones too
    assert len(everything["quarantines"]) == len(everything["poisoned_targets"]) == 1
    assert "webhook-worker-1" in {c["process"] for c in everything["crashes"]}


def test_a_slot_logged_out_replaced_or_banned_shows_its_state_and_the_fix(redis_conn, settings):
    settings = settings.model_copy(update={"wa_workers": 3})
    retry_at = 1_900_000_000
    for slot, state, extra in (
        (1, "logged_out", {}),
        (2, "stream_replaced", {}),
        (3, "temporary_ban", {"retry_at": retry_at}),
    ):
        redis_conn.hset(
            keys.DEVICE_STATUS.format(role=f"worker-{slot}"),
            mapping={"paired": "0" if slot == 1 else "1", "connected": "0", "state": state, **extra},
        )
    devices = {device["role"]: device for device in collect(settings, redis_conn)["devices"]}
    assert devices["worker-1"]["state"] == "logged_out"
    assert devices["worker-1"]["hint"] == "logged out by the phone — run `wagw pair --role worker-1 --force`"
    assert devices["worker-2"]["state"] == "stream_replaced"
    assert devices["worker-2"]["hint"].startswith("another client connected with its keys — stop it")
    assert devices["worker-3"]["state"] == "temporary_ban"
    at = time.strftime("%H:%M:%S", time.localtime(retry_at))
    assert (
        devices["worker-3"]["hint"] == f"temporarily banned by WhatsApp: tries again at {at}; slow down what apps send"
    )
    console = Console(width=250, record=True)
    render(collect(settings, redis_conn), console)
    shown = console.export_text()
    assert "run `wagw pair --role worker-1 --force`" in shown and f"tries again at {at}" in shown
