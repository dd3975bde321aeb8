"""`wagw events tail` as a real process against the real test Redis."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import threading

from chaos.polling import wait_for
from wagw import keys


def add(redis_conn, n: int) -> None:
    body = json.dumps({"event": "message", "id": f"E{n}", "payload": {"n": n}})
    redis_conn.xadd(keys.EVENTS_STREAM, {"id": f"E{n}", "name": "message", "event": body})


def tail(*args: str) -> list[str]:
    return [sys.executable, "-m", "wagw", "events", "tail", *args]


def test_last_n_without_follow(settings_env, redis_conn):
    for n in range(5):
        add(redis_conn, n)
    out = subprocess.run(
        tail("-n", "2", "--no-follow"), env=dict(os.environ), capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["id"] for line in out.stdout.splitlines()] == ["E3", "E4"]


def test_empty_log_without_follow_prints_nothing(settings_env, redis_conn):
    out = subprocess.run(tail("--no-follow"), env=dict(os.environ), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout == ""


def test_follow_prints_new_events_and_stops_on_sigterm(settings_env, redis_conn):
    add(redis_conn, 0)
    proc = subprocess.Popen(
        tail("-n", "1"),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_for(lambda: len(lines) == 1, timeout=15, what="the last event")
        add(redis_conn, 1)
        add(redis_conn, 2)
        wait_for(lambda: len(lines) == 3, timeout=10, what="the followed events")
        assert [json.loads(line)["id"] for line in lines] == ["E0", "E1", "E2"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()


def test_one_accounts_events(settings_env, redis_conn):
    settings_env.setenv("WAGW_ACCOUNTS", "sales,support")
    for n in range(6):
        body = json.dumps({"event": "message", "account": "sales" if n % 3 else "support", "id": f"E{n}"})
        redis_conn.xadd(keys.EVENTS_STREAM, {"id": f"E{n}", "name": "message", "event": body})

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(tail(*args), env=dict(os.environ), capture_output=True, text=True, timeout=30)

    support = run("-n", "5", "--no-follow", "--account", "support")
    assert support.returncode == 0, support.stderr
    assert [json.loads(line)["id"] for line in support.stdout.splitlines()] == ["E0", "E3"]
    unknown = run("--no-follow", "--account", "nobody")
    assert unknown.returncode == 64 and "no account 'nobody'" in unknown.stderr


def test_piped_output_is_the_stored_bodies_byte_for_byte(settings_env, redis_conn):
    bodies = [
        json.dumps({"event": "message", "id": "E0", "payload": {"body": "héllo 👋", "n": 0}}, ensure_ascii=False),
        '{"event":"message.ack","id":"E1","payload":{"ids":["A"],"receipt_type":"read"}}',
    ]
    for n, body in enumerate(bodies):
        redis_conn.xadd(keys.EVENTS_STREAM, {"id": f"E{n}", "name": "message", "event": body})
    out = subprocess.run(tail("-n", "2", "--no-follow"), env=dict(os.environ), capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "".join(body + "\n" for body in bodies).encode()


def run_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with stdout on a pseudo-terminal, as a person at a shell does; all it wrote."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    code = proc.wait(timeout=30)
    assert code == 0, proc.stderr.read().decode() if proc.stderr else code
    return code, b"".join(chunks).decode()


def test_on_a_terminal_each_event_is_one_coloured_line_in_columns(settings_env, redis_conn):
    jid = "15551234567@s.whatsapp.net"
    messages = [
        {"chat_id": jid, "from": jid, "from_name": "Alice", "is_from_me": False, "body": "hi \x1b[2J"},
        {"chat_id": "120363000000000001@g.us", "from": jid, "from_name": "Alice", "reaction": "👍"},
    ]
    for n, (name, payload) in enumerate(zip(("message", "message.reaction"), messages, strict=True)):
        body = {"event": name, "account": "default", "id": f"E{n}", "timestamp": f"2026-11-29T10:30:0{n}Z"}
        body["payload"] = payload
        redis_conn.xadd(keys.EVENTS_STREAM, {"id": f"E{n}", "name": name, "event": json.dumps(body)})
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    _code, out = run_on_a_terminal(tail("-n", "2", "--no-follow"), {**env, "TERM": "xterm-256color"})
    assert "\x1b[" in out  # coloured
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out).replace("\r\n", "\n")
    lines = plain.splitlines()
    assert lines == [
        f"2026-11-29 10:30:00  default  {'message':<18}  {jid}  Alice: hi \\x1b[2J",
        f"2026-11-29 10:30:01  default  {'message.reaction':<18}  {'120363000000000001@g.us':<26}  Alice: reaction=👍",
    ]
    assert "{" not in plain  # not the JSON lines
