"""Writing one batch (wagw.history.ingest.Changes) and the streams' cursors in one transaction:
a writer killed anywhere leaves either all of a batch and its cursor, or none of it, and a
row written twice (a batch read again after a crash) is the same row (upserts by key)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from wagw.history.schema import chats, cursors, events, messages, reactions, receipts, sends

if TYPE_CHECKING:
    from wagw.history.ingest import Changes


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    """INSERT with ON CONFLICT: each dialect has its own (the same API on both)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql  # ~1.6 MB a SQLite store's writer never loads

        return postgresql.insert(table)
    return sqlite.insert(table)


def _many(conn: sa.Connection, stmt: Any, rows: list[dict[str, Any]]) -> None:
    """executemany of `stmt` over `rows` (dicts with the same keys), compiled once: SQLAlchemy's
    own executemany builds every row's parameters through its compiler, a third of a batch's
    time. The values name only the keys given, so a column left out keeps its default."""
    compiled = stmt.values({key: sa.bindparam(key) for key in rows[0]}).compile(dialect=conn.dialect)
    if compiled.positional:
        order = compiled.positiontup or []
        conn.exec_driver_sql(str(compiled), [tuple(row[key] for key in order) for row in rows])
    else:
        conn.exec_driver_sql(str(compiled), rows)


def _greatest(conn: sa.Connection, a, b):
    return sa.func.greatest(a, b) if conn.dialect.name == "postgresql" else sa.func.max(a, b)


def _least(conn: sa.Connection, a, b):
    return sa.func.least(a, b) if conn.dialect.name == "postgresql" else sa.func.min(a, b)


def apply(conn: sa.Connection, changes: Changes, positions: dict[str, str]) -> None:
    """Write `changes` and move each stream's cursor to its position, in the caller's transaction."""
    if changes.events:
        _many(conn, _insert(conn, events).on_conflict_do_nothing(index_elements=["id"]), changes.events)
    if changes.messages:
        _many(
            conn,
            _insert(conn, messages).on_conflict_do_nothing(index_elements=["account", "message_id"]),
            list(changes.messages.values()),
        )
    if changes.chats:
        stmt = _insert(conn, chats)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["account", "chat"],
                set_={
                    "first_ms": _least(conn, chats.c.first_ms, stmt.excluded.first_ms),
                    "last_ms": _greatest(conn, chats.c.last_ms, stmt.excluded.last_ms),
                    "chat_lid": sa.func.coalesce(stmt.excluded.chat_lid, chats.c.chat_lid),
                    "name": sa.func.coalesce(stmt.excluded.name, chats.c.name),
                },
            ),
            list(changes.chats.values()),
        )
    for state, values in changes.updates:
        _update_message(conn, state, values)
    if changes.reactions:
        stmt = _insert(conn, reactions)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["account", "message_id", "reactor"],
                set_={"emoji": stmt.excluded.emoji, "time_ms": stmt.excluded.time_ms},
                where=stmt.excluded.time_ms >= reactions.c.time_ms,
            ),
            list(changes.reactions.values()),
        )
    if changes.receipts:
        _many(
            conn,
            _insert(conn, receipts).on_conflict_do_nothing(index_elements=["account", "message_id", "type", "reader"]),
            list(changes.receipts.values()),
        )
    if changes.sends:
        stmt = _insert(conn, sends)
        kept = ("operation", "chat", "outcome", "error", "attempts", "enqueued_ms", "started_ms", "ended_ms")
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["job_id"],
                set_={
                    **{name: stmt.excluded[name] for name in kept},
                    "message_id": sa.func.coalesce(stmt.excluded.message_id, sends.c.message_id),
                },
                where=stmt.excluded.ended_ms >= sends.c.ended_ms,
            ),
            list(changes.sends.values()),
        )
    now = int(time.time() * 1000)
    for stream, last_id in positions.items():
        stmt = _insert(conn, cursors)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["stream"], set_={"last_id": stmt.excluded.last_id, "updated_ms": now}
            ),
            {"stream": stream, "last_id": last_id, "updated_ms": now},
        )


def _update_message(conn: sa.Connection, state: str, values: dict[str, Any]) -> None:
    where = (messages.c.account == values["account"]) & (messages.c.message_id == values["message_id"])
    if state == "edited":
        change: dict[str, Any] = {"edited_ms": values["at"]}
        if values.get("text") is not None:
            change["text"] = values["text"]
    elif state == "revoked":
        change = {"revoked_ms": values["at"]}
    else:
        change = {"deleted_ms": values["at"]}
    conn.execute(sa.update(messages).where(where).values(change))


def read_cursors(conn: sa.Connection) -> dict[str, str]:
    return {row.stream: row.last_id for row in conn.execute(sa.select(cursors.c.stream, cursors.c.last_id))}


def retention(conn: sa.Connection, cutoff_ms: int, batch: int) -> int:
    """Delete up to `batch` rows older than `cutoff_ms` from each table; the rows deleted."""
    deleted = 0
    for table, column, key in (
        (events, events.c.time_ms, events.c.seq),
        (messages, messages.c.time_ms, messages.c.seq),
    ):
        old = sa.select(key).where(column < cutoff_ms).limit(batch).scalar_subquery()
        deleted += conn.execute(sa.delete(table).where(key.in_(old))).rowcount or 0
    for table, column in (
        (receipts, receipts.c.time_ms),
        (reactions, reactions.c.time_ms),
        (sends, sends.c.ended_ms),
        (chats, chats.c.last_ms),
    ):
        # No single-column key: delete by time within the oldest batch's bound.
        bound = sa.select(column).where(column < cutoff_ms).order_by(column).limit(1).offset(batch - 1)
        found = conn.execute(bound).scalar()
        limit = cutoff_ms if found is None else min(cutoff_ms, found + 1)
        deleted += conn.execute(sa.delete(table).where(column < limit)).rowcount or 0
    return deleted
