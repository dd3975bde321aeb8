"""The fake backend's inbound control messages (JSON on `wagw:fake:inbound`) -> wagw events.

Each message is one JSON object whose "type" names an event kind: the kinds table
(wagw.events.kinds, its `fake` column) maps it to the kind, and the kind's parser
(fake_inbound.parsers) reads the rest. docs/events.md "The fake backend's inbound formats"
lists every type and its fields (from the table, held to it by tests).

A type whose kind neonize 0.5.2 never passes on (message_deleted, label_edit,
label_association) is refused (Malformed, saying why): the real backend cannot make it.
A media message's direct_path, media_key, hashes, file_length and url are the fake's own,
derived from the message id and kind (fake_inbound.media): the fake's download_media serves
bytes whose sha256 is that file_sha256.
"chat" defaults to "sender" (a direct chat). "timestamp" is unix seconds, default now.
As with the neonize backend, a call offer carries no group (neonize does not pass it on: a
"group" key is refused) and a message, reaction, revoke, edit or receipt on
"status@broadcast" (status updates) becomes no event: to_event returns None and the message
is acknowledged without reaching the session.
Control messages (not WhatsApp events, handled by the fake backend itself): {"type": "crash"},
{"type": "disconnect", "reason": "logged_out"|"stream_replaced"|"temporary_ban"|"connect_failure"}
and {"type": "lid_pair", "lid", "pn"} (a pair the account's LID store learns: fake_lids).
"""

from __future__ import annotations

from typing import Any

from wagw import events
from wagw.events import KINDS, InboundEvent
from wagw.whatsapp.fake_inbound.fields import Malformed
from wagw.whatsapp.fake_inbound.media import FAKE_MEDIA_PREFIX, STAGED_DOWNLOADS, fake_media, fake_media_bytes
from wagw.whatsapp.fake_inbound.parsers import PARSERS

__all__ = [
    "CONTROL_TYPES",
    "FAKE_MEDIA_PREFIX",
    "KIND_OF_TYPE",
    "STAGED_DOWNLOADS",
    "Malformed",
    "fake_media",
    "fake_media_bytes",
    "to_event",
]

CONTROL_TYPES = ("crash", "disconnect", "lid_pair")
# Control message "type" -> its event kind (the table's `fake` column).
KIND_OF_TYPE = {kind.fake: kind for kind in KINDS.values()}


def to_event(data: Any) -> InboundEvent | None:
    """One parsed control message -> one wagw event, or None when WhatsApp's event is not one
    wagw delivers (a status update); raise Malformed when it cannot be."""
    if not isinstance(data, dict):
        raise Malformed("not a JSON object")
    type_ = data.get("type")
    kind = KIND_OF_TYPE.get(type_) if isinstance(type_, str) else None
    if kind is None:
        raise Malformed(f"unknown type {type_!r}")
    parser = PARSERS.get(kind.name)
    if parser is None:
        raise Malformed(
            f"type {type_!r}: neonize 0.5.2 never passes whatsmeow's {kind.whatsmeow} event on, "
            "so the real backend cannot produce it and neither does the fake"
        )
    chat = data.get("chat")
    if parser.drops_status and events.is_status_broadcast(chat if isinstance(chat, str) else None):
        return None
    return parser.parse(data)
