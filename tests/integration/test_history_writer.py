"""The `history` process on the real embedded Redis and a real SQLite file: events appended
to `wagw:events` become rows; a SIGKILL mid-run loses and duplicates nothing; a store held
locked by another connection only makes it fall behind, and it catches up after."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from chaos.polling import wait_for
from tests.integration import postgres_server
from wagw import keys
from wagw.events import build_body, message, receipt

CHAT = "15551234567@s.whatsapp.net"
DEVICE = "15550001111@s.whatsapp.net"
BASE_TS = int(time.time()) - 10_000  # recent: retention keeps it


def append_messages(conn, start: int, count: int) -> list[str]:
    """`count` message events as the session appends them; their message ids."""
    ids = []
    with conn.pipeline(transaction=False) as pipe:
        for n in range(start, start + count):
            mid = f"3EB0{n:08d}"
            event = message(
                id=mid, chat=CHAT, sender=CHAT, timestamp=BASE_TS + n, push_name="Alice", body=f"text number {n}"
            )
            event_id, body = build_body(event, DEVICE)
            pipe.xadd(keys.EVENTS_STREAM, {"id": event_id, "name": event.event, "event": body})
            ids.append(mid)
        pipe.execute()
    return ids


def start_writer(settings_env_vars: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "wagw", "history-writer"],
        env={**os.environ, **settings_env_vars, "WAGW_LOG_LEVEL": "INFO"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return out


def rows(path, query: str) -> list[tuple]:
    db = sqlite3.connect(path, timeout=10)
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


@pytest.fixture
def env(settings_env, data_dir, redis_url):
    return {"WAGW_DATA_DIR": str(data_dir), "WAGW_REDIS_URL": redis_url, "WAGW_BACKEND": "fake"}


def stored_ids(path) -> list[str]:
    try:
        return [r[0] for r in rows(path, "SELECT message_id FROM messages ORDER BY time_ms, seq")]
    except sqlite3.OperationalError:  # not migrated yet
        return []


def test_events_become_rows_and_a_sigkill_loses_and_repeats_nothing(env, redis_conn, data_dir):
    path = data_dir / "history.sqlite3"
    first = append_messages(redis_conn, 0, 3000)
    writer = start_writer(env)
    try:
        # Killed while it is writing: some but not all batches are in.
        wait_for(lambda: path.exists() and len(stored_ids(path)) > 0, timeout=60, what="first rows")
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        assert writer.returncode == -signal.SIGKILL
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        second = append_messages(redis_conn, 3000, 500)
        read = receipt(ids=[first[0]], chat=CHAT, sender=CHAT, receipt_type="read", timestamp=BASE_TS + 9000)
        event_id, body = build_body(read, DEVICE)
        redis_conn.xadd(keys.EVENTS_STREAM, {"id": event_id, "name": read.event, "event": body})
        writer = start_writer(env)
        expected = first + second
        wait_for(lambda: len(stored_ids(path)) >= len(expected), timeout=60, what="every message stored")
        wait_for(lambda: rows(path, "SELECT count(*) FROM receipts")[0][0] == 1, timeout=30, what="the receipt")
        assert stored_ids(path) == expected  # each once, in order
        assert rows(path, "SELECT count(*), count(DISTINCT id) FROM events") == [(3501, 3501)]
        cursor = rows(path, "SELECT last_id FROM cursors WHERE stream = 'events'")[0][0]
        assert cursor == redis_conn.xrevrange(keys.EVENTS_STREAM, count=1)[0][0].decode()
        status = wait_for(lambda: redis_conn.get(keys.HISTORY_STATUS), timeout=10, what="status")
        assert json.loads(status)["pid"] == writer.pid
    finally:
        out = stop(writer)

    assert "text number" not in out  # message text never reaches the log


def test_a_locked_store_holds_the_writer_back_and_it_catches_up(env, redis_conn, data_dir):
    path = data_dir / "history.sqlite3"
    writer = start_writer(env)
    try:
        append_messages(redis_conn, 0, 10)
        wait_for(lambda: path.exists() and len(stored_ids(path)) == 10, timeout=60, what="first rows")
        lock = sqlite3.connect(path, timeout=10, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            append_messages(redis_conn, 10, 200)  # the stream takes them at once, store or not
            assert redis_conn.xlen(keys.EVENTS_STREAM) == 210

            def failing():
                status = json.loads(redis_conn.get(keys.HISTORY_STATUS) or "{}")
                return status if status.get("error") else None

            status = wait_for(failing, timeout=30, what="the writer saying the store is locked")
            assert "locked" in status["error"]
            from wagw.status import history_status

            assert "locked" in history_status(redis_conn)["error"]  # what `wagw status` shows
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        wait_for(lambda: len(stored_ids(path)) == 210, timeout=60, what="caught up")
        wait_for(
            lambda: json.loads(redis_conn.get(keys.HISTORY_STATUS) or "{}").get("error", 1) is None,
            timeout=30,
            what="status clear",
        )
    finally:
        out = stop(writer)

    assert writer.returncode == 0, out
    assert "not writable" in out and "writable again" in out


def test_a_gap_is_reported_not_silent(env, redis_conn, data_dir):
    path = data_dir / "history.sqlite3"
    writer = start_writer(env)
    try:
        append_messages(redis_conn, 0, 5)
        wait_for(lambda: path.exists() and len(stored_ids(path)) == 5, timeout=60, what="first rows")
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        append_messages(redis_conn, 5, 300)
        redis_conn.xtrim(keys.EVENTS_STREAM, maxlen=100, approximate=False)  # the cap passed while it was down
        writer = start_writer(env)
        wait_for(lambda: len(stored_ids(path)) == 105, timeout=60, what="what is left")
        gaps = wait_for(
            lambda: json.loads(redis_conn.get(keys.HISTORY_STATUS) or "{}").get("gaps"), timeout=10, what="gap status"
        )
        assert gaps[0]["stream"] == keys.EVENTS_STREAM
    finally:
        out = stop(writer)

    assert "gap in wagw:events" in out


@pytest.fixture(scope="module")
def postgres():
    server, why = postgres_server.start()
    if server is None:
        pytest.skip(f"PostgreSQL cannot start here: {why}")
    yield server
    server.stop()


def test_the_same_on_postgresql(env, redis_conn, postgres):
    import psycopg

    from wagw.history import read
    from wagw.history.store import open_url

    url = postgres.create_database("history_writer")
    # The server trusts the socket, so any password is taken: it must not reach the log.
    env = {**env, "WAGW_HISTORY_URL": url.replace("wagw@", "wagw:history-pw@")}

    def stored() -> list[str]:
        with psycopg.connect(url) as db:
            try:
                return [r[0] for r in db.execute("SELECT message_id FROM messages ORDER BY time_ms, seq")]
            except psycopg.errors.UndefinedTable:
                return []

    first = append_messages(redis_conn, 0, 2500)
    writer = start_writer(env)
    try:
        wait_for(lambda: len(stored()) > 0, timeout=60, what="first rows")
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        # An entry PostgreSQL refuses (an account name longer than its column) amid good ones:
        # it is left out, the rest of its batch is stored.
        forged = json.dumps({"event": "call.offer", "account": "x" * 100, "id": "forged", "payload": {}})
        redis_conn.xadd(keys.EVENTS_STREAM, {"id": "forged", "name": "call.offer", "event": forged})
        second = append_messages(redis_conn, 2500, 300)
        writer = start_writer(env)
        wait_for(lambda: len(stored()) >= 2800, timeout=60, what="every message stored")
        assert stored() == first + second
        with psycopg.connect(url) as db:
            assert db.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone() == (2800, 2800)
    finally:
        out = stop(writer)
    assert "history-pw" not in out and "text number" not in out
    assert "refused by the store" in out
    store = open_url(url)
    try:
        page = read.messages_page(store, CHAT, limit=2)
        assert [m.id for m in page.rows] == second[-2:]
        assert [m.id for m in read.search_page(store, "NUMBER 2799").rows] == [second[-1]]  # ILIKE
    finally:
        store.close()
