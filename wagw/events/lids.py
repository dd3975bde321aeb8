"""Phone numbers beside LIDs: every address in an event's payload that is a LID (`…@lid`)
becomes the phone-number JID when the account's device store knows the pair, with the LID
kept beside it; an unknown pair leaves the LID and lists it, never a guess.

This is what go-whatsapp-web-multidevice does (its NormalizeJIDFromLID, which asks whatsmeow's
store, Store.LIDs.GetPNForLID): `chat_id`/`chat_lid`, `from`/`from_lid`, group `jids` and
receipts, and `@mentions` in the text rewritten with its pattern. wagw adds the LIDs of group
changes beside their numbers (`jids_lid`, `by_lid`) and `unresolved_lids`.

The session runs it on every event before storing it (wagw.session.sink), with the backend's
lookup (Backend.pn_for_lid: whatsmeow's local store for neonize, the fake's own store). An
event's id does not depend on it: source keys name the address WhatsApp used.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from wagw.events.kinds import HISTORY_SYNC, KINDS, MESSAGE, UNRESOLVED_LIDS
from wagw.events.model import InboundEvent, is_lid, non_ad

# A LID JID -> its phone-number JID, or None when the store does not know the pair.
PhoneOf = Callable[[str], str | None]

# Payload fields that address a person or chat -> the field that keeps the LID beside the
# phone number (None: the body has none; its LID is in `from_lid`/`chat_lid` already).
ADDRESS_FIELDS: dict[str, str | None] = {
    "chat_id": "chat_lid",
    "from": "from_lid",
    "by": "by_lid",
    "jids": "jids_lid",  # a list: each member as WhatsApp named them (their LID), in the same order
    "original_sender": None,
    "revoked_chat": None,
}
# The sender's label: the push name, else the JID's user part, which follows `from`.
DISPLAY_NAME = "sender_display_name"
# The text whose @mentions are rewritten, in the kinds that carry it.
TEXT = "body"
# go-whatsapp-web-multidevice's mention pattern (`\B@\w+`, RE2's ASCII classes).
MENTION = re.compile(r"\B@(\w+)", re.ASCII)
# At most this many distinct @tags of one text are looked up (the handler stays fast even on
# a text made of tags); any more stay as written.
MAX_MENTION_LOOKUPS = 64


def with_phone_numbers(event: InboundEvent, phone_of: PhoneOf) -> InboundEvent:
    """The event with its LID addresses as phone numbers where `phone_of` knows them."""
    fields = KINDS[event.event].fields
    if UNRESOLVED_LIDS not in fields:
        return event  # a kind that names nobody by LID (newsletters, group.joined)
    if event.event == HISTORY_SYNC:
        return _history(event, phone_of)
    lookup = _Lookup(phone_of)
    payload: dict[str, Any] = {}
    for name, value in event.payload.items():
        payload[name] = value
        if name not in ADDRESS_FIELDS or value is None:
            continue
        beside = ADDRESS_FIELDS[name]
        if isinstance(value, list):
            pairs = [lookup.address(item) for item in value]
            payload[name] = [phone for phone, _ in pairs]
            if beside in fields and beside not in event.payload and any(lid for _, lid in pairs):
                # In the same order; one WhatsApp named by number keeps it (no nulls in a body).
                payload[beside] = [lid or item for (_, lid), item in zip(pairs, value, strict=True)]
        else:
            payload[name], lid = lookup.address(value)
            if lid and beside in fields and beside not in event.payload:
                payload[beside] = lid
    _display_name(event.payload, payload)
    if TEXT in fields and isinstance(payload.get(TEXT), str):
        payload[TEXT] = lookup.mentions(payload[TEXT], event.mentions)
    if lookup.unresolved:
        payload[UNRESOLVED_LIDS] = sorted(lookup.unresolved)
    return dataclasses.replace(event, payload=payload)


def _history(event: InboundEvent, phone_of: PhoneOf) -> InboundEvent:
    """A history.sync: its chat, and each of its messages as its own `message` event would be."""
    head = with_phone_numbers(
        dataclasses.replace(
            event,
            event=MESSAGE,
            payload={name: value for name, value in event.payload.items() if name in ("chat_id", "chat_lid")},
        ),
        phone_of,
    )
    unresolved = set(head.payload.get(UNRESOLVED_LIDS, ()))
    messages = []
    for item in event.payload.get("messages") or ():
        resolved = with_phone_numbers(InboundEvent(MESSAGE, "", item.get("timestamp"), payload=item), phone_of)
        unresolved.update(resolved.payload.get(UNRESOLVED_LIDS, ()))
        messages.append(resolved.payload)
    payload = {name: value for name, value in head.payload.items() if name != UNRESOLVED_LIDS}
    payload["messages"] = messages
    if unresolved:
        payload[UNRESOLVED_LIDS] = sorted(unresolved)
    return dataclasses.replace(event, payload=payload)


class _Lookup:
    """One event's lookups (each LID asked once) and the LIDs no pair was found for."""

    def __init__(self, phone_of: PhoneOf):
        self.phone_of = phone_of
        self.known: dict[str, str | None] = {}
        self.unresolved: set[str] = set()

    def phone(self, lid: str) -> str | None:
        if lid not in self.known:
            self.known[lid] = non_ad(self.phone_of(lid))
        return self.known[lid]

    def address(self, jid: str) -> tuple[str, str | None]:
        """(the phone-number JID when known, else the address as it was; its LID or None)."""
        if not is_lid(jid):
            return jid, None
        lid = non_ad(jid) or jid
        phone = self.phone(lid)
        if phone is None:
            self.unresolved.add(lid)
            return jid, lid
        return phone, lid

    def mentions(self, text: str, mentioned: tuple[str, ...]) -> str:
        """`@<LID user>` -> `@<phone number>` where the pair is known (each whole tag, as
        go-whatsapp does it); a LID the message says it mentions stays, listed, when not."""
        tags = list(dict.fromkeys(m.group(1) for m in MENTION.finditer(text) if m.group(1).isdigit()))
        numbers = {}
        for user in tags[:MAX_MENTION_LOOKUPS]:
            phone = self.phone(f"{user}@lid")
            if phone is not None:
                numbers[user] = phone.partition("@")[0]
        for jid in mentioned:
            user = jid.partition("@")[0].partition(":")[0]
            if is_lid(jid) and user in tags and user not in numbers:
                self.address(jid)  # no pair: listed as unresolved
        if not numbers:
            return text
        return MENTION.sub(lambda m: "@" + numbers.get(m.group(1), m.group(1)), text)


def _display_name(before: dict[str, Any], after: dict[str, Any]) -> None:
    """The label that was the LID's user part (no push name) becomes the number's."""
    sender, resolved = before.get("from"), after.get("from")
    label = before.get(DISPLAY_NAME)
    if not (sender and resolved and label) or sender == resolved:
        return
    if label == sender.partition("@")[0]:
        after[DISPLAY_NAME] = resolved.partition("@")[0]
