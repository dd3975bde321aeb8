"""`wagw session` as a real process with the fake backend against the real test Redis:
events reach the event log and the webhook queue exactly once, in order, across SIGKILL and
real Go panics; device states map to the named exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq import Queue

from chaos.polling import wait_for
from wagw import keys
from wagw.redisconn import SERIALIZER
from wagw.webhooks.endpoints import endpoint_id

ALICE = "15551234567@s.whatsapp.net"
BOB = "15557654321@s.whatsapp.net"
URLS = ["http://hooks-a.example/in", "http://hooks-b.example/in"]


class SessionProcess:
    """One `python -m wagw session` child; stdout and stderr go to a log file."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> SessionProcess:
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "wagw", "session"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    def wait(self, timeout: float = 20) -> int:
        return self.proc.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def session_env(settings_env, data_dir) -> dict[str, str]:
    settings_env.setenv("WAGW_WEBHOOK_URLS", ",".join(URLS))
    settings_env.setenv("WAGW_WEBHOOK_SECRET", "test-secret-of-16-bytes")
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def session(session_env, data_dir):
    started: list[SessionProcess] = []

    def make(**extra_env) -> SessionProcess:
        proc = SessionProcess({**session_env, **extra_env}, data_dir / "session.log").start()
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.kill()


def message(i: int, chat: str = ALICE) -> str:
    return json.dumps(
        {
            "type": "message",
            "id": f"M{i:05d}",
            "chat": chat,
            "sender": chat,
            "push_name": "Alice",
            "text": f"hi {i}",
            "timestamp": 1764412200 + i,
        }
    )


def push(redis_conn, *raw: str) -> None:
    redis_conn.rpush(keys.FAKE_INBOUND, *raw)


def stored_events(redis_conn) -> list[dict]:
    return [json.loads(fields[b"event"]) for _, fields in redis_conn.xrange(keys.EVENTS_STREAM)]


def webhook_jobs(redis_conn) -> list:
    return Queue(keys.WEBHOOKS_QUEUE, connection=redis_conn, serializer=SERIALIZER).jobs


def assert_exactly_once_in_order(redis_conn, count: int) -> None:
    events = stored_events(redis_conn)
    assert [e["payload"]["id"] for e in events] == [f"M{i:05d}" for i in range(count)]
    ids = [e["id"] for e in events]
    assert len(set(ids)) == count
    jobs = webhook_jobs(redis_conn)
    assert len(jobs) == count * len(URLS)
    for url in URLS:
        per_endpoint = [job.args for job in jobs if job.args[0] == endpoint_id(url)]
        assert [args[1] for args in per_endpoint] == ids  # each event once per endpoint, in order
        assert [json.loads(args[2])["id"] for args in per_endpoint] == ids
    # Acknowledged once stored: the acknowledgement follows the store by a moment.
    wait_for(lambda: redis_conn.llen(keys.FAKE_PENDING) == 0, timeout=10, what="every event acknowledged")


def test_events_reach_the_log_and_webhook_queue_exactly_once(session, redis_conn):
    push(redis_conn, *[message(i) for i in range(50)])
    proc = session()
    wait_for(lambda: redis_conn.xlen(keys.EVENTS_STREAM) == 50, timeout=20, what="50 events in wagw:events")
    wait_for(
        lambda: redis_conn.llen(keys.FAKE_INBOUND) == 0 and redis_conn.llen(keys.FAKE_PENDING) == 0,
        timeout=5,
        what="inbound drained",
    )
    assert_exactly_once_in_order(redis_conn, 50)

    entry = redis_conn.xrange(keys.EVENTS_STREAM, count=1)[0][1]
    body = json.loads(entry[b"event"])
    assert entry[b"name"] == b"message" and entry[b"id"].decode() == body["id"]
    assert body["device_id"] == "15550001111@s.whatsapp.net"
    assert body["payload"] == {
        "id": "M00000",
        "chat_id": ALICE,
        "from": ALICE,
        "sender_display_name": "Alice",
        "from_name": "Alice",
        "timestamp": "2025-11-29T10:30:00Z",
        "is_from_me": False,
        "body": "hi 0",
    }
    job = webhook_jobs(redis_conn)[0]
    assert job.func_name == "workers.webhooks.deliver" and job.retries_left and job.retry_intervals
    assert redis_conn.ttl(keys.EVENT_SEEN.format(event_id=body["id"])) > 86_000

    status = wait_for(
        lambda: redis_conn.hgetall(keys.DEVICE_STATUS.format(role="session")), timeout=5, what="device status"
    )
    assert status[b"paired"] == b"1" and status[b"connected"] == b"1" and status[b"state"] == b"connected"
    assert status[b"jid"] == b"15550001111:1@s.whatsapp.net"
    assert 0 < redis_conn.ttl(keys.DEVICE_STATUS.format(role="session")) <= 10

    proc.proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert redis_conn.hget(keys.DEVICE_STATUS.format(role="session"), "state") == b"stopped"


def test_a_redelivered_event_is_dropped_as_duplicate(session, redis_conn):
    push(redis_conn, message(0), message(1), message(0))
    proc = session()
    wait_for(
        lambda: redis_conn.llen(keys.FAKE_INBOUND) == 0 and redis_conn.llen(keys.FAKE_PENDING) == 0,
        timeout=20,
        what="inbound drained",
    )
    wait_for(
        lambda: redis_conn.hget(keys.DEVICE_STATUS.format(role="session"), "duplicates") == b"1",
        timeout=5,
        what="the duplicate to be counted",
    )
    assert [e["payload"]["id"] for e in stored_events(redis_conn)] == ["M00000", "M00001"]
    assert len(webhook_jobs(redis_conn)) == 2 * len(URLS)
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.wait() == 0


def test_webhook_events_filter_keeps_the_log_complete(session, redis_conn):
    reaction = json.dumps({"type": "reaction", "id": "R1", "sender": ALICE, "target_id": "M00000", "emoji": "👍"})
    push(redis_conn, message(0), reaction)
    proc = session(WAGW_WEBHOOK_EVENTS="message")
    wait_for(lambda: redis_conn.xlen(keys.EVENTS_STREAM) == 2, timeout=20, what="2 events")
    assert [e["event"] for e in stored_events(redis_conn)] == ["message", "message.reaction"]
    assert {json.loads(job.args[2])["event"] for job in webhook_jobs(redis_conn)} == {"message"}
    proc.kill()


def history(chat: str, *ids: str) -> str:
    sent = [{"id": i, "text": f"past {i}", "timestamp": 1764400000 + n} for n, i in enumerate(ids)]
    return json.dumps({"type": "history_sync", "chat": chat, "messages": sent})


def test_history_sync_fills_the_log_and_reaches_webhooks_only_when_opted_in(session, redis_conn):
    bad = json.dumps({"type": "history_sync", "chat": ALICE, "messages": "not a list"})
    push(redis_conn, history(ALICE, "H1", "H2"), bad, message(0))
    proc = session()
    wait_for(lambda: redis_conn.xlen(keys.EVENTS_STREAM) == 2, timeout=20, what="the history and the message")
    synced, live = stored_events(redis_conn)
    assert synced["event"] == "history.sync" and [m["id"] for m in synced["payload"]["messages"]] == ["H1", "H2"]
    assert synced["payload"]["messages"][0]["body"] == "past H1" and live["payload"]["id"] == "M00000"
    assert {json.loads(job.args[2])["event"] for job in webhook_jobs(redis_conn)} == {"message"}  # off by default
    wait_for(lambda: redis_conn.llen(keys.FAKE_REJECTED) == 1, timeout=5, what="the bad one rejected")
    assert "'messages' must be a non-empty list" in json.loads(redis_conn.lindex(keys.FAKE_REJECTED, 0))["error"]
    proc.kill()

    push(redis_conn, history(BOB, "H3"))
    proc = session(WAGW_WEBHOOK_HISTORY_SYNC="true")
    wait_for(lambda: redis_conn.xlen(keys.EVENTS_STREAM) == 3, timeout=20, what="the second history")
    delivered = [json.loads(job.args[2]) for job in webhook_jobs(redis_conn)]
    assert [b["payload"]["chat_id"] for b in delivered if b["event"] == "history.sync"] == [BOB] * len(URLS)
    proc.kill()


def test_new_event_kinds_flow_through_a_session_and_bad_ones_are_rejected_with_why(session, redis_conn):
    """chat_presence and the newsletter events go from the fake through a real session into
    the log, delivered as WAGW_WEBHOOK_EVENTS says; a label event (neonize never passes one
    on) and a malformed presence land on wagw:fake:rejected with the reason, and the events
    after them still arrive."""
    channel = "120363123456789@newsletter"
    good = [
        {"type": "chat_presence", "sender": ALICE, "state": "composing", "media": "audio"},
        {"type": "newsletter_joined", "newsletter_id": channel, "name": "Tech"},
        {"type": "newsletter_message", "newsletter_id": channel, "messages": [{"server_id": 1, "views_count": 9}]},
        {"type": "newsletter_mute", "newsletter_id": channel, "mute": "on"},
        {"type": "newsletter_left", "newsletter_id": channel},
    ]
    bad = [
        {"type": "label_edit", "label_id": "9", "name": "Important"},
        {"type": "chat_presence", "sender": ALICE, "state": "recording"},
    ]
    push(redis_conn, *(json.dumps(d) for d in [good[0], *bad, *good[1:]]))
    proc = session(WAGW_WEBHOOK_EVENTS="chat_presence,newsletter.message")
    wait_for(lambda: redis_conn.xlen(keys.EVENTS_STREAM) == len(good), timeout=20, what="the good events")
    wait_for(lambda: redis_conn.llen(keys.FAKE_REJECTED) == len(bad), timeout=5, what="the bad ones rejected")
    assert [e["event"] for e in stored_events(redis_conn)] == [
        "chat_presence",
        "newsletter.joined",
        "newsletter.message",
        "newsletter.mute",
        "newsletter.left",
    ]
    rejected = [json.loads(r) for r in redis_conn.lrange(keys.FAKE_REJECTED, 0, -1)]
    assert "never passes whatsmeow's LabelEdit" in rejected[0]["error"]
    assert "'state' must be one of" in rejected[1]["error"]
    delivered = [json.loads(job.args[2])["event"] for job in webhook_jobs(redis_conn)]
    assert sorted(delivered) == sorted(["chat_presence", "newsletter.message"] * len(URLS))
    # Acknowledged once stored: the acknowledgement follows the store by a moment.
    wait_for(lambda: redis_conn.llen(keys.FAKE_PENDING) == 0, timeout=10, what="every event acknowledged")
    proc.kill()


def test_group_joined_flows_through_a_session_naming_the_account_and_a_bad_one_is_rejected(session, redis_conn):
    """group.joined from the fake through a real session: stored and delivered with the
    account's own JID in `jids` (filled from the session's device), the same join pushed twice
    is one event, and a join to a non-group chat lands on wagw:fake:rejected with the reason."""
    group = "120363000000000002@g.us"
    joined = json.dumps(
        {"type": "group_joined", "chat": group, "reason": "invite", "group_name": "Team", "version": "v1"}
    )
    bad = json.dumps({"type": "group_joined", "chat": ALICE})
    push(redis_conn, joined, bad, joined, message(0))
    proc = session(WAGW_WEBHOOK_EVENTS="group.joined")
    wait_for(lambda: redis_conn.xlen(keys.EVENTS_STREAM) == 2, timeout=20, what="2 events")
    wait_for(lambda: redis_conn.llen(keys.FAKE_REJECTED) == 1, timeout=5, what="the bad one rejected")
    first = stored_events(redis_conn)[0]
    assert [e["event"] for e in stored_events(redis_conn)] == ["group.joined", "message"]
    assert first["payload"] == {
        "chat_id": group,
        "type": "join",
        "jids": [first["device_id"]],
        "reason": "invite",
        "group_name": "Team",
    }
    assert first["device_id"].endswith("@s.whatsapp.net")
    assert "must be a group JID" in json.loads(redis_conn.lindex(keys.FAKE_REJECTED, 0))["error"]
    delivered = [json.loads(job.args[2]) for job in webhook_jobs(redis_conn)]
    assert [d["event"] for d in delivered] == ["group.joined"] * len(URLS)
    assert {d["id"] for d in delivered} == {first["id"]}
    proc.kill()


def test_ignored_chats_stay_in_the_log_but_get_no_deliveries(session, redis_conn):
    group = "120363000000000001@g.us"
    in_group = json.dumps({"type": "message", "id": "G1", "chat": group, "sender": ALICE, "text": "hi all"})
    push(redis_conn, in_group, message(0))
    proc = session(WAGW_WEBHOOK_IGNORE_GROUPS="true")
    wait_for(lambda: redis_conn.xlen(keys.EVENTS_STREAM) == 2, timeout=20, what="2 events")
    assert [e["payload"]["chat_id"] for e in stored_events(redis_conn)] == [group, ALICE]
    assert {json.loads(job.args[2])["payload"]["chat_id"] for job in webhook_jobs(redis_conn)} == {ALICE}
    proc.kill()


def test_sigkill_mid_burst_then_restart_delivers_every_event_exactly_once(session, redis_conn):
    total = 1000
    push(redis_conn, *[message(i) for i in range(total)])
    proc = session()
    wait_for(lambda: redis_conn.xlen(keys.EVENTS_STREAM) >= 100, timeout=20, what="the burst to be under way")
    proc.proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    at_kill = redis_conn.xlen(keys.EVENTS_STREAM)
    assert at_kill < total, "the burst finished before the kill; the test proves nothing"

    restarted_at = time.monotonic()
    session()
    wait_for(lambda: redis_conn.xlen(keys.EVENTS_STREAM) > at_kill, timeout=10, what="the restarted session")
    back_after = time.monotonic() - restarted_at
    wait_for(
        lambda: (
            redis_conn.xlen(keys.EVENTS_STREAM) >= total
            and redis_conn.llen(keys.FAKE_PENDING) == 0
            and redis_conn.llen(keys.FAKE_INBOUND) == 0
        ),
        timeout=60,
        what="all events",
    )
    assert_exactly_once_in_order(redis_conn, total)
    # "Back within about a second" is measured by `make chaos` (docs/reliability.md); here, on
    # whatever load the suite runs beside, a bound that only a hang or a crash loop exceeds.
    assert back_after < 5.0, f"the restarted session took {back_after:.2f}s to store an event"


def test_inbound_crash_is_a_real_go_panic_and_restart_loses_nothing(session, redis_conn):
    push(
        redis_conn,
        *[message(i) for i in range(300)],
        json.dumps({"type": "crash"}),
        *[message(i) for i in range(300, 600)],
    )
    proc = session()
    assert proc.wait(timeout=30) == -signal.SIGABRT
    log = proc.log()
    assert "panic:" in log and "goroutine" in log and "raising a real Go panic" in log
    assert redis_conn.xlen(keys.EVENTS_STREAM) == 300

    session()
    wait_for(
        lambda: (
            redis_conn.xlen(keys.EVENTS_STREAM) >= 600
            and redis_conn.llen(keys.FAKE_INBOUND) == 0
            and redis_conn.llen(keys.FAKE_PENDING) == 0
        ),
        timeout=30,
        what="the events after the crash",
    )
    assert_exactly_once_in_order(redis_conn, 600)


@pytest.mark.parametrize(
    ("state", "code", "advice"),
    [
        ("unpaired", 80, "wagw pair --role session"),
        ("logged_out", 81, "--force"),
        ("stream_replaced", 82, "stream replaced"),
        ("temporary_ban", 83, "temporarily banned"),
    ],
)
def test_device_problems_exit_with_named_codes_and_stay_visible(session, redis_conn, state, code, advice):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "session", state)
    redis_conn.hset(keys.DEVICE_JIDS, "session", "15550001111:1@s.whatsapp.net")
    proc = session()
    assert proc.wait(timeout=20) == code
    assert advice in proc.log()
    status = redis_conn.hgetall(keys.DEVICE_STATUS.format(role="session"))
    assert status[b"state"].decode() == state and status[b"connected"] == b"0"
    assert status[b"paired"] == (b"0" if state == "unpaired" else b"1")
    if state in ("unpaired", "logged_out", "stream_replaced"):
        assert redis_conn.ttl(keys.DEVICE_STATUS.format(role="session")) == -1  # stays until fixed
    if state == "logged_out":
        assert not redis_conn.hexists(keys.DEVICE_JIDS, "session")


def test_network_trouble_exits_tempfail_after_a_pause(session, redis_conn):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "session", "offline")
    started = time.monotonic()
    proc = session()
    assert proc.wait(timeout=20) == 75
    assert time.monotonic() - started >= 2.0  # counts as a run for the supervisor's backoff
    assert redis_conn.hget(keys.DEVICE_STATUS.format(role="session"), "state") == b"offline"


def test_sigterm_during_a_burst_stops_cleanly_and_the_rest_follows_after_restart(session, redis_conn):
    total = 600
    push(redis_conn, *[message(i) for i in range(total)])
    proc = session()
    wait_for(lambda: redis_conn.xlen(keys.EVENTS_STREAM) >= 50, timeout=20, what="the burst to start")
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    session()
    wait_for(
        lambda: (
            redis_conn.xlen(keys.EVENTS_STREAM) >= total
            and redis_conn.llen(keys.FAKE_PENDING) == 0
            and redis_conn.llen(keys.FAKE_INBOUND) == 0
        ),
        timeout=30,
        what="all events",
    )
    assert_exactly_once_in_order(redis_conn, total)


def test_redis_unreachable_at_start_is_tempfail(session, data_dir):
    proc = session(WAGW_REDIS_URL=f"unix://{data_dir}/nothing-here.sock")
    assert proc.wait(timeout=20) == 75
    assert "Redis unreachable" in proc.log()
