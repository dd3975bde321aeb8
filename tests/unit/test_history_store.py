"""The history store without a daemon: the migration makes the schema the code writes, every
event kind of wagw.events.kinds maps to its rows, send outcomes join their receipts, and the
read API pages, searches and answers in go-whatsapp-web-multidevice's shapes."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from wagw.events import build_body, edited, message, reaction, receipt, revoked
from wagw.events.kinds import KINDS
from wagw.history import read
from wagw.history.ingest import HISTORY_SYNC, MAPPERS, Changes, add_event, add_outcome
from wagw.history.schema import metadata
from wagw.history.store import StoreMissing, migrate, open_url, revision
from wagw.history.write import apply, read_cursors, retention

CHAT = "15551234567@s.whatsapp.net"
DEVICE = "15550001111@s.whatsapp.net"
T0 = 1_795_948_200  # 2026-11-29T10:30:00Z


@pytest.fixture
def store(tmp_path):
    found = open_url(f"sqlite:///{tmp_path}/history.sqlite3", create=True)
    migrate(found)
    yield found
    found.close()


def entry(event, n: int) -> tuple[dict[str, str], str]:
    event_id, body = build_body(event, DEVICE)
    return {"id": event_id, "name": event.event, "event": body}, f"{(T0 + n) * 1000}-0"


def write(store, *events, outcomes=()) -> None:
    changes = Changes()
    last = "0"
    for n, event in enumerate(events):
        fields, last = entry(event, n)
        add_event(changes, fields, last)
    for record in outcomes:
        add_outcome(changes, record)
    with store.engine.begin() as conn:
        apply(conn, changes, {"events": last})


def text(n: int, body: str, **kw):
    return message(id=f"M{n}", chat=CHAT, sender=CHAT, timestamp=T0 + n, push_name="Alice", body=body, **kw)


def test_the_migration_makes_the_tables_the_code_writes(store):
    assert revision(store) == "0003"
    inspector = sa.inspect(store.engine)
    for table in metadata.sorted_tables:
        assert {c["name"] for c in inspector.get_columns(table.name)} == set(table.columns.keys())
        indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes(table.name)}
        assert indexes == {i.name: [c.name for c in i.columns] for i in table.indexes}, table.name
    assert store.has_fts()
    migrate(store)  # again: nothing to do
    assert (
        oct((store.engine.url.database and __import__("os").stat(store.engine.url.database).st_mode) & 0o777) == "0o600"
    )


def test_a_missing_store_is_said_not_created_by_a_reader(tmp_path):
    with pytest.raises(StoreMissing, match="history process creates it"):
        open_url(f"sqlite:///{tmp_path}/none.sqlite3")
    assert not (tmp_path / "none.sqlite3").exists()


def test_every_event_kind_has_a_mapping():
    assert set(KINDS) == set(MAPPERS) and HISTORY_SYNC in KINDS


def test_each_kind_maps_to_its_rows(store):
    write(
        store,
        text(1, "hello there"),
        message(
            id="M2",
            chat=CHAT,
            sender=CHAT,
            timestamp=T0 + 2,
            media=("image", {"mimetype": "image/jpeg", "caption": "a cat"}),
        ),
        edited(id="E1", chat=CHAT, sender=CHAT, timestamp=T0 + 3, original_message_id="M1", body="hello, edited"),
        reaction(id="R1", chat=CHAT, sender=CHAT, timestamp=T0 + 4, emoji="👍", target_id="M2"),
        revoked(id="V1", chat=CHAT, sender=CHAT, timestamp=T0 + 5, revoked_message_id="M2"),
        receipt(ids=["M1", "M2"], chat=CHAT, sender=CHAT, receipt_type="read", timestamp=T0 + 6),
    )
    rows = read.messages_page(store, CHAT).rows
    assert [(m.id, m.kind, m.text) for m in rows] == [("M1", "text", "hello, edited"), ("M2", "image", "a cat")]
    assert rows[0].edited_at and not rows[0].revoked_at
    assert rows[1].revoked_at and rows[1].reactions == {CHAT: "👍"}
    assert rows[1].media and rows[1].media["image"]["mimetype"] == "image/jpeg"
    assert [r.type for r in rows[0].receipts] == ["read"]
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar() == 6
        assert read_cursors(conn) == {"events": f"{(T0 + 5) * 1000}-0"}
    chats = read.chats_page(store).rows
    assert [(c.chat, c.name) for c in chats] == [(CHAT, "Alice")]


def test_events_of_kinds_without_rows_are_kept_whole(store):
    body = {
        "event": "call.offer",
        "account": "default",
        "id": "c1",
        "timestamp": "2026-11-29T10:30:00Z",
        "payload": {"call_id": "X", "from": CHAT},
    }
    changes = Changes()
    add_event(changes, {"id": "c1", "name": "call.offer", "event": json.dumps(body)}, "1-0")
    add_event(changes, {"id": "bad", "name": "message", "event": "{not json"}, "2-0")
    assert changes.skipped == 1
    with store.engine.begin() as conn:
        apply(conn, changes, {"events": "2-0"})
    (stored,) = list(read.stored_events(store, since="2026-01-01T00:00:00Z"))
    assert stored.body == json.dumps(body) and stored.name == "call.offer"


def test_history_sync_messages_become_messages(store):
    body = {
        "event": HISTORY_SYNC,
        "account": "default",
        "id": "h1",
        "timestamp": "2026-11-29T10:30:00Z",
        "payload": {
            "chat_id": CHAT,
            "messages": [
                {
                    "id": "OLD1",
                    "from": DEVICE,
                    "is_from_me": True,
                    "timestamp": "2026-11-01T10:00:00Z",
                    "body": "from the phone",
                },
                {"id": "OLD2", "from": CHAT, "timestamp": "2026-11-01T10:01:00Z", "body": "answer"},
            ],
        },
    }
    changes = Changes()
    add_event(changes, {"id": "h1", "name": HISTORY_SYNC, "event": json.dumps(body)}, "1-0")
    with store.engine.begin() as conn:
        apply(conn, changes, {})
    rows = read.messages_page(store, CHAT).rows
    assert [(m.id, m.from_me, m.text) for m in rows] == [("OLD1", True, "from the phone"), ("OLD2", False, "answer")]


def test_a_batch_written_twice_is_stored_once(store):
    events = [text(n, f"number {n}") for n in range(5)]
    write(store, *events)
    write(store, *events)
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM messages")).scalar() == 5
        assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar() == 5


def test_a_send_and_its_receipts_join_by_message_id(store):
    ended = (T0 + 10) * 1000
    send = {
        "job_id": "j1",
        "account": "default",
        "operation": "send_text",
        "status": "finished",
        "chat": "15551234567",
        "args": {"to": "15551234567", "text": "your order shipped"},
        "result": {"id": "S1", "timestamp": "2026-11-29T10:30:10Z", "to": CHAT},
        "ended_ms": ended,
    }
    retry = {**send, "job_id": "j2", "status": "retrying", "error": "BackendError: not connected", "result": None}
    write(
        store,
        receipt(ids=["S1"], chat=CHAT, sender=CHAT, receipt_type="delivered", timestamp=T0 + 11),
        outcomes=[send, retry],
    )
    (sent,) = read.messages_page(store, CHAT).rows
    assert (sent.id, sent.from_me, sent.text, sent.job_id) == ("S1", True, "your order shipped", "j1")
    sends = {s.job_id: s for s in read.sends_page(store).rows}
    assert sends["j1"].message_id == "S1" and [r.type for r in sends["j1"].receipts] == ["delivered"]
    assert sends["j2"].outcome == "retrying" and sends["j2"].message_id is None


def test_pages_search_and_gowa_shapes(store):
    write(store, *(text(n, f"message {n} {'needle' if n % 10 == 0 else 'hay'}") for n in range(25)))
    first = read.messages_page(store, CHAT, limit=10)
    assert [m.id for m in first.rows] == [f"M{n}" for n in range(15, 25)]
    second = read.messages_page(store, CHAT, limit=10, before=first.next_cursor)
    assert [m.id for m in second.rows] == [f"M{n}" for n in range(5, 15)]
    last = read.messages_page(store, CHAT, limit=10, before=second.next_cursor)
    assert [m.id for m in last.rows] == [f"M{n}" for n in range(5)] and last.next_cursor is None
    assert [m.id for m in read.search_page(store, "needle").rows] == ["M20", "M10", "M0"]
    assert read.search_page(store, 'nee"dle').rows == []  # quotes are text, not FTS syntax
    with pytest.raises(ValueError, match="cursor"):
        read.messages_page(store, CHAT, before="nonsense")
    results = read.gowa_chat_messages(store, CHAT, account="default", limit=3, offset=1)
    assert results is not None
    assert [m["id"] for m in results["data"]] == ["M23", "M22", "M21"]
    assert results["pagination"] == {"limit": 3, "offset": 1, "total": 25}
    assert results["chat_info"]["jid"] == CHAT
    assert read.gowa_chat_messages(store, "nobody@s.whatsapp.net", account="default") is None
    chats = read.gowa_chats(store, account="default")
    assert chats["data"][0]["jid"] == CHAT and chats["pagination"]["total"] == 1


def test_retention_deletes_old_rows_in_batches(store):
    write(store, *(text(n, f"old {n}") for n in range(30)))
    cutoff = (T0 + 20) * 1000
    with store.engine.begin() as conn:
        assert retention(conn, cutoff, batch=7) > 0
    with store.engine.begin() as conn:
        while retention(conn, cutoff, batch=7):
            pass
    assert [m.id for m in read.messages_page(store, CHAT).rows] == [f"M{n}" for n in range(20, 30)]
    assert read.search_page(store, "old").rows[-1].id == "M20"  # the FTS index followed


@pytest.mark.parametrize(
    "record",
    [
        {"job_id": "j", "account": "a", "operation": "send_text", "ended_ms": "soon"},
        {"job_id": 1, "account": "a", "operation": "send_text", "ended_ms": 5},
        {"job_id": "j", "account": "a", "operation": "send_text", "ended_ms": 5, "attempts": "many"},
        {
            "job_id": "j",
            "account": "a",
            "operation": "send_text",
            "status": "finished",
            "ended_ms": 5,
            "result": {"id": "S", "timestamp": []},
            "args": {"text": ["not", "text"]},
        },
    ],
)
def test_a_malformed_outcome_is_skipped_or_stored_never_raised_past_the_writer(store, record):
    changes = Changes()
    try:
        add_outcome(changes, record)
    except (ValueError, TypeError, AttributeError, KeyError):
        changes.skipped += 1  # what the writer does with it
    with store.engine.begin() as conn:
        apply(conn, changes, {"sends": "1-0"})


def test_a_history_sync_event_as_the_session_builds_it_fills_messages(store):
    from wagw.events.history import history_sync

    past = [
        message(id="P1", chat=CHAT, sender=DEVICE, timestamp=T0 - 60, is_from_me=True, body="sent from the phone"),
        message(id="P2", chat=CHAT, sender=CHAT, timestamp=T0 - 30, push_name="Alice", body="its answer"),
    ]
    write(store, history_sync(chat=CHAT, chat_alt=None, messages=past), text(1, "today"))
    rows = read.messages_page(store, CHAT).rows
    assert [(m.id, m.from_me, m.text) for m in rows] == [
        ("P1", True, "sent from the phone"),
        ("P2", False, "its answer"),
        ("M1", False, "today"),
    ]


def test_doctor_sees_whether_the_store_takes_a_write(tmp_path, monkeypatch):
    import sqlite3

    from wagw.config import Settings
    from wagw.history.store import check_writable, open_store

    for name in [name for name in __import__("os").environ if name.startswith("WAGW_")]:
        monkeypatch.delenv(name)
    settings = Settings(_env_file=None, data_dir=tmp_path, backend="fake")
    assert check_writable(settings) == (
        True,
        f"{tmp_path.resolve()}/history.sqlite3 does not exist yet; the history process creates it (0600)",
    )
    made = open_store(settings, create=True)
    migrate(made)
    made.close()
    assert check_writable(settings)[0]
    lock = sqlite3.connect(tmp_path / "history.sqlite3", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        writable, found = check_writable(settings)
        assert not writable and "locked" in found
    finally:
        lock.execute("ROLLBACK")
        lock.close()
