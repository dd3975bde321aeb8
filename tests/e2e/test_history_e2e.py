"""The history store under `wagw run` (fake backend), one daemon for the module: a short day
of mixed traffic (messages, media, a group, sends, receipts, reactions, edits and deletes
both ways) then `wagw history messages CHAT --json` is what the fake saw, in order; and the
`history` process SIGKILLed while its SQLite file is locked: every webhook still arrives, and
the store catches up after, with no gap and no duplicate."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from chaos.polling import wait_for
from tests.e2e.conftest import one_daemon
from tests.e2e.hook import Hook

pytestmark = pytest.mark.e2e
ALICE = "15551234567@s.whatsapp.net"
BOB = "15557654321@s.whatsapp.net"
CAROL = "15550009876@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
START = int(time.time()) - 3600  # the day's inbound messages, an hour ago (before every send)


@pytest.fixture(scope="module")
def hook():
    made = Hook()
    yield made
    made.close()


@pytest.fixture(scope="module")
def daemon(hook):
    env = {"WAGW_WEBHOOK_URLS": hook.url, "WAGW_WEBHOOK_SECRET": "e2e-history-secret-of-32-bytes!!"}
    yield from one_daemon("wagw-e2e-history-", extra_env=env)


def push(daemon, *messages: dict) -> None:
    with daemon.redis.pipeline(transaction=False) as pipe:
        for message in messages:
            pipe.rpush("wagw:fake:inbound", json.dumps(message))
        pipe.execute()


def run(daemon, path: str, **kwargs) -> dict:
    job: Job = Queue("wa", connection=daemon.redis, serializer=JSONSerializer).enqueue(path, **kwargs)
    wait_for(lambda: job.get_status(refresh=True) in ("finished", "failed"), 30, 0.1, f"{path} to end")
    assert job.get_status() == "finished", job.latest_result().exc_string if job.latest_result() else job
    return job.return_value()


def history(daemon, *args: str) -> dict:
    env = {k: v for k, v in daemon.env.items() if k != "WAGW_PARENT_PID"}
    done = subprocess.run(
        [sys.executable, "-m", "wagw", "history", *args, "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def messages(daemon, chat: str) -> list[dict]:
    from wagw.history import StoreMissing, messages_page, open_url

    try:
        store = open_url(f"sqlite:///{daemon.data_dir}/history.sqlite3")
    except StoreMissing:
        return []
    try:
        return [m.as_json() for m in messages_page(store, chat, limit=1000).rows]
    except Exception:  # not migrated yet
        return []
    finally:
        store.close()


def text(n: int, body: str, chat: str = ALICE, sender: str = ALICE, **more) -> dict:
    return {
        "type": "message",
        "id": f"3EB0DAY{n:04d}",
        "chat": chat,
        "sender": sender,
        "push_name": "Alice",
        "text": body,
        "timestamp": START + n,
        **more,
    }


def test_a_day_of_traffic_is_what_the_fake_saw_in_order(daemon):
    push(
        daemon,
        text(1, "good morning"),
        {
            "type": "message",
            "id": "3EB0DAY0002",
            "chat": ALICE,
            "sender": ALICE,
            "timestamp": START + 2,
            "media": {"kind": "image", "mimetype": "image/jpeg", "caption": "the parcel"},
        },
        text(3, "oops, wrong chat"),
        text(4, "morning all", chat=GROUP, sender=BOB),
        {
            "type": "edited",
            "id": "3EB0DAYE001",
            "chat": ALICE,
            "sender": ALICE,
            "target_id": "3EB0DAY0001",
            "text": "good morning!",
            "timestamp": START + 5,
        },
        {
            "type": "revoked",
            "id": "3EB0DAYV001",
            "chat": ALICE,
            "sender": ALICE,
            "target_id": "3EB0DAY0003",
            "timestamp": START + 6,
        },
    )
    first = run(daemon, "workers.wa.send_text", to=ALICE, text="your parcel ships today")
    pin = run(daemon, "workers.wa.send_location", to=ALICE, latitude=52.52, longitude=13.405, name="Depot")
    last = run(daemon, "workers.wa.send_text", to=ALICE, text="see you")
    run(daemon, "workers.wa.edit_message", chat=ALICE, message_id=first["id"], text="your parcel ships tomorrow")
    run(daemon, "workers.wa.revoke", chat=ALICE, message_id=pin["id"])
    push(
        daemon,
        {"type": "receipt", "ids": [first["id"], last["id"]], "chat": ALICE, "sender": ALICE, "receipt_type": "read"},
        {
            "type": "reaction",
            "id": "3EB0DAYR001",
            "chat": ALICE,
            "sender": ALICE,
            "target_id": first["id"],
            "emoji": "👍",
        },
    )
    sent = [json.loads(raw) for raw in daemon.redis.lrange("wagw:fake:sent", 0, -1)]
    assert [r["op"] for r in sent][-5:] == ["send_text", "send_location", "send_text", "edit_message", "revoke"]

    expected = [
        ("3EB0DAY0001", False, "text", "good morning!", {"edited"}),
        ("3EB0DAY0002", False, "image", "the parcel", set()),
        ("3EB0DAY0003", False, "text", "oops, wrong chat", {"revoked"}),
        (first["id"], True, "text", "your parcel ships tomorrow", {"edited"}),
        (pin["id"], True, "location", "Depot", {"revoked"}),
        (last["id"], True, "text", "see you", set()),
    ]

    def shape(rows: list[dict]) -> list[tuple]:
        return [
            (m["id"], m["from_me"], m["kind"], m["text"], {s for s in ("edited", "revoked") if m[f"{s}_at"]})
            for m in rows
        ]

    def complete() -> bool:
        rows = messages(daemon, ALICE)
        return shape(rows) == expected and bool(rows[3]["reactions"]) and len(rows[5]["receipts"]) == 1

    wait_for(complete, 60, 0.2, "the day in the history store")
    page = history(daemon, "messages", ALICE)
    assert shape(page["rows"]) == expected and page["next_cursor"] is None
    by_id = {m["id"]: m for m in page["rows"]}
    assert by_id[first["id"]]["reactions"] == {ALICE: "👍"}
    assert [r["type"] for r in by_id[first["id"]]["receipts"]] == ["read"]
    assert by_id["3EB0DAY0002"]["media"]["media"]["mime_type"] == "image/jpeg"  # what download_media takes
    assert shape(history(daemon, "messages", GROUP)["rows"]) == [("3EB0DAY0004", False, "text", "morning all", set())]
    assert {c["chat"] for c in history(daemon, "chats")["rows"]} >= {ALICE, GROUP}
    assert [m["id"] for m in history(daemon, "search", "parcel")["rows"]] == [first["id"], "3EB0DAY0002"]


def test_a_killed_writer_and_a_locked_store_cost_no_webhook_and_no_row(daemon, hook):
    path = daemon.data_dir / "history.sqlite3"
    wait_for(lambda: path.exists() and daemon.child_pid("history"), 30, 0.1, "the history process")
    lock = sqlite3.connect(path, timeout=10, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        pid = daemon.child_pid("history")
        os.kill(pid, signal.SIGKILL)
        burst = [text(100 + n, f"while locked {n}", chat=CAROL, sender=CAROL) for n in range(20)]
        push(daemon, *burst)
        for message in burst:  # every webhook arrives while the store is locked
            wait_for(lambda m=message: hook.message(m["id"]), 30, 0.05, f"the webhook of {message['id']}")
        wait_for(lambda: daemon.child_pid("history") not in (None, pid), 30, 0.1, "the history process restarted")
        assert messages(daemon, CAROL) == []  # nothing could be written meanwhile
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    ids = [m["id"] for m in burst]
    wait_for(lambda: [m["id"] for m in messages(daemon, CAROL)] == ids, 60, 0.2, "the store caught up")
    db = sqlite3.connect(path, timeout=10)
    try:
        assert db.execute("SELECT count(*) - count(DISTINCT id) FROM events").fetchone() == (0,)
        stream = [e[1][b"id"].decode() for e in daemon.redis.xrange("wagw:events")]
        stored = {row[0] for row in db.execute("SELECT id FROM events")}
        assert set(stream) <= stored  # no gap
    finally:
        db.close()
