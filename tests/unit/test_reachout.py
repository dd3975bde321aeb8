"""WhatsApp's reach-out limit, the pure parts: reading whatsmeow's answer, the hold's bookkeeping
(on the embedded Redis: its Lua script runs there), which messages meet the limit, and what the
fake backend answers. The worker-level behaviour is in tests/integration/test_reach_out.py."""

from __future__ import annotations

import math
import time

import fakeredis
import pytest
from prometheus_client import generate_latest

from wagw import exporter, keys, reachout
from wagw.addresses import person_chat
from wagw.errors import BackendError, Permanent, ReachOutLimited
from wagw.whatsapp import go_errors
from wagw.whatsapp.fake import FakeBackend

NOW = float(int(time.time()))  # set again before each test: see fresh_now
COLD = "15550000463@s.whatsapp.net"


@pytest.fixture(autouse=True)
def fresh_now():
    """Holds expire in Redis at their end, by Redis's clock: each test's NOW is the clock when
    it starts (under pytest-xdist a test may start minutes after this module was imported)."""
    global NOW
    NOW = float(int(time.time()))


@pytest.fixture
def conn(redis_conn):
    redis_conn.delete(*[keys.REACHOUT_HOLD.format(account=a) for a in ("default", "sales", "odd")])
    return redis_conn


def test_whatsmeows_463_is_read_as_the_reach_out_limit():
    assert go_errors.reach_out_limited("send_text failed: server returned error 463")
    for other in ("server returned error 4630", "server returned error 479", "server returned error updating x"):
        assert not go_errors.reach_out_limited(other)


def test_reach_out_limited_is_a_permanent_backend_error_carrying_its_end():
    error = ReachOutLimited("send_text failed: server returned error 463", until=NOW)
    assert isinstance(error, Permanent) and isinstance(error, BackendError) and error.until == NOW
    assert ReachOutLimited("no end").until is None  # as the host's reply rebuilds it


def test_a_hold_ends_when_whatsapp_says_else_after_the_default():
    assert reachout.hold_end(NOW + 600, 86_400, NOW) == NOW + 600
    assert reachout.hold_end(None, 86_400, NOW) == NOW + 86_400
    assert reachout.hold_end(NOW - 1, 86_400, NOW) == NOW + 86_400  # an end already past is none
    assert reachout.hold_end(math.inf, 3600, NOW) == NOW + 3600
    assert reachout.hold_end(1e300, 3600, NOW) == NOW + 3600  # no time a datetime can show


def test_a_hold_keeps_the_later_end_and_expires_with_it(conn):
    assert reachout.hold(conn, "default", NOW + 7200, "first", now=NOW) == NOW + 7200
    assert reachout.hold(conn, "default", NOW + 60, "earlier", now=NOW) == NOW + 7200
    assert reachout.held_until(conn, "default", now=NOW) == NOW + 7200
    assert reachout.hold(conn, "default", NOW + 9000, "later", now=NOW) == NOW + 9000
    left = conn.pttl(keys.REACHOUT_HOLD.format(account="default")) / 1000
    assert NOW + 9000 - time.time() - 5 < left <= NOW + 9000 - time.time() + 1  # expires at the end
    [held] = reachout.holds(conn, ["default", "sales"], now=NOW).values()
    assert held == reachout.Hold("default", NOW + 9000, "later", NOW)
    assert reachout.held_until(conn, "default", now=NOW + 9000) is None  # ended, whatever Redis still has
    assert reachout.held_until(conn, "sales", now=NOW) is None


def test_a_hold_is_per_account_and_released_by_name(conn):
    reachout.hold(conn, "default", NOW + 60, "x", now=NOW)
    reachout.hold(conn, "sales", NOW + 120, "y", now=NOW)
    assert set(reachout.all_holds(conn, now=NOW)) == {"default", "sales"}
    assert reachout.release(conn, "sales") and not reachout.release(conn, "sales")
    assert reachout.held_until(conn, "sales", now=NOW) is None
    assert reachout.held_until(conn, "default", now=NOW) == NOW + 60


def test_a_hold_wagw_did_not_write_holds_nothing(conn):
    key = keys.REACHOUT_HOLD.format(account="odd")
    for until in ("soon", "nan", "inf", "\xff"):
        conn.delete(key)
        conn.hset(key, mapping={"until": until.encode("latin-1"), "reason": "planted"})
        assert reachout.held_until(conn, "odd", now=NOW) is None
        assert "odd" not in reachout.all_holds(conn, now=NOW)


def test_a_forged_end_past_any_time_neither_holds_nor_keeps_wagws_hold_out(conn):
    key = keys.REACHOUT_HOLD.format(account="odd")
    for until in ("1e300", "-1e300", "inf", "nan", "soon", str(NOW + 3e11)):
        conn.delete(key)
        conn.hset(key, mapping={"until": until, "reason": "planted"})
        assert reachout.held_until(conn, "odd", now=NOW) is None, until
        assert reachout.hold(conn, "odd", NOW + 60, "real", now=NOW) == NOW + 60, until
        assert reachout.held_until(conn, "odd", now=NOW) == NOW + 60
        assert reachout.shown_time(reachout.hold(conn, "odd", NOW + 30, "earlier", now=NOW)).endswith("Z")


def test_only_a_message_into_a_chat_meets_the_limit():
    assert {op: reachout.chat_argument(op) for op in ("send_text", "send_image", "react", "edit_message")} == {
        "send_text": "to",
        "send_image": "to",
        "react": "chat",
        "edit_message": "chat",
    }
    for op in ("create_group", "set_group_name", "fetch_avatar", "send_presence", "nope"):
        assert reachout.chat_argument(op) is None
    assert person_chat(COLD) and person_chat("251556368777322@lid")
    assert not person_chat("120363000000000463@g.us") and not person_chat("123463@newsletter")


def test_the_fake_answers_a_person_ending_in_463_as_whatsmeow_does(settings, redis_conn):
    fake = FakeBackend(settings, "worker-1")
    with pytest.raises(ReachOutLimited) as refused:
        fake.send_text(COLD, "hi")
    assert str(refused.value) == "send_text failed: server returned error 463" and refused.value.until is None
    with pytest.raises(ReachOutLimited):
        fake.react(COLD, "3EB0AA", "👍")
    assert fake.send_text("120363000000000463@g.us", "hi")["to"] == "120363000000000463@g.us"  # groups: no limit
    fake.subscribe_presence(COLD)  # the warm-up itself goes
    assert fake.send_text("15550004631@s.whatsapp.net", "hi")  # only the last three digits count


def test_the_exporter_shows_each_held_accounts_end_and_nothing_else():
    conn = fakeredis.FakeRedis()
    conn.hset(keys.REACHOUT_HOLD.format(account="sales"), mapping={"until": repr(NOW + 600), "reason": "r"})
    conn.hset(keys.REACHOUT_HOLD.format(account="odd"), mapping={"until": "soon"})  # not wagw's: skipped
    text = generate_latest(exporter.registry_for(conn)).decode()
    held = [line.split(" ") for line in text.splitlines() if line.startswith("wagw_reach_out_held_until_seconds{")]
    assert [(labels, float(value)) for labels, value in held] == [
        ('wagw_reach_out_held_until_seconds{account="sales"}', NOW + 600)
    ]
