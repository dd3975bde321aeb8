"""The fork server's messages and which children it forks (pure logic)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from wagw.childstate import ChildSpec
from wagw.forkserver import protocol, server
from wagw.supervisor.forking import forked_command


def test_a_request_names_the_child_and_its_wagw_arguments_only():
    data = protocol.request("wa-worker-1", ["wa-worker", "--account", "default", "--slot", "1"])
    assert protocol.parse_request(data) == ("wa-worker-1", ["wa-worker", "--account", "default", "--slot", "1"])


@pytest.mark.parametrize(
    "message",
    [
        b'{"name": "pair", "argv": ["pair"]}',  # loads neonize before it could be forked
        b'{"name": "x", "argv": []}',
        b'{"name": "x", "argv": ["scheduler", 3]}',
        b'{"name": 1, "argv": ["scheduler"]}',
    ],
)
def test_a_request_for_anything_else_is_refused(message):
    with pytest.raises(ValueError):
        protocol.parse_request(message)


def test_the_preload_leaves_neonize_out_of_the_server():
    """The session is forked and loads neonize in the child: the server itself never may."""
    code = "import sys; from wagw.forkserver import server; server.preload(); print(sorted(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout
    assert "'wagw.session.process'" in loaded and "'neonize" not in loaded


def test_no_fork_once_neonize_is_loaded_in_the_server(monkeypatch):
    monkeypatch.setitem(sys.modules, "neonize", object())
    read_end, write_end = os.pipe()
    try:
        reply = server._fork(None, protocol.request("session", ["session"]), [read_end, write_end])  # type: ignore[arg-type]
    finally:
        os.close(read_end)
        os.close(write_end)
    with pytest.raises(ValueError, match="neonize is loaded"):
        protocol.parse_answer(reply)


def test_answers_carry_a_pid_or_the_reason():
    assert protocol.parse_answer(protocol.answer(pid=4242)) == 4242
    with pytest.raises(ValueError, match="fork failed"):
        protocol.parse_answer(protocol.answer(error="fork failed: EAGAIN"))
    with pytest.raises(ValueError):
        protocol.parse_answer(b'{"pid": 1}')


def _spec(*args: str, inherit_env: bool = True) -> ChildSpec:
    return ChildSpec("x", [sys.executable, "-m", "wagw", *args], inherit_env=inherit_env)


def test_only_the_pure_python_commands_are_forked():
    for command in ("scheduler", "webhook-worker", "wa-worker", "history-writer", "session"):
        assert forked_command(_spec(command))
    for command in ("api", "dashboard", "metrics", "pair"):
        assert not forked_command(_spec(command))
    assert not forked_command(ChildSpec("redis", ["/usr/bin/redis-server"], inherit_env=False))
    assert not forked_command(_spec("scheduler", inherit_env=False))


def test_the_title_is_what_chaos_names_a_forked_child_by():
    from chaos.procs import FORKED_TITLE

    match = FORKED_TITLE.match(protocol.title("webhook-worker-2").encode() + b"\0\0")
    assert match and match.group(1) == b"webhook-worker-2"


def test_the_server_warms_the_parser_its_children_reuse():
    from wagw.cli import build_parser
    from wagw.forkserver.server import warm_up

    warm_up()
    assert build_parser() is build_parser()  # cached: a forked child parses with the server's
