"""Quarantine bookkeeping (pure logic on fakeredis; the worker-level behaviour is in
tests/integration/test_wa_quarantine.py)."""

from __future__ import annotations

import json
import time

import fakeredis
import pytest

from chaos.polling import wait_for
from wagw import keys, quarantine
from wagw.config import Settings

PANIC = "panic: unsupported payload type: *store.PrivacyToken\n\ngoroutine 17 [running]:\nmain.GetProfilePictureInfo()"


@pytest.fixture
def conn():
    return fakeredis.FakeRedis()


def make_settings(**overrides) -> Settings:
    values = {"quarantine_crashes": 3, "quarantine_window": 60.0, "quarantine_duration": 600.0, **overrides}
    return Settings(_env_file=None, **values)


def crash(conn, settings, operation="fetch_avatar", panic=PANIC, now=None):
    return quarantine.record_crash(
        conn, settings, operation, process="wa-worker-1/host", exit="signal SIGABRT", panic=panic, now=now
    )


def test_the_kth_crash_within_the_window_engages_a_quarantine(conn):
    settings = make_settings()
    assert crash(conn, settings) is None
    assert crash(conn, settings) is None
    quarantine.check(conn, "fetch_avatar")  # not yet
    record = crash(conn, settings)
    assert record["operation"] == "fetch_avatar" and record["crashes"] == 3
    assert record["last_panic"] == PANIC and record["last_exit"] == "signal SIGABRT"
    assert record["until"] - record["since"] == pytest.approx(600.0)

    with pytest.raises(quarantine.Quarantined) as caught:
        quarantine.check(conn, "fetch_avatar")
    message = str(caught.value)
    assert message.startswith("fetch_avatar quarantined after repeated native crashes (3 within 60 s)")
    assert "panic: unsupported payload type: *store.PrivacyToken" in message
    assert caught.value.permanent is True
    quarantine.check(conn, "send_text")  # other operations carry on


def test_crashes_outside_the_window_do_not_count(conn):
    settings = make_settings(quarantine_crashes=2, quarantine_window=60)
    start = time.time()
    assert crash(conn, settings, now=start - 61) is None
    assert crash(conn, settings, now=start) is None  # the first one is out of the window
    assert crash(conn, settings, now=start + 1) is not None


def test_a_quarantine_lifts_after_its_duration_and_the_count_restarts(conn):
    settings = make_settings(quarantine_crashes=2, quarantine_duration=0.3)
    crash(conn, settings)
    assert crash(conn, settings) is not None
    wait_for(lambda: quarantine.get(conn, "fetch_avatar") is None, 3, what="the quarantine to lift")
    quarantine.check(conn, "fetch_avatar")
    assert crash(conn, settings) is None  # counting starts from zero again


def test_active_quarantines_for_status(conn):
    settings = make_settings(quarantine_crashes=1)
    crash(conn, settings, "group_info", panic="panic: boom")
    crash(conn, settings, "fetch_avatar")
    active = quarantine.active_quarantines(conn)
    assert [q["operation"] for q in active] == ["group_info", "fetch_avatar"]
    assert active[0]["panic"] == active[0]["last_panic"] == "panic: boom"
    assert 0 < active[0]["remaining"] <= 600
    assert quarantine.lift(conn, "group_info") is True
    assert [q["operation"] for q in quarantine.active_quarantines(conn)] == ["fetch_avatar"]


def test_every_crash_is_logged_on_the_capped_crash_list(conn):
    settings = make_settings(quarantine_crashes=1000)
    for _ in range(105):
        crash(conn, settings)
    entries = [json.loads(raw) for raw in conn.lrange(keys.CRASHES, 0, -1)]
    assert len(entries) == 100
    assert set(entries[0]) == {"time", "process", "operation", "exit", "panic"}
    assert entries[0]["process"] == "wa-worker-1/host" and entries[0]["operation"] == "fetch_avatar"
    assert entries[0]["exit"] == "signal SIGABRT" and entries[0]["panic"] == PANIC


def test_long_panics_are_truncated(conn):
    record = crash(conn, make_settings(quarantine_crashes=1), panic="panic: x\n" + "y" * 10_000)
    assert len(record["last_panic"]) == quarantine.MAX_PANIC_CHARS
