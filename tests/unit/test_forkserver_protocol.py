"""The fork server's messages and which children it forks (pure logic)."""

from __future__ import annotations

import sys

import pytest

from wagw.childstate import ChildSpec
from wagw.forkserver import protocol
from wagw.supervisor.forking import forked_command


def test_a_request_names_the_child_and_its_wagw_arguments_only():
    data = protocol.request("wa-worker-1", ["wa-worker", "--account", "default", "--slot", "1"])
    assert protocol.parse_request(data) == ("wa-worker-1", ["wa-worker", "--account", "default", "--slot", "1"])


@pytest.mark.parametrize(
    "message",
    [
        b'{"name": "session", "argv": ["session"]}',  # loads neonize: never forked
        b'{"name": "x", "argv": []}',
        b'{"name": "x", "argv": ["scheduler", 3]}',
        b'{"name": 1, "argv": ["scheduler"]}',
    ],
)
def test_a_request_for_anything_else_is_refused(message):
    with pytest.raises(ValueError):
        protocol.parse_request(message)


def test_answers_carry_a_pid_or_the_reason():
    assert protocol.parse_answer(protocol.answer(pid=4242)) == 4242
    with pytest.raises(ValueError, match="fork failed"):
        protocol.parse_answer(protocol.answer(error="fork failed: EAGAIN"))
    with pytest.raises(ValueError):
        protocol.parse_answer(b'{"pid": 1}')


def _spec(*args: str, inherit_env: bool = True) -> ChildSpec:
    return ChildSpec("x", [sys.executable, "-m", "wagw", *args], inherit_env=inherit_env)


def test_only_the_pure_python_commands_are_forked():
    for command in ("scheduler", "webhook-worker", "wa-worker", "history-writer"):
        assert forked_command(_spec(command))
    for command in ("session", "api", "dashboard", "metrics", "pair"):
        assert not forked_command(_spec(command))
    assert not forked_command(ChildSpec("redis", ["/usr/bin/redis-server"], inherit_env=False))
    assert not forked_command(_spec("scheduler", inherit_env=False))


def test_the_title_is_what_chaos_names_a_forked_child_by():
    from chaos.procs import FORKED_TITLE

    match = FORKED_TITLE.match(protocol.title("webhook-worker-2").encode() + b"\0\0")
    assert match and match.group(1) == b"webhook-worker-2"
