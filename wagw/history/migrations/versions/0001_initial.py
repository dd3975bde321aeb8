"""The history store's first schema: events, messages, receipts, reactions, sends, chats,
cursors; on SQLite an FTS5 index over the messages' text.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# FTS5 over messages.text, kept by triggers (external content: the text is stored once).
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='seq')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.seq, new.text); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.seq, old.text); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.seq, old.text); "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.seq, new.text); END",
)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Column("stream_id", sa.String(40)),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("events_account_time", "events", ["account", "time_ms", "seq"])
    op.create_index("events_time", "events", ["time_ms"])
    op.create_table(
        "messages",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("chat", sa.String(128), nullable=False),
        sa.Column("chat_lid", sa.String(128)),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("sender", sa.String(128)),
        sa.Column("sender_name", sa.String(256)),
        sa.Column("from_me", sa.Boolean, nullable=False),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text),
        sa.Column("media", sa.Text),
        sa.Column("reply_to", sa.String(128)),
        sa.Column("edited_ms", sa.BigInteger),
        sa.Column("revoked_ms", sa.BigInteger),
        sa.Column("deleted_ms", sa.BigInteger),
        sa.Column("event_id", sa.String(64)),
        sa.Column("job_id", sa.String(64)),
        sa.UniqueConstraint("account", "message_id", name="messages_account_message"),
    )
    op.create_index("messages_chat_time", "messages", ["account", "chat", "time_ms", "seq"])
    op.create_index("messages_time", "messages", ["time_ms"])
    op.create_table(
        "receipts",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("type", sa.String(32), primary_key=True),
        sa.Column("reader", sa.String(128), primary_key=True),
        sa.Column("chat", sa.String(128)),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("receipts_time", "receipts", ["time_ms"])
    op.create_table(
        "reactions",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("reactor", sa.String(128), primary_key=True),
        sa.Column("emoji", sa.String(64), nullable=False),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("reactions_time", "reactions", ["time_ms"])
    op.create_table(
        "sends",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("chat", sa.String(256)),
        sa.Column("message_id", sa.String(128)),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("enqueued_ms", sa.BigInteger),
        sa.Column("started_ms", sa.BigInteger),
        sa.Column("ended_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("sends_account_time", "sends", ["account", "ended_ms"])
    op.create_index("sends_message", "sends", ["account", "message_id"])
    op.create_table(
        "chats",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("chat", sa.String(128), primary_key=True),
        sa.Column("chat_lid", sa.String(128)),
        sa.Column("name", sa.String(256)),
        sa.Column("first_ms", sa.BigInteger, nullable=False),
        sa.Column("last_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("chats_last", "chats", ["account", "last_ms"])
    op.create_table(
        "cursors",
        sa.Column("stream", sa.String(64), primary_key=True),
        sa.Column("last_id", sa.String(40), nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite" and _has_fts5():
        for statement in SQLITE_FTS:
            op.execute(statement)


def _has_fts5() -> bool:
    """SQLite builds without FTS5 exist: search then falls back to LIKE (wagw.history.read)."""
    import sqlite3

    try:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE probe USING fts5(x)")
    except sqlite3.OperationalError:
        return False
    return True


def downgrade() -> None:
    for table in ("messages_fts", "cursors", "chats", "sends", "reactions", "receipts", "messages", "events"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
