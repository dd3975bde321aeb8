"""Poison targets and quarantine bookkeeping (pure logic on fakeredis; the worker-level
behaviour is in tests/integration/test_wa_quarantine.py)."""

from __future__ import annotations

import json
import time

import fakeredis
import pytest
from loguru import logger

from chaos.polling import wait_for
from wagw import crashes, keys, quarantine
from wagw.addresses import masked
from wagw.config import Settings
from wagw.operations import OPERATIONS, validate
from wagw.quarantine import Target

PANIC = "panic: unsupported payload type: *store.PrivacyToken\n\ngoroutine 17 [running]:\nmain.GetProfilePictureInfo()"
ALICE = "15551234567@s.whatsapp.net"
BOB = "15557654321@s.whatsapp.net"
CAROL = "15550001234@s.whatsapp.net"


@pytest.fixture
def conn():
    return fakeredis.FakeRedis()


def make_settings(**overrides) -> Settings:
    values = {
        "quarantine_crashes": 3,
        "quarantine_targets": 3,
        "quarantine_window": 60.0,
        "quarantine_duration": 600.0,
        "poison_crashes": 2,
        "poison_duration": 1800.0,
        **overrides,
    }
    return Settings(_env_file=None, **values)


def crash(conn, settings, operation="fetch_avatar", panic=PANIC, now=None, target=None):
    return quarantine.record_crash(
        conn,
        settings,
        operation,
        target=Target.of(target),
        process="wa-worker-1/host",
        exit="signal SIGABRT",
        panic=panic,
        now=now,
    )


# Operations without a target: every crash counts against the operation ------------------
def test_the_kth_crash_within_the_window_engages_a_quarantine(conn):
    settings = make_settings()
    assert crash(conn, settings).quarantine is None
    assert crash(conn, settings).quarantine is None
    quarantine.check(conn, "fetch_avatar")  # not yet
    record = crash(conn, settings).quarantine
    assert record["operation"] == "fetch_avatar" and record["crashes"] == 3 and record["targets"] == 3
    assert record["last_panic"] == PANIC and record["last_exit"] == "signal SIGABRT"
    assert record["until"] - record["since"] == pytest.approx(600.0)

    with pytest.raises(quarantine.Quarantined) as caught:
        quarantine.check(conn, "fetch_avatar")
    message = str(caught.value)
    assert message.startswith("fetch_avatar quarantined after repeated native crashes (3 on 3 targets within 60 s)")
    assert "panic: unsupported payload type: *store.PrivacyToken" in message
    assert caught.value.permanent is True
    quarantine.check(conn, "send_text")  # other operations carry on


def test_crashes_outside_the_window_do_not_count(conn):
    settings = make_settings(quarantine_crashes=2, quarantine_targets=1, quarantine_window=60)
    start = time.time()
    assert crash(conn, settings, now=start - 61).quarantine is None
    assert crash(conn, settings, now=start).quarantine is None  # the first one is out of the window
    assert crash(conn, settings, now=start + 1).quarantine is not None


def test_a_quarantine_lifts_after_its_duration_and_the_count_restarts(conn):
    settings = make_settings(quarantine_crashes=2, quarantine_targets=1, quarantine_duration=0.3)
    crash(conn, settings)
    assert crash(conn, settings).quarantine is not None
    wait_for(lambda: quarantine.get(conn, "fetch_avatar") is None, 3, what="the quarantine to lift")
    quarantine.check(conn, "fetch_avatar")
    assert crash(conn, settings).quarantine is None  # counting starts from zero again


# Poison targets ---------------------------------------------------------------------------
def test_crashes_on_one_target_poison_that_target_only(conn):
    settings = make_settings(quarantine_crashes=2, quarantine_targets=2)
    first = crash(conn, settings, target=ALICE)
    assert first.poison is None and first.quarantine is None
    quarantine.check(conn, "fetch_avatar", Target.of(ALICE))  # one crash: not yet
    second = crash(conn, settings, target=ALICE)
    assert second.quarantine is None  # 2 crashes, but from one target
    record = second.poison
    assert record["operation"] == "fetch_avatar" and record["crashes"] == 2
    assert record["target"] == "…4567@s.whatsapp.net" and record["target_id"] == Target.of(ALICE).id
    assert record["until"] - record["since"] == pytest.approx(1800.0)
    assert record["last_panic"] == PANIC

    with pytest.raises(quarantine.PoisonedTarget) as caught:
        quarantine.check(conn, "fetch_avatar", Target.of(ALICE))
    message = str(caught.value)
    assert message.startswith(
        f"poisoned target: fetch_avatar on …4567@s.whatsapp.net (target {Target.of(ALICE).id}) "
        "crashed native hosts 2 times within 60 s"
    )
    assert "other targets carry on" in message and "last panic:\npanic: unsupported payload type" in message
    assert "15551234567" not in message  # masked, never the number
    assert caught.value.permanent is True
    quarantine.check(conn, "fetch_avatar", Target.of(BOB))  # everybody else carries on
    quarantine.check(conn, "fetch_avatar")
    quarantine.check(conn, "send_text", Target.of(ALICE))  # poisoned for fetch_avatar only


def test_one_target_crashing_again_and_again_never_quarantines_the_operation(conn):
    settings = make_settings(quarantine_crashes=3, quarantine_targets=2, poison_crashes=2)
    start = time.time()
    for n in range(10):  # as if the poison lifted between every pair
        engaged = crash(conn, settings, target=ALICE, now=start + n * 0.01)
        assert engaged.quarantine is None
        if n % 2:
            assert engaged.poison is not None
            quarantine.lift_poison(conn, "fetch_avatar", Target.of(ALICE).id)
    assert quarantine.active_quarantines(conn) == []


def test_crashes_on_several_targets_quarantine_the_operation(conn):
    settings = make_settings(quarantine_crashes=4, quarantine_targets=3, poison_crashes=2)
    assert crash(conn, settings, target=ALICE).quarantine is None
    assert crash(conn, settings, target=ALICE).poison is not None
    assert crash(conn, settings, target=BOB).quarantine is None
    assert crash(conn, settings, target=BOB).quarantine is None  # 4 crashes, 2 targets
    engaged = crash(conn, settings, target=CAROL)  # 5 crashes, 3 targets
    assert engaged.quarantine is not None and engaged.quarantine["targets"] == 3
    assert engaged.quarantine["crashes"] == 5
    with pytest.raises(quarantine.Quarantined):
        quarantine.check(conn, "fetch_avatar", Target.of("15559990000@s.whatsapp.net"))


def test_poison_crashes_outside_the_window_do_not_count(conn):
    settings = make_settings(quarantine_window=60)
    start = time.time()
    assert crash(conn, settings, target=ALICE, now=start - 61).poison is None
    assert crash(conn, settings, target=ALICE, now=start).poison is None
    assert crash(conn, settings, target=ALICE, now=start + 1).poison is not None


def test_a_poison_lifts_after_its_duration_and_the_count_restarts(conn):
    settings = make_settings(poison_duration=0.3)
    crash(conn, settings, target=ALICE)
    assert crash(conn, settings, target=ALICE).poison is not None
    assert conn.pttl(keys.POISON.format(operation="fetch_avatar")) <= 300
    wait_for(lambda: not quarantine.poisons(conn, "fetch_avatar"), 3, what="the poison to lift")
    quarantine.check(conn, "fetch_avatar", Target.of(ALICE))
    assert crash(conn, settings, target=ALICE).poison is None  # counting starts from zero again


def test_lifted_poison_records_are_pruned_when_another_is_written(conn):
    settings = make_settings()
    start = time.time()
    crash(conn, settings, target=ALICE, now=start - 2000)
    crash(conn, settings, target=ALICE, now=start - 1999)  # poisoned until start - 199
    crash(conn, settings, target=BOB)
    crash(conn, settings, target=BOB)
    assert set(conn.hkeys(keys.POISON.format(operation="fetch_avatar"))) == {Target.of(BOB).id.encode()}


def test_a_batch_is_one_target_shown_masked_and_capped():
    jids = [f"1555000{n:04d}@s.whatsapp.net" for n in range(5)]
    target = Target.of(",".join(sorted(jids)))
    assert target.shown == "…0000@s.whatsapp.net,…0001@s.whatsapp.net,…0002@s.whatsapp.net,… (5 in all)"
    assert len(target.id) == quarantine.TARGET_ID_CHARS
    assert Target.of(None) is None and Target.of("") is None
    assert masked("+15551234567") == "+…4567" and masked("crash@s.whatsapp.net") == "crash@s.whatsapp.net"
    assert masked("120363000000000077@g.us") == "…0077@g.us"


@pytest.mark.parametrize(
    ("operation", "arguments", "target"),
    [
        ("fetch_avatar", {"jid": "+1 555 123 4567"}, ALICE),
        ("send_text", {"to": "15551234567", "text": "hi"}, ALICE),
        ("user_info", {"jids": [BOB, ALICE, ALICE]}, f"{ALICE},{BOB}"),  # sorted, deduplicated
        ("user_info", {"jids": [ALICE]}, ALICE),
        ("is_on_whatsapp", {"phones": ["+15551234567"]}, "+15551234567"),
        ("group_info", {"jid": "120363000000000077@g.us"}, "120363000000000077@g.us"),
        ("mark_read", {"chat": ALICE, "ids": ["3EB0AA"]}, ALICE),
        ("joined_groups", {}, None),
        ("my_privacy", {}, None),
        ("contacts", {}, None),
        ("send_presence", {"presence": "available"}, None),
        ("reject_call", {"call_id": "ABC123", "caller": "+15551234567"}, ALICE),
        ("set_disappearing", {"chat": "15551234567", "seconds": 0}, ALICE),
        ("send_chat_presence", {"chat": "15551234567", "state": "paused"}, ALICE),
        ("react", {"chat": "15551234567", "message_id": "3EB0AA", "emoji": "👍"}, ALICE),
        ("edit_message", {"chat": "15551234567", "message_id": "3EB0AA", "text": "hi"}, ALICE),
        ("revoke", {"chat": "120363000000000077@g.us", "message_id": "3EB0AA"}, "120363000000000077@g.us"),
    ],
)
def test_the_operation_table_names_each_jobs_target(operation, arguments, target):
    op = OPERATIONS[operation]
    assert op.target_of(validate(operation, (), arguments)) == target


def test_every_target_argument_exists():
    for op in OPERATIONS.values():
        assert op.target is None or op.target in op.parameters, op.name


def test_distinct_targets_count_each_untargeted_crash_apart():
    assert quarantine.distinct_targets(["1.0:aa:t1", "2.0:bb:t1", "3.0:cc:-", "4.0:dd:-", "5.0:ee"]) == 4


# Status, metrics, the checker and the log ----------------------------------------------------
def test_active_quarantines_for_status(conn):
    settings = make_settings(quarantine_crashes=1, quarantine_targets=1)
    crash(conn, settings, "group_info", panic="panic: boom")
    crash(conn, settings, "fetch_avatar")
    active = quarantine.active_quarantines(conn)
    assert [q["operation"] for q in active] == ["group_info", "fetch_avatar"]
    assert active[0]["panic"] == active[0]["last_panic"] == "panic: boom"
    assert 0 < active[0]["remaining"] <= 600
    assert quarantine.lift(conn, "group_info") is True
    assert [q["operation"] for q in quarantine.active_quarantines(conn)] == ["fetch_avatar"]


def test_active_poisons_for_status_and_counts_for_metrics(conn):
    settings = make_settings(poison_crashes=1)
    crash(conn, settings, "send_text", target=ALICE, panic="panic: boom")
    crash(conn, settings, "fetch_avatar", target=ALICE)
    crash(conn, settings, "fetch_avatar", target=BOB)
    active = quarantine.active_poisons(conn)
    assert [(p["operation"], p["target"]) for p in active] == [
        ("send_text", "…4567@s.whatsapp.net"),
        ("fetch_avatar", "…4567@s.whatsapp.net"),
        ("fetch_avatar", "…4321@s.whatsapp.net"),
    ]
    assert active[0]["panic"] == "panic: boom" and 0 < active[0]["remaining"] <= 1800
    assert quarantine.poisoned_counts(conn, ["fetch_avatar", "send_text", "user_info"]) == {
        "fetch_avatar": 2,
        "send_text": 1,
        "user_info": 0,
    }
    assert quarantine.lift_poison(conn, "fetch_avatar", Target.of(BOB).id) is True
    assert quarantine.lift_poison(conn, "fetch_avatar", Target.of(BOB).id) is False
    assert quarantine.poisoned_counts(conn, ["fetch_avatar"]) == {"fetch_avatar": 1}


def test_redis_and_the_log_never_hold_the_raw_number(conn):
    settings = make_settings(poison_crashes=2, quarantine_crashes=2, quarantine_targets=2)
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="DEBUG")
    try:
        for target in (ALICE, ALICE, BOB):
            crash(conn, settings, target=target)
    finally:
        logger.remove(sink)
    assert any("poisoned" in line and "…4567@s.whatsapp.net" in line for line in lines)
    assert any("quarantined" in line for line in lines)
    assert not any("1555" in line for line in lines)
    stored = [json.dumps(json.loads(raw)) for raw in conn.lrange(keys.CRASHES, 0, -1)]
    stored += [raw.decode() for raw in conn.hvals(keys.POISON.format(operation="fetch_avatar"))]
    stored += [key.decode() for key in conn.keys("*")]
    assert stored and not any("1555" in text for text in stored)


def test_the_checker_sees_poison_targets_at_once_and_quarantines_within_max_age(conn):
    settings = make_settings(poison_crashes=1, quarantine_crashes=1, quarantine_targets=1)
    now = [0.0]
    checker = quarantine.Checker(conn, max_age=0.2, clock=lambda: now[0])
    checker.check("fetch_avatar", Target.of(ALICE))  # remembered: not quarantined
    crash(conn, settings, target=ALICE)  # engaged by another worker: poison and quarantine
    with pytest.raises(quarantine.PoisonedTarget):  # a target is read per job: no delay
        checker.check("fetch_avatar", Target.of(ALICE))
    checker.check("fetch_avatar", Target.of(BOB))  # the quarantine is seen after max_age
    now[0] += 0.25
    with pytest.raises(quarantine.Quarantined):
        checker.check("fetch_avatar", Target.of(BOB))

    own = quarantine.Checker(conn, max_age=60)
    own.check("send_text")
    engaged = crash(conn, settings, "send_text")
    own.note(engaged)  # engaged here: seen at once
    with pytest.raises(quarantine.Quarantined):
        own.check("send_text")


def test_every_crash_is_logged_on_the_capped_crash_list(conn):
    settings = make_settings(quarantine_crashes=1000, poison_crashes=1000)
    for n in range(105):
        crash(conn, settings, target=ALICE if n == 104 else None)
    entries = [json.loads(raw) for raw in conn.lrange(keys.CRASHES, 0, -1)]
    assert len(entries) == 100
    assert set(entries[0]) == set(crashes.FIELDS)  # the one shape of every crash record
    assert len(crashes.load(conn)) == 105  # the kept records are not capped at 100
    assert entries[0]["process"] == "wa-worker-1/host" and entries[0]["operation"] == "fetch_avatar"
    assert entries[0]["exit"] == "signal SIGABRT" and entries[0]["panic"] == PANIC
    assert entries[0]["target"] == "…4567@s.whatsapp.net" and entries[0]["target_id"] == Target.of(ALICE).id
    assert entries[1]["target"] is None and entries[1]["target_id"] is None


def test_long_panics_are_truncated(conn):
    record = crash(conn, make_settings(quarantine_crashes=1, quarantine_targets=1), panic="panic: x\n" + "y" * 10_000)
    assert len(record.quarantine["last_panic"]) == quarantine.MAX_PANIC_CHARS
