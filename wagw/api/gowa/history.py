"""go-whatsapp-web-multidevice's `GET /chats` and `GET /chat/{chat_jid}/messages`, answered
from wagw's history store (wagw.history) in that API's shapes, for the request's account.

The store is opened on the first such request (SQLAlchemy is loaded then, not at the API's
start) and kept on the app. Reads are blocking SQL: they run in a worker thread.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from wagw.addresses import normalize_target
from wagw.api.context import api_context
from wagw.api.dependencies import CurrentAccount
from wagw.api.envelope import ApiError, envelope, success
from wagw.api.gowa import answers
from wagw.api.gowa.reading import call_options, read_incoming
from wagw.api.gowa.requests import RequestInvalid, to_arguments

if TYPE_CHECKING:
    from wagw.api.gowa.model import Row
    from wagw.history import Store

CHATS = "history_chats"
MESSAGES = "history_messages"
DOWNLOAD = "download"


async def store_of(request: Request) -> Store:
    """The app's history store, opened once; 503 while the history process has made none."""
    from wagw import history

    state = request.app.state
    store: Store | None = getattr(state, "gowa_history", None)
    if store is None:
        try:
            store = await anyio.to_thread.run_sync(history.open_store, api_context(request).settings)
        except history.StoreMissing:
            raise ApiError(503, "HISTORY_NOT_READY", "no history store yet: the history process creates it") from None
        state.gowa_history = store
    return store


def _chats(store: Store, account: str, arguments: dict[str, Any]) -> dict[str, Any]:
    from wagw import history

    archived = arguments.pop("archived", None)
    found = history.gowa_chats(store, account=account, **arguments)
    if archived is True:  # wagw does not follow archiving: no chat is archived
        found["data"] = []
        found["pagination"]["total"] = 0
    return found


def _messages(store: Store, account: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
    from wagw import history

    chat = arguments.pop("chat_jid")
    return history.gowa_chat_messages(store, chat, account=account, **arguments)


def endpoint(row: Row) -> Any:
    async def read(request: Request, account: CurrentAccount) -> JSONResponse:
        incoming = await read_incoming(row, request)
        try:
            arguments, _ = to_arguments(row, incoming)
            if "chat_jid" in arguments:
                arguments["chat_jid"] = normalize_target(arguments["chat_jid"])
        except (RequestInvalid, ValueError) as error:
            return answers.invalid(str(error))
        store = await store_of(request)
        read_one = _chats if row.result == CHATS else _messages
        try:
            found = await anyio.to_thread.run_sync(functools.partial(read_one, store, account.name, arguments))
        except ValueError as error:  # a start_time or end_time that is no time
            return answers.invalid(str(error))
        if found is None:
            return envelope("NOT_FOUND", "Chat not found", status=404)
        return success(found, row.message)

    return read


def stored_message(store: Store, account: str, message_id: str, chat: str | None, *columns: str) -> Any:
    """`columns` of the account's message `message_id` as the history store has it (in `chat`,
    named by its phone-number JID or its LID, when given), or None when it has not seen it."""
    import sqlalchemy as sa

    from wagw.history.schema import messages

    where = (messages.c.account == account) & (messages.c.message_id == message_id)
    if chat:
        where = where & ((messages.c.chat == chat) | (messages.c.chat_lid == chat))
    with store.engine.connect() as conn:
        return conn.execute(sa.select(*(messages.c[name] for name in columns)).where(where)).first()


def _media_of(store: Store, account: str, message_id: str, chat: str | None) -> tuple[str, Any] | None:
    """(kind, the event's `media` object or None) of a message the store has, else None."""
    import json

    found = stored_message(store, account, message_id, chat, "kind", "media")
    if found is None:
        return None
    details = json.loads(found.media) if found.media else {}
    return found.kind, details.get("media") if isinstance(details, dict) else None


def download_endpoint(row: Row) -> Any:
    """The message's media, found by its id in the history store, downloaded by download_media."""

    async def download(request: Request, account: CurrentAccount) -> Response:
        incoming = await read_incoming(row, request)
        try:
            arguments, seen = to_arguments(row, incoming)
            chat = normalize_target(arguments["chat"]) if "chat" in arguments else None
        except (RequestInvalid, ValueError) as error:
            return answers.invalid(str(error))
        store = await store_of(request)
        message_id = arguments["message_id"]
        found = await anyio.to_thread.run_sync(_media_of, store, account.name, message_id, chat)
        if found is None:
            return envelope("NOT_FOUND", "message not found", {"message_id": message_id[:128]}, status=404)
        kind, media = found
        if not isinstance(media, dict):
            return answers.invalid(f"the message is a {kind} message: it has no media to download")
        caller = api_context(request).caller
        outcome = await caller.call(account, "download_media", {"media": media}, **call_options(request))
        return answers.answer(row, outcome, {**seen, "message_id": message_id, "media_type": kind})

    return download
