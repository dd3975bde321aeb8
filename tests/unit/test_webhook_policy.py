"""Retry classes, Retry-After parsing and the jittered backoff (pure logic)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from wagw.config import Settings
from workers.webhooks.policy import (
    JITTER,
    RETRY_AFTER_CAP,
    Outcome,
    Verdict,
    classify,
    due_timestamp,
    parse_retry_after,
    retry_delay,
    snippet,
)

DAY_SCHEDULE = [float(step) for step in Settings.model_fields["webhook_retry_schedule"].default]


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status):
    assert classify(status) is Verdict.DELIVERED


@pytest.mark.parametrize("status", [None, 408, 429, 500, 502, 503, 504, 599])
def test_network_errors_timeouts_408_429_and_5xx_are_retried(status):
    assert classify(status) is Verdict.RETRY


@pytest.mark.parametrize("status", [301, 302, 400, 401, 403, 404, 405, 409, 410, 413, 422])
def test_other_answers_fail_at_once(status):
    assert classify(status) is Verdict.FAILED


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 120 ") == 120.0
    now = datetime(2026, 11, 29, 10, 30, 0, tzinfo=UTC).timestamp()
    date = format_datetime(datetime(2026, 11, 29, 10, 30, 45, tzinfo=UTC), usegmt=True)
    assert date.endswith("GMT")
    assert parse_retry_after(date, now=now) == pytest.approx(45.0)
    past = format_datetime(datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0
    for junk in (None, "", "soon", "-5", "1.5"):
        assert parse_retry_after(junk) is None


def test_backoff_follows_the_schedule_with_jitter_and_spans_about_a_day():
    rng = random.Random(7)
    for attempt, step in enumerate(DAY_SCHEDULE, start=1):
        for _ in range(50):
            delay = retry_delay(DAY_SCHEDULE, attempt, rng=rng)
            assert step * (1 - JITTER) <= delay <= step * (1 + JITTER)
    assert 20 * 3600 <= sum(DAY_SCHEDULE) <= 36 * 3600  # the default schedule: about a day
    # Attempts past the schedule keep its last step.
    assert retry_delay([1, 2, 3], 10, rng=rng) <= 3 * (1 + JITTER)


def test_jitter_spreads_deliveries_that_failed_together():
    delays = {round(retry_delay(DAY_SCHEDULE, 3, rng=random.Random(seed)), 3) for seed in range(100)}
    assert len(delays) > 90
    assert max(delays) - min(delays) > 20  # seconds, around a 60 s step


def test_retry_after_is_a_floor_with_a_cap():
    assert retry_delay([1, 1, 1], 1, retry_after=2.0) >= 2.0
    assert retry_delay([1, 1, 1], 1, retry_after=0.0) <= 1 * (1 + JITTER)  # never sooner than the schedule
    assert retry_delay([1, 1, 1], 1, retry_after=10 * 86400) == RETRY_AFTER_CAP
    assert retry_delay(DAY_SCHEDULE, 1, retry_after=10 * 86400) == 28800


def test_due_time_rounds_up_to_the_next_whole_second():
    assert due_timestamp(2.0, now=100.3) == 103  # RQ releases at >= 103.0: at least 2 s later
    assert due_timestamp(2.0, now=100.0) == 102
    assert due_timestamp(0.1, now=100.95) == 102


def test_outcome_descriptions_and_snippets():
    assert Outcome(503, 0.0123).describe() == "HTTP 503 in 12 ms"
    assert Outcome(None, 5.0, error="timeout (ConnectTimeout)").describe() == "timeout (ConnectTimeout) in 5000 ms"
    assert Outcome(None, 0.1, error="x").verdict is Verdict.RETRY
    assert snippet("a\n  b\tc") == "a b c"
    long = snippet("x" * 1000)
    assert len(long) == 200 and long.endswith("…")


def test_snippets_escape_what_could_forge_a_line_or_drive_a_terminal():
    assert snippet("ok\x1b[2J\x00\u009b\r\nFAKE") == "ok\\x1b[2J\\x00\\x9b FAKE"
    assert len(snippet("\x07" * 1000)) == 200
