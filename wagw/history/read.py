"""Reading the history store: typed rows, newest first, paged by cursor; and the two
functions that answer go-whatsapp-web-multidevice's `GET /chats` and
`GET /chat/{chat_jid}/messages` in that gateway's shape; and the stored events in order, for
a replay.

A cursor (`before=`) is the `cursor` of the last row of the page before: the next page holds
the rows older than it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from wagw.history.schema import FTS_TABLE, chats, events, messages, reactions, receipts, sends
from wagw.history.store import Store

MAX_LIMIT = 1000
T = TypeVar("T")


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(value: str | datetime) -> int:
    """ISO 8601 (UTC when no offset is given) -> unix ms."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _cursor(ms: int, seq: int) -> str:
    return f"{ms}.{seq}"


def _parse_cursor(cursor: str) -> tuple[int, int]:
    try:
        ms, _, seq = cursor.partition(".")
        return int(ms), int(seq or 0)
    except ValueError:
        raise ValueError(f"not a history cursor: {cursor!r} (use the `cursor` of a row)") from None


def _limit(limit: int) -> int:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return min(limit, MAX_LIMIT)


# Rows --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chat:
    account: str
    chat: str
    chat_lid: str | None
    name: str | None
    first_time: str | None
    last_time: str | None
    cursor: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Receipt:
    type: str
    reader: str
    time: str | None


@dataclass(frozen=True)
class Message:
    account: str
    chat: str
    chat_lid: str | None
    id: str
    sender: str | None
    sender_name: str | None
    from_me: bool
    time: str | None
    kind: str
    text: str | None
    media: dict[str, Any] | None
    reply_to: str | None
    edited_at: str | None
    revoked_at: str | None
    deleted_at: str | None
    job_id: str | None
    cursor: str
    reactions: dict[str, str] = field(default_factory=dict)  # reactor ("" = this account) -> emoji
    receipts: list[Receipt] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Send:
    job_id: str
    account: str
    operation: str
    chat: str | None
    message_id: str | None
    outcome: str
    error: str | None
    attempts: int
    enqueued_at: str | None
    started_at: str | None
    ended_at: str | None
    receipts: list[Receipt] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StoredEvent:
    """One event as the session appended it: `body` is the exact JSON text webhooks signed."""

    seq: int
    id: str
    account: str
    name: str
    time: str | None
    time_ms: int
    body: str
    mac: str | None = None  # the session's event MAC, as the entry carried it


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    next_cursor: str | None  # pass as `before` for the next (older) page; None: no more


# Reading -----------------------------------------------------------------------------------


def chats_page(store: Store, *, account: str | None = None, limit: int = 50, before: str | None = None) -> Page[Chat]:
    """Chats, the most recently active first."""
    limit = _limit(limit)
    query = _newest_first(chats, chats.c.last_ms, chats.c.chat, account=account, limit=limit, before=before)
    with store.engine.connect() as conn:
        found = list(conn.execute(query))
    rows = [
        Chat(r.account, r.chat, r.chat_lid, r.name, iso(r.first_ms), iso(r.last_ms), _cursor(r.last_ms, 0))
        for r in found[:limit]
    ]
    return Page(rows, rows[-1].cursor if len(found) > limit else None)


def _newest_first(
    table: sa.Table, time: sa.Column, key: sa.Column, *, account: str | None, limit: int, before: str | None
) -> sa.Select:
    """A page's query: newest `time` first, one row more than `limit` (to tell if a next page
    exists), older than the cursor `before`."""
    query = sa.select(table).order_by(time.desc(), key.desc()).limit(limit + 1)
    if account:
        query = query.where(table.c.account == account)
    if before:
        ms, _ = _parse_cursor(before)
        query = query.where(time < ms)
    return query


def _receipts_of(conn: sa.Connection, found: list[sa.Row]) -> dict[tuple[str, str], list[Receipt]]:
    """The receipts of the rows' messages, oldest first, by (account, message id): one query."""
    receipted: dict[tuple[str, str], list[Receipt]] = {}
    ids = sorted({r.message_id for r in found if r.message_id})
    if ids:
        owners = sorted({r.account for r in found})  # the table's key starts with the account
        query = (
            sa.select(receipts)
            .where(receipts.c.account.in_(owners) & receipts.c.message_id.in_(ids))
            .order_by(receipts.c.time_ms)
        )
        for r in conn.execute(query):
            receipted.setdefault((r.account, r.message_id), []).append(Receipt(r.type, r.reader, iso(r.time_ms)))
    return receipted


def messages_page(
    store: Store, chat: str, *, account: str | None = None, limit: int = 50, before: str | None = None
) -> Page[Message]:
    """A chat's newest messages up to `before`, in the order they were sent (oldest first);
    `chat` is its JID or LID as events give it."""
    return _message_page(store, messages.c.chat == _chat_address(store, chat, account), account, limit, before)


def _chat_address(store: Store, chat: str, account: str | None) -> str:
    """The address messages are stored under (`chat_id`) for a chat named by it or its LID:
    one indexed column to match, so a chat's newest page reads only its own rows."""
    where = chats.c.chat_lid == chat
    if account:
        where = where & (chats.c.account == account)
    with store.engine.connect() as conn:
        found = conn.execute(sa.select(chats.c.chat).where(where).limit(1)).scalar()
    return found or chat


def search_page(
    store: Store,
    text: str,
    *,
    account: str | None = None,
    chat: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> Page[Message]:
    """Messages whose text holds `text` (a phrase; SQLite: FTS5's tokens, else substring,
    case-insensitive), newest first."""
    if not text.strip():
        raise ValueError("search text is empty")
    where = _text_matches(store, text)
    if chat:
        where = where & (messages.c.chat == _chat_address(store, chat, account))
    page = _message_page(store, where, account, limit, before)
    return Page(list(reversed(page.rows)), page.next_cursor)


def _text_matches(store: Store, text: str) -> sa.ColumnElement[bool]:
    if store.has_fts():
        phrase = '"' + text.replace('"', '""') + '"'
        matching = sa.text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :phrase").bindparams(phrase=phrase)
        return messages.c.seq.in_(matching.columns(sa.column("rowid", sa.Integer)))
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return messages.c.text.ilike(f"%{escaped}%", escape="\\")


def _message_page(
    store: Store, where: sa.ColumnElement[bool], account: str | None, limit: int, before: str | None
) -> Page[Message]:
    limit = _limit(limit)
    if account:
        where = where & (messages.c.account == account)
    if before:
        ms, seq = _parse_cursor(before)
        where = where & ((messages.c.time_ms < ms) | ((messages.c.time_ms == ms) & (messages.c.seq < seq)))
    query = sa.select(messages).where(where).order_by(messages.c.time_ms.desc(), messages.c.seq.desc()).limit(limit + 1)
    with store.engine.connect() as conn:
        found = list(conn.execute(query))
        rows = _with_details(conn, found[:limit])
    next_cursor = rows[-1].cursor if len(found) > limit else None  # the oldest of the page
    return Page(list(reversed(rows)), next_cursor)


def _with_details(conn: sa.Connection, found: list[sa.Row]) -> list[Message]:
    """Messages with their reactions and receipts (two queries for the whole page)."""
    reacted: dict[tuple[str, str], dict[str, str]] = {}
    ids = sorted({r.message_id for r in found})
    owners = sorted({r.account for r in found})  # the table's key starts with the account
    if ids:
        query = sa.select(reactions).where(reactions.c.account.in_(owners) & reactions.c.message_id.in_(ids))
        for r in conn.execute(query):
            if r.emoji:
                reacted.setdefault((r.account, r.message_id), {})[r.reactor] = r.emoji
    receipted = _receipts_of(conn, found)
    return [
        Message(
            account=r.account,
            chat=r.chat,
            chat_lid=r.chat_lid,
            id=r.message_id,
            sender=r.sender,
            sender_name=r.sender_name,
            from_me=bool(r.from_me),
            time=iso(r.time_ms),
            kind=r.kind,
            text=r.text,
            media=json.loads(r.media) if r.media else None,
            reply_to=r.reply_to,
            edited_at=iso(r.edited_ms),
            revoked_at=iso(r.revoked_ms),
            deleted_at=iso(r.deleted_ms),
            job_id=r.job_id,
            cursor=_cursor(r.time_ms, r.seq),
            reactions=reacted.get((r.account, r.message_id), {}),
            receipts=receipted.get((r.account, r.message_id), []),
        )
        for r in found
    ]


def sends_page(store: Store, *, account: str | None = None, limit: int = 50, before: str | None = None) -> Page[Send]:
    """Sends, the latest ended first, each with the receipts its message got."""
    limit = _limit(limit)
    query = _newest_first(sends, sends.c.ended_ms, sends.c.job_id, account=account, limit=limit, before=before)
    with store.engine.connect() as conn:
        found = list(conn.execute(query))
        receipted = _receipts_of(conn, found)
    rows = [
        Send(
            r.job_id,
            r.account,
            r.operation,
            r.chat,
            r.message_id,
            r.outcome,
            r.error,
            r.attempts,
            iso(r.enqueued_ms),
            iso(r.started_ms),
            iso(r.ended_ms),
            receipted.get((r.account, r.message_id or ""), []),
        )
        for r in found[:limit]
    ]
    return Page(rows, _cursor(found[limit - 1].ended_ms, 0) if len(found) > limit else None)


def stored_events(
    store: Store,
    *,
    since: str | datetime,
    until: str | datetime | None = None,
    account: str | None = None,
    batch: int = 500,
) -> Iterator[StoredEvent]:
    """Every stored event with `since` <= time < `until`, oldest first (the order it happened,
    then the order it was stored), read `batch` at a time: what `wagw events replay` delivers."""
    low, high = parse_time(since), parse_time(until) if until is not None else None
    after: tuple[int, int] | None = None
    while True:
        where = events.c.time_ms >= low
        if high is not None:
            where = where & (events.c.time_ms < high)
        if account:
            where = where & (events.c.account == account)
        if after is not None:
            where = where & (
                (events.c.time_ms > after[0]) | ((events.c.time_ms == after[0]) & (events.c.seq > after[1]))
            )
        query = sa.select(events).where(where).order_by(events.c.time_ms, events.c.seq).limit(batch)
        with store.engine.connect() as conn:
            found = list(conn.execute(query))
        for r in found:
            yield StoredEvent(r.seq, r.id, r.account, r.name, iso(r.time_ms), r.time_ms, r.body, r.mac)
        if len(found) < batch:
            return
        after = (found[-1].time_ms, found[-1].seq)


def stored_event(store: Store, event_id: str) -> StoredEvent | None:
    with store.engine.connect() as conn:
        r = conn.execute(sa.select(events).where(events.c.id == event_id)).first()
    return None if r is None else StoredEvent(r.seq, r.id, r.account, r.name, iso(r.time_ms), r.time_ms, r.body, r.mac)


# go-whatsapp-web-multidevice's shapes ------------------------------------------------------


def gowa_chats(
    store: Store,
    *,
    account: str | None,
    limit: int = 25,
    offset: int = 0,
    search: str | None = None,
    has_media: bool = False,
) -> dict[str, Any]:
    """`GET /chats`'s `results`: {"data": [Chat…], "pagination": {limit, offset, total}}."""
    limit = min(max(limit, 1), 100)
    where: sa.ColumnElement[bool] = sa.true()
    if account:
        where = where & (chats.c.account == account)
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where = where & chats.c.name.ilike(f"%{escaped}%", escape="\\")
    if has_media:
        media = sa.select(messages.c.chat).where(
            (messages.c.account == chats.c.account) & (messages.c.chat == chats.c.chat) & (messages.c.kind.in_(MEDIA))
        )
        where = where & sa.exists(media)
    with store.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(chats).where(where)).scalar() or 0
        found = conn.execute(
            sa.select(chats)
            .where(where)
            .order_by(chats.c.last_ms.desc(), chats.c.chat)
            .limit(limit)
            .offset(max(offset, 0))
        )
        data = [_gowa_chat(r) for r in found]
    return {"data": data, "pagination": {"limit": limit, "offset": max(offset, 0), "total": total}}


MEDIA = ("image", "video", "audio", "document", "sticker", "video_note")


def _gowa_chat(r: sa.Row) -> dict[str, Any]:
    return {
        "jid": r.chat,
        "name": r.name or r.chat.split("@", 1)[0],
        "last_message_time": iso(r.last_ms),
        "ephemeral_expiration": 0,
        "created_at": iso(r.first_ms),
        "updated_at": iso(r.last_ms),
        "archived": False,
    }


def gowa_chat_messages(
    store: Store,
    chat_jid: str,
    *,
    account: str | None,
    limit: int = 50,
    offset: int = 0,
    start_time: str | None = None,
    end_time: str | None = None,
    media_only: bool = False,
    is_from_me: bool | None = None,
    search: str | None = None,
) -> dict[str, Any] | None:
    """`GET /chat/{chat_jid}/messages`'s `results`: {"data": [ChatMessage…] newest first,
    "pagination": {limit, offset, total}, "chat_info": Chat}; None when the chat is unknown (404)."""
    limit = min(max(limit, 1), 100)
    with store.engine.connect() as conn:
        chat_where = (chats.c.chat == chat_jid) | (chats.c.chat_lid == chat_jid)
        if account:
            chat_where = chat_where & (chats.c.account == account)
        chat = conn.execute(sa.select(chats).where(chat_where)).first()
        if chat is None:
            return None
        where = (messages.c.account == chat.account) & (messages.c.chat == chat.chat)
        if start_time:
            where = where & (messages.c.time_ms >= parse_time(start_time))
        if end_time:
            where = where & (messages.c.time_ms <= parse_time(end_time))
        if media_only:
            where = where & messages.c.kind.in_(MEDIA)
        elif is_from_me is not None:
            where = where & (messages.c.from_me == is_from_me)
        if search:
            where = where & _text_matches(store, search)
        total = conn.execute(sa.select(sa.func.count()).select_from(messages).where(where)).scalar() or 0
        found = list(
            conn.execute(
                sa.select(messages)
                .where(where)
                .order_by(messages.c.time_ms.desc(), messages.c.seq.desc())
                .limit(limit)
                .offset(max(offset, 0))
            )
        )
        rows = _with_details(conn, found)
    return {
        "data": [_gowa_message(m) for m in rows],
        "pagination": {"limit": limit, "offset": max(offset, 0), "total": total},
        "chat_info": _gowa_chat(chat),
    }


def _gowa_message(m: Message) -> dict[str, Any]:
    found = (m.media or {}).get(m.kind)
    detail: dict[str, Any] = found if isinstance(found, dict) else {}
    return {
        "id": m.id,
        "chat_jid": m.chat,
        "sender_jid": m.sender or "",
        "sender_display_name": m.sender_name or (m.sender or "").split("@", 1)[0],
        "content": m.text or "",
        "timestamp": m.time,
        "is_from_me": m.from_me,
        "media_type": m.kind if m.kind in MEDIA else None,
        "reactions": [{"emoji": emoji, "sender_jid": who} for who, emoji in m.reactions.items()],
        "filename": detail.get("filename") if m.kind in MEDIA else None,
        "url": detail.get("url") if m.kind in MEDIA else None,
        "file_length": detail.get("file_length") if m.kind in MEDIA else None,
        "created_at": m.time,
        "updated_at": m.edited_at or m.revoked_at or m.time,
    }
