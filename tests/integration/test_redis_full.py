"""When Redis refuses writes (full, read-only), the session's sink holds the event and retries
until it is stored, exactly once; it never returns without it, and the log never carries the
message. On the real embedded redis-server with a 64 MB ceiling."""

from __future__ import annotations

import json
import threading

import pytest
from rq import Queue

from chaos.polling import wait_for
from tests.integration.redis_full_harness import fill, free, is_full, small_redis, stays
from wagw import accounts, keys
from wagw.redisconn import SERIALIZER, connect
from wagw.session.sink import EventSink, NotStored
from wagw.whatsapp import fake_inbound

SECRET_TEXT = "the-private-words-of-alice"
URL = "http://hooks.example/in"


@pytest.fixture
def full_redis(settings_env):
    with small_redis() as (url, conn):
        settings_env.setenv("WAGW_REDIS_URL", url)
        settings_env.setenv("WAGW_WEBHOOK_URLS", URL)
        settings_env.setenv("WAGW_WEBHOOK_SECRET", "test-secret-of-16-bytes")
        yield conn


@pytest.fixture
def sink(full_redis):
    from wagw.config import Settings

    settings = Settings(_env_file=None)
    stop = threading.Event()
    made = EventSink(
        settings,
        connect(settings),
        lambda: "15550001111:1@s.whatsapp.net",
        stop.is_set,
        account=accounts.find(settings, None),
    )
    made.stop = stop  # type: ignore[attr-defined]
    return made


def event(n: int = 1):
    return fake_inbound.to_event(
        {
            "type": "message",
            "id": f"3EB0FULL{n:04d}",
            "sender": "15551234567@s.whatsapp.net",
            "text": f"{SECRET_TEXT} {n}",
            "timestamp": 1764412200,
        }
    )


def in_background(sink, item) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            sink(item)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


def test_a_full_redis_holds_the_event_until_it_can_be_stored_once(sink, full_redis, log_lines):
    fill(full_redis)
    assert is_full(full_redis)
    thread, errors = in_background(sink, event())
    stays(lambda: thread.is_alive() and not errors, 2.0, "the sink holding the event")
    assert sink.blocked_since is not None
    assert full_redis.xlen(keys.EVENTS_STREAM) == 0
    assert sink.blocked_reason == "Redis is full (used memory above maxmemory)"

    free(full_redis)
    thread.join(10)
    assert not thread.is_alive() and not errors, errors
    assert full_redis.xlen(keys.EVENTS_STREAM) == 1
    assert Queue(keys.WEBHOOKS_QUEUE, connection=full_redis, serializer=SERIALIZER).count == 1
    assert sink.stored == 1 and sink.blocked_since is None
    text = "\n".join(log_lines)
    assert "cannot store event message" in text and "Redis takes writes again" in text
    assert SECRET_TEXT not in text and "XADD" not in text


def test_a_read_only_redis_holds_the_event_too(sink, full_redis):
    full_redis.replicaof("127.0.0.1", "1")  # a replica of nothing: writes answer READONLY
    try:
        thread, errors = in_background(sink, event(2))
        stays(lambda: thread.is_alive() and not errors, 1.0, "the sink holding the event")
        assert sink.blocked_reason == "Redis is read-only (a replica)"
    finally:
        full_redis.replicaof("no", "one")
    thread.join(10)
    assert not errors and full_redis.xlen(keys.EVENTS_STREAM) == 1


def test_a_stop_while_blocked_leaves_the_event_unstored_for_redelivery(sink, full_redis, log_lines):
    fill(full_redis)
    thread, errors = in_background(sink, event(3))
    stays(lambda: thread.is_alive() and not errors, 1.0, "the sink holding the event")
    sink.stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], NotStored)
    free(full_redis)
    assert full_redis.xlen(keys.EVENTS_STREAM) == 0
    assert not list(full_redis.scan_iter(match=keys.EVENT_SEEN.format(event_id="*")))
    assert SECRET_TEXT not in "\n".join(log_lines)


# A real `wagw session` process (fake backend) on the full Redis ---------------------------------


@pytest.fixture
def session_proc(full_redis, settings_env, data_dir):
    import os

    from tests.integration.test_session_process import SessionProcess

    env = {**os.environ, "PYTHONUNBUFFERED": "1", "WAGW_SHUTDOWN_GRACE": "5"}
    started: list[SessionProcess] = []

    def make() -> SessionProcess:
        proc = SessionProcess(env, data_dir / "session.log").start()
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.kill()


def messages(first: int, count: int) -> list[str]:
    return [
        json.dumps(
            {
                "type": "message",
                "id": f"M{n:05d}",
                "sender": "15551234567@s.whatsapp.net",
                "text": f"{SECRET_TEXT} {n}",
                "timestamp": 1764412200 + n,
            }
        )
        for n in range(first, first + count)
    ]


def push_while_full(conn, raws: list[str]) -> None:
    """Hand the fake backend messages while Redis is full, as WhatsApp would: the ceiling is
    lifted for the one RPUSH only (Redis refuses it otherwise)."""
    pinned = conn.config_get("maxmemory")["maxmemory"]
    conn.config_set("maxmemory", "0")
    try:
        conn.rpush(keys.FAKE_INBOUND, *raws)
    finally:
        conn.config_set("maxmemory", pinned)


def stored_ids(conn) -> list[str]:
    return [json.loads(fields[b"event"])["payload"]["id"] for _, fields in conn.xrange(keys.EVENTS_STREAM)]


def status_json(env_redis_url: str) -> dict:
    import os
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "wagw", "status", "--json"],
        env={**os.environ, "WAGW_REDIS_URL": env_redis_url},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return json.loads(out.stdout)


def session_heartbeat(conn) -> dict:
    return {k.decode(): v.decode() for k, v in conn.hgetall(keys.DEVICE_STATUS.format(role="session")).items()}


def test_a_session_process_holds_events_while_redis_is_full_and_stores_each_once(session_proc, full_redis):
    url = full_redis.connection_pool.connection_kwargs["path"]
    proc = session_proc()
    wait_for(lambda: session_heartbeat(full_redis).get("connected") == "1", 20, what="the session to connect")
    fill(full_redis)
    push_while_full(full_redis, messages(0, 30))
    # Alive, holding: its heartbeat is kept but not refreshed, and `wagw status` says why.
    blocked = wait_for(
        lambda: next((d for d in (status_json(f"unix://{url}"))["devices"] if d.get("blocked")), None),
        30,
        0.5,
        "wagw status to show the session blocked",
    )
    assert blocked["role"] == "session" and blocked["hint"] == "session blocked: Redis full", blocked
    assert proc.proc.poll() is None
    assert full_redis.xlen(keys.EVENTS_STREAM) < 30

    free(full_redis)
    wait_for(lambda: len(stored_ids(full_redis)) >= 30, 20, what="every event stored")
    assert stored_ids(full_redis) == [f"M{n:05d}" for n in range(30)]
    assert proc.proc.poll() is None, "the session exited"
    log = proc.log()
    assert "holding it and retrying" in log and SECRET_TEXT not in log


def test_a_session_stopped_while_blocked_stores_the_held_event_after_its_restart(session_proc, full_redis):
    proc = session_proc()
    wait_for(lambda: session_heartbeat(full_redis).get("connected") == "1", 20, what="the session to connect")
    fill(full_redis)
    push_while_full(full_redis, messages(0, 5))
    wait_for(lambda: "holding it and retrying" in proc.log(), 20, what="the session to hold an event")
    proc.proc.send_signal(15)
    assert proc.wait(timeout=15) == 0
    assert full_redis.xlen(keys.EVENTS_STREAM) == 0
    free(full_redis)
    session_proc()
    wait_for(lambda: len(stored_ids(full_redis)) >= 5, 20, what="every event stored after the restart")
    assert stored_ids(full_redis) == [f"M{n:05d}" for n in range(5)]
