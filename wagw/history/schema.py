"""The history store's tables (SQLAlchemy Core). Migrations (wagw/history/migrations) create
and change them; this module is what the code reads and writes through.

Times are unix milliseconds (BigInteger): the same on SQLite and PostgreSQL, indexable,
and what the event stream's entry ids count in.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Every event read from `wagw:events`, with its JSON body exactly as the session appended it
# (what webhooks signed and what a replay delivers again).
events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),  # the order stored
    sa.Column("id", sa.String(64), nullable=False, unique=True),  # wagw's event id
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),  # the body's `event`
    sa.Column("time_ms", sa.BigInteger, nullable=False),  # the body's timestamp, else when appended
    sa.Column("stream_id", sa.String(40)),  # its entry id in wagw:events
    sa.Column("body", sa.Text, nullable=False),
    # The session's event MAC from the entry (wagw.webhooks.signing.event_mac; a replay
    # delivers only an event it matches); NULL when the entry had none.
    sa.Column("mac", sa.String(64)),
    sa.Index("events_account_time", "account", "time_ms", "seq"),
    sa.Index("events_time", "time_ms"),
)

# One row per WhatsApp message, received or sent, keyed by account and message id.
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("chat", sa.String(128), nullable=False),  # the payload's chat_id
    sa.Column("chat_lid", sa.String(128)),
    sa.Column("message_id", sa.String(128), nullable=False),
    sa.Column("sender", sa.String(128)),  # `from`; None for a send (this account)
    sa.Column("sender_name", sa.String(256)),
    sa.Column("from_me", sa.Boolean, nullable=False, default=False),
    sa.Column("time_ms", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),  # text, image, …, location, poll, unsupported
    sa.Column("text", sa.Text),  # body or caption
    sa.Column("media", sa.Text),  # JSON: the payload's media fields (never the bytes)
    sa.Column("reply_to", sa.String(128)),
    sa.Column("edited_ms", sa.BigInteger),
    sa.Column("revoked_ms", sa.BigInteger),
    sa.Column("deleted_ms", sa.BigInteger),
    sa.Column("event_id", sa.String(64)),  # the event that brought it (None: a send or a sync)
    sa.Column("job_id", sa.String(64)),  # the send job that made it
    sa.UniqueConstraint("account", "message_id", name="messages_account_message"),
    sa.Index("messages_chat", "chat", "time_ms", "seq"),  # a chat's page, whichever account
    sa.Index("messages_time", "time_ms"),
)

# Receipts (message.ack), one per message, reader and type: joined to messages and sends by
# message id whichever arrived first.
receipts = sa.Table(
    "receipts",
    metadata,
    sa.Column("account", sa.String(64), primary_key=True),
    sa.Column("message_id", sa.String(128), primary_key=True),
    sa.Column("type", sa.String(32), primary_key=True),  # delivered, read, played, …
    sa.Column("reader", sa.String(128), primary_key=True),  # the receipt's `from`
    sa.Column("chat", sa.String(128)),
    sa.Column("time_ms", sa.BigInteger, nullable=False),
    sa.Index("receipts_time", "time_ms"),
)

# The current reaction of each person to a message (an empty emoji removes it).
reactions = sa.Table(
    "reactions",
    metadata,
    sa.Column("account", sa.String(64), primary_key=True),
    sa.Column("message_id", sa.String(128), primary_key=True),
    sa.Column("reactor", sa.String(128), primary_key=True),  # `from`; "" for this account's own
    sa.Column("emoji", sa.String(64), nullable=False),
    sa.Column("time_ms", sa.BigInteger, nullable=False),
    sa.Index("reactions_time", "time_ms"),
)

# Every send (a wa job of an operation that sends) and how it ended.
sends = sa.Table(
    "sends",
    metadata,
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("operation", sa.String(64), nullable=False),
    sa.Column("chat", sa.String(256)),  # the job's target as given
    sa.Column("message_id", sa.String(128)),  # from the result, when the send succeeded
    sa.Column("outcome", sa.String(32), nullable=False),  # finished, failed, retrying
    sa.Column("error", sa.Text),  # the failure's last line
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("enqueued_ms", sa.BigInteger),
    sa.Column("started_ms", sa.BigInteger),
    sa.Column("ended_ms", sa.BigInteger, nullable=False),
    sa.Index("sends_account_time", "account", "ended_ms"),
    sa.Index("sends_message", "account", "message_id"),
)

# One row per chat seen, kept by the writer so that listing chats reads no messages.
chats = sa.Table(
    "chats",
    metadata,
    sa.Column("account", sa.String(64), primary_key=True),
    sa.Column("chat", sa.String(128), primary_key=True),
    sa.Column("chat_lid", sa.String(128)),
    sa.Column("name", sa.String(256)),  # a group's name, or the other person's push name
    sa.Column("first_ms", sa.BigInteger, nullable=False),
    sa.Column("last_ms", sa.BigInteger, nullable=False),
    sa.Index("chats_last", "account", "last_ms"),
)

# Where the writer is in each stream it reads: written in the same transaction as the rows.
cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("stream", sa.String(64), primary_key=True),
    sa.Column("last_id", sa.String(40), nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)

VERSION_TABLE = "wagw_history_version"  # alembic's, named so that a shared database can tell
FTS_TABLE = "messages_fts"  # SQLite only: FTS5 over messages.text (the migration's triggers keep it)
