"""The fake backend against the real test Redis; its Go panics come from the real neonize."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from chaos.polling import wait_for
from wagw import keys
from wagw.whatsapp.backend import BackendError, ConnectFailure, LoggedOut, NotPaired, StreamReplaced, TemporaryBan
from wagw.whatsapp.fake import FakeBackend, fake_device_jid

ALICE = "15551234567@s.whatsapp.net"


def sent(redis_conn) -> list[dict]:
    return [json.loads(raw) for raw in redis_conn.lrange(keys.FAKE_SENT, 0, -1)]


def run_child(code: str, env: dict, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=timeout
    )


# Outbound ---------------------------------------------------------------------------------


def not_taken(conn) -> list[str]:
    """Ids of control messages no session has taken: still on the shared list, or sorted onto
    the account's own list (wagw.whatsapp.fake) but not moved to pending."""
    waiting = conn.lrange(f"{keys.FAKE_INBOUND}:default", 0, -1) + conn.lrange(keys.FAKE_INBOUND, 0, -1)
    return [json.loads(raw)["id"] for raw in waiting]


def test_outbound_calls_are_recorded_and_return_documented_shapes(settings, redis_conn):
    backend = FakeBackend(settings, "worker-1")
    backend.start()
    assert backend.is_connected()

    avatar = backend.fetch_avatar(ALICE)
    assert set(avatar) == {"jid", "url", "id", "type", "direct_path"}
    assert avatar["jid"] == ALICE and avatar["type"] == "image" and avatar["url"].startswith("https://")
    assert backend.fetch_avatar(ALICE, preview=True)["type"] == "preview"

    text = backend.send_text(ALICE, "hi", reply_to="3EB0AAAA")
    assert set(text) == {"id", "timestamp", "to"} and text["to"] == ALICE and text["timestamp"].endswith("Z")
    image = backend.send_image(ALICE, b"\x89PNG fake", "image/png", caption="look")
    assert set(image) == {"id", "timestamp", "to"} and image["id"] != text["id"]

    users = backend.user_info([ALICE])["users"]
    assert users[0]["jid"] == ALICE and set(users[0]) == {"jid", "status", "picture_id", "verified_name", "devices"}
    found = backend.is_on_whatsapp(["+15551234567"])["results"]
    assert found == [
        {"query": "+15551234567", "jid": ALICE, "lid": None, "is_on_whatsapp": True, "verified_name": None}
    ]
    group = backend.group_info("120363000000000009@g.us")
    assert group["jid"] == "120363000000000009@g.us" and group["participants"][0]["is_super_admin"] is True
    assert len(backend.joined_groups()["groups"]) == 2
    assert backend.mark_read(ALICE, ["A", "B"], sender=ALICE) == {
        "chat": ALICE,
        "ids": ["A", "B"],
        "sender": ALICE,
        "receipt_type": "read",
    }

    records = sent(redis_conn)
    assert [r["op"] for r in records] == [
        "fetch_avatar",
        "fetch_avatar",
        "send_text",
        "send_image",
        "user_info",
        "is_on_whatsapp",
        "group_info",
        "joined_groups",
        "mark_read",
    ]
    assert all(r["role"] == "worker-1" and r["time"] > 0 for r in records)
    assert records[2]["args"] == {
        "to": ALICE,
        "text": "hi",
        "reply_to": "3EB0AAAA",
        "reply_to_sender": None,
        "mentions": [],
        "reply_to_text": None,
    }
    assert records[3]["args"]["image"]["bytes"] == len(b"\x89PNG fake")
    backend.stop()
    backend.wait()


def test_fail_target_raises_backend_error_and_is_recorded(settings, redis_conn):
    backend = FakeBackend(settings, "worker-1")
    with pytest.raises(BackendError, match="simulated failure"):
        backend.send_text("fail@s.whatsapp.net", "x")
    with pytest.raises(BackendError):
        backend.is_on_whatsapp(["+15550000000", "fail"])
    assert [r["op"] for r in sent(redis_conn)] == ["send_text", "is_on_whatsapp"]


@pytest.mark.parametrize("op", ["fetch_avatar", "send_text"])
def test_crash_target_dies_of_a_real_go_panic(settings, redis_conn, op):
    call = {
        "fetch_avatar": "b.fetch_avatar('crash@s.whatsapp.net')",
        "send_text": "b.send_text('crash@s.whatsapp.net', 'boom')",
    }[op]
    result = run_child(
        f"""
        from wagw.config import Settings
        from wagw.whatsapp.fake import FakeBackend
        b = FakeBackend(Settings(_env_file=None), "worker-1")
        {call}
        print("survived")
        """,
        dict(os.environ),
    )
    assert result.returncode == -signal.SIGABRT, result.stderr[-2000:]
    assert "panic:" in result.stderr and "goroutine" in result.stderr
    assert "survived" not in result.stdout
    assert [r["op"] for r in sent(redis_conn)] == [op]  # recorded before dying


def test_hang_target_blocks_until_killed(settings, redis_conn):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
            from wagw.config import Settings
            from wagw.whatsapp.fake import FakeBackend
            FakeBackend(Settings(_env_file=None), "worker-1").group_info("hang@g.us")
            print("returned", flush=True)
            """
            ),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: sent(redis_conn), timeout=15, what="the hang call to be recorded")
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=0.5)
    finally:
        proc.kill()
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL and "returned" not in out


# Device state -----------------------------------------------------------------------------


def test_paired_by_default_with_a_stable_fake_jid(settings, redis_conn):
    assert FakeBackend(settings, "session").device_jid() == fake_device_jid("session") == "15550001111:1@s.whatsapp.net"
    assert FakeBackend(settings, "worker-2").device_jid() == "15550001111:3@s.whatsapp.net"
    redis_conn.hset(keys.DEVICE_JIDS, "session", "15559998888:4@s.whatsapp.net")
    assert FakeBackend(settings, "session").device_jid() == "15559998888:4@s.whatsapp.net"


@pytest.mark.parametrize(
    ("state", "error"),
    [
        ("unpaired", NotPaired),
        ("logged_out", LoggedOut),
        ("stream_replaced", StreamReplaced),
        ("temporary_ban", TemporaryBan),
        ("offline", ConnectFailure),
    ],
)
def test_device_state_marker_makes_start_fail(settings, redis_conn, state, error):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "session", state)
    backend = FakeBackend(settings, "session")
    with pytest.raises(error):
        backend.start(lambda event: None)
    assert not backend.is_connected()
    if state == "unpaired":
        assert backend.device_jid() is None
    assert FakeBackend(settings, "worker-1").device_jid()  # other roles unaffected


# Inbound ----------------------------------------------------------------------------------


class Recorder:
    def __init__(self, fail_on: str | None = None):
        self.events = []
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def __call__(self, event):
        if self.fail_on and event.payload.get("id") == self.fail_on:
            raise RuntimeError("handler broke")
        with self.lock:
            self.events.append(event)


def push(redis_conn, *messages):
    redis_conn.rpush(keys.FAKE_INBOUND, *[m if isinstance(m, str) else json.dumps(m) for m in messages])


def msg(i: int, **extra) -> dict:
    return {
        "type": "message",
        "id": f"M{i}",
        "chat": ALICE,
        "sender": ALICE,
        "push_name": "Alice",
        "text": f"hi {i}",
        "timestamp": 1764412200 + i,
        **extra,
    }


def test_inbound_events_reach_the_handler_in_order_and_are_acknowledged(settings, redis_conn):
    recorder = Recorder()
    backend = FakeBackend(settings, "session")
    backend.start(recorder)
    push(redis_conn, *[msg(i) for i in range(20)])
    push(
        redis_conn,
        {"type": "reaction", "id": "R1", "chat": ALICE, "sender": ALICE, "target_id": "M1", "emoji": "👍"},
        {"type": "receipt", "ids": ["M1", "M2"], "chat": ALICE, "sender": ALICE, "receipt_type": "read"},
    )
    wait_for(lambda: len(recorder.events) == 22, timeout=10, what="22 events")
    assert [e.payload.get("id") for e in recorder.events[:20]] == [f"M{i}" for i in range(20)]
    assert recorder.events[0].event == "message" and recorder.events[0].payload["body"] == "hi 0"
    assert recorder.events[20].event == "message.reaction" and recorder.events[20].payload["reaction"] == "👍"
    assert recorder.events[21].event == "message.ack" and recorder.events[21].payload["ids"] == ["M1", "M2"]
    wait_for(lambda: redis_conn.llen(keys.FAKE_PENDING) == 0, timeout=5, what="pending to drain")
    assert redis_conn.llen(keys.FAKE_INBOUND) == 0
    backend.stop()
    backend.wait()


def test_malformed_inbound_is_rejected_and_does_not_block_the_stream(settings, redis_conn):
    recorder = Recorder()
    backend = FakeBackend(settings, "session")
    backend.start(recorder)
    push(redis_conn, "{not json", json.dumps(["a list"]), {"type": "message"}, {"type": "teleport"}, msg(1))
    wait_for(lambda: len(recorder.events) == 1, timeout=10, what="the good event after the bad ones")
    rejected = [json.loads(r) for r in redis_conn.lrange(keys.FAKE_REJECTED, 0, -1)]
    assert [r["raw"] for r in rejected] == ["{not json", '["a list"]', '{"type": "message"}', '{"type": "teleport"}']
    assert "invalid JSON" in rejected[0]["error"] and "missing 'id'" in rejected[2]["error"]
    assert "unknown type" in rejected[3]["error"]
    wait_for(lambda: redis_conn.llen(keys.FAKE_PENDING) == 0, timeout=5, what="the good event acknowledged")
    backend.stop()
    backend.wait()


def test_a_type_or_time_no_event_can_have_is_rejected_and_the_stream_goes_on(settings, redis_conn):
    """A type that is not a string, or a timestamp JSON allows but no date can hold, is
    rejected with the reason like any malformed message, not a raw exception that ends the
    inbound loop with the message still pending (to end it again after every restart)."""
    recorder = Recorder()
    backend = FakeBackend(settings, "session")
    backend.start(recorder)

    def with_time(data: dict, literal: str) -> str:
        return json.dumps({**data, "timestamp": "@"}).replace('"@"', literal)

    message = {"type": "message", "id": "M0", "sender": ALICE}
    bad = [
        json.dumps({**message, "type": ["message"]}),
        with_time(message, "1e400"),
        with_time(message, "NaN"),
        with_time({"type": "chat_presence", "sender": ALICE, "state": "paused"}, "1e20"),
    ]
    push(redis_conn, *bad, msg(1))
    wait_for(lambda: len(recorder.events) == 1, timeout=10, what="the good event after the bad ones")
    rejected = [json.loads(r) for r in redis_conn.lrange(keys.FAKE_REJECTED, 0, -1)]
    assert [r["raw"] for r in rejected] == bad
    assert "unknown type" in rejected[0]["error"]
    assert all("'timestamp' must be unix seconds" in r["error"] for r in rejected[1:])
    assert redis_conn.llen(keys.FAKE_PENDING) == 0 and backend.is_connected()
    backend.stop()
    backend.wait()


def test_failing_handler_leaves_the_event_pending_and_ends_the_connection(settings, redis_conn):
    recorder = Recorder(fail_on="M2")
    backend = FakeBackend(settings, "session")
    backend.start(recorder)
    push(redis_conn, msg(1), msg(2), msg(3))
    with pytest.raises(ConnectFailure, match="handler failed"):
        backend.wait()
    assert [e.payload["id"] for e in recorder.events] == ["M1"]
    assert [json.loads(r)["id"] for r in redis_conn.lrange(keys.FAKE_PENDING, 0, -1)] == ["M2"]
    assert not_taken(redis_conn) == ["M3"]

    # A restarted backend hands the pending event over again first, then the rest.
    again = Recorder()
    backend = FakeBackend(settings, "session")
    backend.start(again)
    wait_for(lambda: len(again.events) == 2, timeout=10, what="redelivery")
    assert [e.payload["id"] for e in again.events] == ["M2", "M3"]
    backend.stop()
    backend.wait()


def test_disconnect_control_message_ends_wait_with_the_mapped_error(settings, redis_conn):
    backend = FakeBackend(settings, "session")
    backend.start(Recorder())
    push(redis_conn, {"type": "disconnect", "reason": "stream_replaced"})
    with pytest.raises(StreamReplaced):
        backend.wait()
    assert redis_conn.llen(keys.FAKE_PENDING) == 0


def test_inbound_crash_dies_of_a_real_go_panic_and_is_not_redelivered(settings, redis_conn):
    push(redis_conn, msg(1), {"type": "crash"}, msg(2))
    result = run_child(
        """
        import json, sys
        from wagw.config import Settings
        from wagw.whatsapp.fake import FakeBackend
        def handler(event):
            print("handled", event.payload["id"], flush=True)
        b = FakeBackend(Settings(_env_file=None), "session")
        b.start(handler)
        b.wait()
        """,
        dict(os.environ),
    )
    assert result.returncode == -signal.SIGABRT, result.stderr[-2000:]
    assert "panic:" in result.stderr
    assert result.stdout.split() == ["handled", "M1"]
    assert redis_conn.llen(keys.FAKE_PENDING) == 0  # the crash request itself was acknowledged
    assert not_taken(redis_conn) == ["M2"]


def test_an_accounts_messages_are_not_held_up_by_another_accounts_backlog(settings, redis_conn):
    """Accounts: beta's session is down with thousands of messages waiting; alpha's message,
    pushed behind them, reaches alpha's session at once, and beta's wait for it in order."""
    settings = settings.model_copy(update={"accounts": ["alpha", "beta"]})
    backlog = [
        json.dumps({"type": "message", "account": "beta", "id": f"B{n}", "sender": ALICE, "text": "x"})
        for n in range(3000)
    ]
    redis_conn.rpush(keys.FAKE_INBOUND, *backlog)
    redis_conn.rpush(
        keys.FAKE_INBOUND,
        json.dumps({"type": "message", "account": "alpha", "id": "A1", "sender": ALICE, "text": "hi"}),
    )
    seen: list = []
    alpha = FakeBackend(settings, "alpha/session")
    alpha.start(seen.append)
    try:
        wait_for(lambda: seen, 5, what="alpha's message past beta's backlog")
        assert [event.payload["id"] for event in seen] == ["A1"]
        assert alpha.device_jid() != fake_device_jid("beta/session")
    finally:
        alpha.stop()
        alpha.wait()
    waiting = [json.loads(raw)["id"] for raw in redis_conn.lrange(f"{keys.FAKE_INBOUND}:beta", 0, -1)]
    assert waiting == [f"B{n}" for n in range(3000)]
    assert redis_conn.llen(keys.FAKE_INBOUND) == 0 and redis_conn.llen(keys.FAKE_REJECTED) == 0


def routed_key(account: str) -> str:
    return f"{keys.FAKE_INBOUND}:{account}"


def ids(recorder: Recorder) -> list[str]:
    with recorder.lock:
        return [e.payload["id"] for e in recorder.events]


def test_several_accounts_each_take_their_own_in_order_past_any_backlog(settings_env, redis_conn):
    """A session that is not running (logged out, crash-looping, on another host) can leave
    any number of messages ahead of the others' in the shared list: they are routed aside,
    never in anybody's way, and its session gets them in order when it runs."""
    from wagw.config import Settings

    settings_env.setenv("WAGW_ACCOUNTS", "a,b,c")
    settings = Settings(_env_file=None)
    push(redis_conn, *[msg(i, account="c") for i in range(1500)])
    push(redis_conn, *[msg(2000 + i, account="b") for i in range(10)])
    push(redis_conn, msg(3000), msg(3001, account="No Such!"), msg(3002, account="a"), msg(3003, account="elsewhere"))
    sessions = {name: (FakeBackend(settings, f"{name}/session"), Recorder()) for name in "ab"}
    for backend, recorder in sessions.values():
        backend.start(recorder)
    wait_for(lambda: len(ids(sessions["b"][1])) == 10, timeout=20, what="b's 10 past c's 1500")
    assert ids(sessions["b"][1]) == [f"M{2000 + i}" for i in range(10)]
    # a, the first account, takes the unnamed ones too, and rejects those naming no account.
    wait_for(lambda: len(ids(sessions["a"][1])) == 2, timeout=10, what="a's 2")
    assert ids(sessions["a"][1]) == ["M3000", "M3002"]
    rejected = [json.loads(r) for r in redis_conn.lrange(keys.FAKE_REJECTED, 0, -1)]
    assert [json.loads(r["raw"])["id"] for r in rejected] == ["M3001"]
    # An account this daemon does not run (another daemon on the Redis may): it waits for it.
    assert [json.loads(r)["id"] for r in redis_conn.lrange(routed_key("elsewhere"), 0, -1)] == ["M3003"]

    # c's messages waited aside, in order; newer ones come after them.
    assert redis_conn.llen(routed_key("c")) == 1500
    push(redis_conn, msg(4000, account="c"))
    c_backend, c_recorder = FakeBackend(settings, "c/session"), Recorder()
    c_backend.start(c_recorder)
    wait_for(lambda: len(ids(c_recorder)) == 1501, timeout=30, what="c's backlog")
    assert ids(c_recorder) == [f"M{i}" for i in range(1500)] + ["M4000"]
    for backend, _ in [*sessions.values(), (c_backend, c_recorder)]:
        backend.stop()
        backend.wait()
    assert redis_conn.llen(keys.FAKE_INBOUND) == 0 and redis_conn.llen(routed_key("c")) == 0


def test_one_account_session_takes_what_was_routed_to_it_first(settings, redis_conn):
    """Back to one account after several: what another session routed aside comes first."""
    redis_conn.rpush(routed_key("default"), json.dumps(msg(1)), json.dumps(msg(2)))
    push(redis_conn, msg(3))
    recorder = Recorder()
    backend = FakeBackend(settings, "session")
    backend.start(recorder)
    wait_for(lambda: len(ids(recorder)) == 3, timeout=10, what="3 events")
    assert ids(recorder) == ["M1", "M2", "M3"]
    backend.stop()
    backend.wait()


# LIDs ----------------------------------------------------------------------------------------------
ALICE_LID = "251556368777322@lid"
BOB = "15557654321@s.whatsapp.net"
BOB_LID = "187723411239009@lid"
STRANGER_LID = "99887766554433@lid"
GROUP = "120363402106000000@g.us"


def stored_payloads(redis_conn) -> list[dict]:
    """What the session stored (and delivers), oldest first."""
    return [json.loads(fields[b"event"])["payload"] for _, fields in redis_conn.xrange(keys.EVENTS_STREAM)]


def session_sink(settings, redis_conn, backend):
    """The session's handler as `wagw session` builds it: the backend's LID store included."""
    from wagw import accounts
    from wagw.session.sink import EventSink

    return EventSink(
        settings, redis_conn, backend.device_jid, account=accounts.find(settings, None), phone_of=backend.pn_for_lid
    )


def test_the_fake_learns_pairs_as_whatsmeow_does_and_the_session_sends_phone_numbers(settings, redis_conn):
    """A `lid_pair` control message, and a message's alternate address (whatsmeow stores it
    before dispatching the message), teach the account's store; later events naming those
    LIDs carry the phone number with the LID beside it; an unknown LID stays, listed."""
    backend = FakeBackend(settings, "session")
    backend.start(session_sink(settings, redis_conn, backend))
    push(
        redis_conn,
        {"type": "lid_pair", "lid": BOB_LID, "pn": BOB},
        {"type": "message", "id": "M1", "sender": ALICE_LID, "sender_alt": ALICE, "text": "hi", "timestamp": 1},
        {"type": "receipt", "ids": ["M0"], "sender": ALICE_LID, "receipt_type": "read", "timestamp": 2},
        {
            "type": "group_participants",
            "chat": GROUP,
            "change": "join",
            "jids": [ALICE_LID, STRANGER_LID],
            "by": BOB_LID,
            "timestamp": 3,
        },
    )
    wait_for(lambda: len(stored_payloads(redis_conn)) == 3, timeout=10, what="3 events stored")
    message, receipt, joined = stored_payloads(redis_conn)
    assert (message["from"], message["from_lid"], message["chat_id"]) == (ALICE, ALICE_LID, ALICE)
    assert (receipt["chat_id"], receipt["chat_lid"], receipt["from"], receipt["from_lid"]) == (
        ALICE,
        ALICE_LID,
        ALICE,
        ALICE_LID,
    )
    assert joined["jids"] == [ALICE, STRANGER_LID] and joined["jids_lid"] == [ALICE_LID, STRANGER_LID]
    assert (joined["by"], joined["by_lid"], joined["unresolved_lids"]) == (BOB, BOB_LID, [STRANGER_LID])
    backend.stop()
    backend.wait()
    # The store outlives the session, as whatsmeow's sqlite store does.
    assert FakeBackend(settings, "session").pn_for_lid(BOB_LID) == BOB


def test_a_new_pair_replaces_the_old_as_in_whatsmeows_store(settings, redis_conn):
    """One number per LID and one LID per number (whatsmeow's PutLIDMapping)."""
    backend = FakeBackend(settings, "session")
    backend.start(Recorder())
    other = "15559876543@s.whatsapp.net"
    push(
        redis_conn,
        {"type": "lid_pair", "lid": BOB_LID, "pn": BOB},
        {"type": "lid_pair", "lid": BOB_LID, "pn": other},  # the LID's number changed
        {"type": "lid_pair", "lid": ALICE_LID, "pn": ALICE},
        {"type": "lid_pair", "lid": STRANGER_LID, "pn": ALICE},  # the number moved to a new LID
    )
    wait_for(lambda: redis_conn.llen(keys.FAKE_PENDING) == 0 and redis_conn.llen(keys.FAKE_INBOUND) == 0, timeout=5)
    wait_for(lambda: backend.pn_for_lid(STRANGER_LID) == ALICE, timeout=5, what="the last pair")
    assert backend.pn_for_lid(BOB_LID) == other
    assert backend.pn_for_lid(ALICE_LID) is None
    assert backend.pn_for_lid(ALICE) is None  # not a LID
    backend.stop()
    backend.wait()


def test_a_malformed_lid_pair_is_rejected_and_teaches_nothing(settings, redis_conn):
    backend = FakeBackend(settings, "session")
    recorder = Recorder()
    backend.start(recorder)
    push(
        redis_conn,
        {"type": "lid_pair", "lid": ALICE, "pn": ALICE_LID},  # the wrong way round
        {"type": "lid_pair", "lid": ALICE_LID},
        {"type": "lid_pair", "lid": "x@lid", "pn": ALICE},
        msg(1),
    )
    wait_for(lambda: len(recorder.events) == 1, timeout=10, what="the event after the bad pairs")
    rejected = [json.loads(r)["error"] for r in redis_conn.lrange(keys.FAKE_REJECTED, 0, -1)]
    assert len(rejected) == 3 and all("'lid' must be a LID" in error for error in rejected)
    assert backend.pn_for_lid(ALICE_LID) is None
    backend.stop()
    backend.wait()
