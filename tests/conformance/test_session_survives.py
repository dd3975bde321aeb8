"""The real `wagw session` process behind the stubbed Go boundary (session_host.py): an event
goneonize cannot encode must not take the session down (finding 5)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from chaos.polling import wait_for
from tests.conformance.conftest import ROOT
from tests.conformance.names import ALICE, DEVICE
from tests.conformance.session_host import INBOUND_KEY
from wagw import keys


@pytest.fixture
def session_process(go, settings_env, data_dir, redis_conn):
    go.call("make_store", path=str(data_dir.resolve() / "devices" / "session.sqlite3"), devices=[[DEVICE, "wagw", ""]])
    settings_env.setenv("WAGW_BACKEND", "neonize")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    log = open(data_dir / "session.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.conformance.session_host"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proc.log = log
    yield proc
    proc.kill()
    proc.wait()
    log.close()


def output(proc) -> str:
    proc.log.flush()
    return open(proc.log.name).read()


def push(redis_conn, spec: dict) -> None:
    redis_conn.rpush(INBOUND_KEY, json.dumps(spec))


def stored(redis_conn) -> list[str]:
    return [json.loads(fields[b"event"])["payload"].get("body") for _, fields in redis_conn.xrange(keys.EVENTS_STREAM)]


def test_an_unencodable_receipt_does_not_end_the_session(session_process, redis_conn):
    proc = session_process

    def connected() -> bool:
        assert proc.poll() is None, output(proc)
        status = redis_conn.hgetall(keys.DEVICE_STATUS.format(role="session"))
        return status.get(b"state") == b"connected"

    wait_for(connected, 30, what="the session to connect")
    push(redis_conn, {"kind": "message", "id": "3EB0C1", "sender": ALICE, "message": {"conversation": "before"}})
    push(redis_conn, {"kind": "receipt", "type": "server-error", "ids": ["3EB0C1"], "chat": ALICE, "sender": ALICE})
    push(redis_conn, {"kind": "message", "id": "3EB0C2", "sender": ALICE, "message": {"conversation": "after"}})
    wait_for(lambda: proc.poll() is not None or len(stored(redis_conn)) >= 2, 30, what="both messages to be stored")
    assert proc.poll() is None, output(proc)
    assert stored(redis_conn) == ["before", "after"]
    assert "could not pass on a Receipt event" in output(proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0, output(proc)


def test_the_session_process_gives_phone_numbers_from_whatsmeows_store(go, session_process, data_dir, redis_conn):
    """`wagw session` itself asks its backend's store (whatsmeow's, for real) for every LID an
    event names: the stored bodies carry the numbers the store knows and list the LID it does not."""
    proc = session_process
    wait_for(
        lambda: (
            proc.poll() is None and redis_conn.hget(keys.DEVICE_STATUS.format(role="session"), "state") == b"connected"
        ),
        30,
        what="the session to connect",
    )
    alice_lid, stranger_lid, group = "251556368777322@lid", "99887766554433@lid", "120363402106000000@g.us"
    go.call("learn_lids", store=str(data_dir.resolve() / "devices" / "session.sqlite3"), pairs=[[alice_lid, ALICE]])
    push(
        redis_conn,
        {"kind": "message", "id": "3EB0D1", "chat": group, "sender": alice_lid, "message": {"conversation": "hi"}},
    )
    push(redis_conn, {"kind": "group_change", "group": group, "join": [alice_lid, stranger_lid], "by": alice_lid})
    wait_for(lambda: proc.poll() is not None or redis_conn.xlen(keys.EVENTS_STREAM) >= 2, 30, what="2 events stored")
    message, joined = (json.loads(fields[b"event"])["payload"] for _, fields in redis_conn.xrange(keys.EVENTS_STREAM))
    assert (message["from"], message["from_lid"]) == (ALICE, alice_lid)
    assert (joined["jids"], joined["by"], joined["unresolved_lids"]) == ([ALICE, stranger_lid], ALICE, [stranger_lid])
