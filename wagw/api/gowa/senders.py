"""Who sent the message a call acts on, looked up in wagw's history store, as that API looks it
up in its own message store.

WhatsApp finds a message to react to, revoke, mark read or quote by its id and its sender.
That API's callers never say who the sender was, so for these calls the route reads the
message from the history store (if it has one) and fills the job's sender argument: this
account's own JID for a message it sent, else the message's `from`; and a quote's text. A
sender the request gives wins; a message the store has not seen leaves the job's own default
(docs/jobs.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from wagw import keys
from wagw.addresses import normalize_jid, normalize_target
from wagw.api.envelope import ApiError
from wagw.redisconn import as_text

if TYPE_CHECKING:
    from fastapi import Request

    from wagw.accounts import Account
    from wagw.history import Store


@dataclass(frozen=True)
class Lookup:
    message: str  # the job argument holding the message id (a list: its first id)
    sender: str  # the job argument to fill with its sender
    text: str | None = None  # the job argument to fill with its text (a quote's)


@dataclass(frozen=True)
class Found:
    from_me: bool
    sender: str | None
    text: str | None


# The operations whose sender argument is looked up, and where.
LOOKUPS = {
    "react": Lookup("message_id", "sender"),
    "revoke": Lookup("message_id", "sender"),
    "mark_read": Lookup("ids", "sender"),
    "send_text": Lookup("reply_to", "reply_to_sender", "reply_to_text"),
}


def filled(arguments: dict[str, Any], lookup: Lookup, found: Found | None, own_jid: str | None) -> dict[str, Any]:
    """The arguments with the sender (and text) the stored message gives, where not given."""
    if found is None or arguments.get(lookup.sender):
        return arguments
    made = dict(arguments)
    if found.from_me:
        if own_jid:  # this account's own message: its JID (the same as none for a revoke)
            made[lookup.sender] = own_jid
    elif found.sender:
        made[lookup.sender] = found.sender
    if lookup.text and found.text and not arguments.get(lookup.text):
        made[lookup.text] = found.text
    return made


def _find(store: Store, account: str, message_id: str, chat: str | None) -> Found | None:
    from wagw.api.gowa.history import stored_message

    row = stored_message(store, account, message_id, chat, "from_me", "sender", "text")
    return None if row is None else Found(bool(row.from_me), row.sender, row.text)


async def _own_jid(request: Request, account: Account) -> str | None:
    from wagw.api.context import api_context

    for raw in await api_context(request).aconn.hmget(keys.DEVICE_JIDS, account.roles()):
        text = as_text(raw)
        if text:
            try:
                return normalize_jid(text)  # its device part dropped: the account itself
            except ValueError:
                continue
    return None


async def with_senders(request: Request, account: Account, operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """`arguments`, their sender filled from the history store where the call needs one."""
    lookup = LOOKUPS.get(operation)
    if lookup is None or arguments.get(lookup.sender):
        return arguments
    message = arguments.get(lookup.message)
    message_id = message[0] if isinstance(message, list) and message else message
    if not isinstance(message_id, str) or not message_id:
        return arguments
    from wagw.api.gowa.history import store_of

    try:
        store = await store_of(request)
    except ApiError:  # no store yet: the job's own default
        return arguments
    try:
        chat: str | None = normalize_target(str(arguments.get("to") or arguments.get("chat") or ""))
    except ValueError:
        chat = None  # the job refuses it, naming it
    found = await anyio.to_thread.run_sync(_find, store, account.name, message_id, chat)
    own = await _own_jid(request, account) if found is not None and found.from_me else None
    return filled(arguments, lookup, found, own)
