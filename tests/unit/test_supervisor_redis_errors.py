"""The supervisor's once-a-second Redis steps (status, crash records, pairings it picks up,
the pairing offer) shrug off Redis being away: a debug line, the next second tries again. Any
other error there is a bug, and could silently keep a paired device from being started
again: it is logged as an error with its traceback, and the supervisor carries on."""

from __future__ import annotations

import fakeredis
import pytest
import redis
from loguru import logger
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.unit.test_first_contact import FakePairing, exit_child, make_supervisor
from wagw.exitcodes import ExitCode
from wagw.supervisor.state import State


class Buggy:
    """A status connection whose every call fails the way a bug does, not the way Redis does."""

    def __getattr__(self, name: str):
        def call(*_args, **_kwargs):
            if name == "pipeline":
                return Buggy()
            raise TypeError(f"a bug in {name}")

        return call


@pytest.fixture
def conn():
    return fakeredis.FakeRedis()


@pytest.fixture
def away(tmp_path):
    """A real client of a Redis that is not there (no server behind the socket), failing at once."""
    client = redis.Redis(unix_socket_path=str(tmp_path / "gone.sock"), retry=Retry(NoBackoff(), 0))
    yield client
    client.close()


def steps(conn, records):
    """A supervisor with a session fatal for want of keys (so every step has something to
    read), and the four steps that talk to Redis; what it logged getting there is cleared."""
    pairing = FakePairing()
    sup, _clock, children = make_supervisor(conn, pairing=pairing)
    exit_child(children["session"], ExitCode.NOT_PAIRED, sup)
    sup._ready_sent = True
    records.clear()
    return (
        sup,
        children,
        {
            "pairings": sup._revive_paired,
            "pairing offer": sup._offer_pairing,
            "status": sup._publish,
            "crash record": lambda: sup._record_crash(children["session"]),
        },
    )


def test_redis_away_is_a_debug_line_in_every_step(conn, away, log_records):
    sup, children, each = steps(conn, log_records)
    sup.status_redis = away
    for step in each.values():
        step()
    assert [r["message"] for r in log_records if r["level"].no >= logger.level("WARNING").no] == []
    assert sum(r["level"].name == "DEBUG" for r in log_records) >= len(each)
    assert children["session"].state is State.FATAL


@pytest.mark.parametrize("name", ["pairings", "pairing offer", "status", "crash record"])
def test_a_bug_in_a_redis_step_is_an_error_with_its_traceback(conn, log_records, name):
    sup, children, each = steps(conn, log_records)
    sup.status_redis = Buggy()
    each[name]()  # does not raise: the supervisor keeps its children running
    errors = [r for r in log_records if r["level"].name == "ERROR"]
    assert len(errors) == 1, [r["message"] for r in log_records]
    assert errors[0]["exception"] is not None and errors[0]["exception"].type is TypeError
    assert children["scheduler"].state is State.RUNNING
