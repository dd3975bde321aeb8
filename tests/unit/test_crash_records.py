"""What the supervisor records as a crash (`wagw status`'s recent crashes): an unexpected
exit, not a device waiting for its operator (not paired, logged out, replaced, banned)."""

from __future__ import annotations

import json
import socket

import fakeredis
import pytest

from tests.unit.test_first_contact import exit_child, make_supervisor
from wagw import keys
from wagw.exitcodes import ExitCode


@pytest.fixture
def conn():
    return fakeredis.FakeRedis()


@pytest.mark.parametrize(
    "code", [ExitCode.NOT_PAIRED, ExitCode.LOGGED_OUT, ExitCode.STREAM_REPLACED, ExitCode.TEMP_BANNED]
)
def test_a_device_waiting_for_its_operator_is_not_a_crash(conn, code):
    sup, _clock, children = make_supervisor(conn)
    exit_child(children["session"], code, sup)
    assert conn.lrange(keys.CRASHES, 0, -1) == []


def test_an_unexpected_exit_is_a_crash(conn):
    sup, _clock, children = make_supervisor(conn)
    exit_child(children["scheduler"], ExitCode.FAILURE, sup)
    crashes = [json.loads(raw) for raw in conn.lrange(keys.CRASHES, 0, -1)]
    assert [(c["process"], c["state"]) for c in crashes] == [("scheduler", "backoff")]


def test_each_daemon_names_its_host():
    sup, _clock, _children = make_supervisor(fakeredis.FakeRedis())
    assert sup.snapshot()["host"] == socket.gethostname()
