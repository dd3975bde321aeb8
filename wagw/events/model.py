"""One event as wagw holds it (InboundEvent), its stable id and its JSON body, and the JID and
time rules every constructor follows."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wagw.accounts import DEFAULT
from wagw.events.kinds import GROUP_JOINED

# Where WhatsApp status updates (stories) arrive: not messages to the account, never events.
STATUS_BROADCAST = "status@broadcast"


@dataclass(frozen=True)
class InboundEvent:
    """One WhatsApp event, already in wagw's model (SPEC: event name and payload).

    `source_key` identifies the WhatsApp event itself (e.g. "message:<chat>:<msg id>"), so
    the same event redelivered by WhatsApp yields the same wagw event id.
    """

    event: str
    source_key: str
    timestamp: str | None  # ISO 8601, UTC, "Z"; None when WhatsApp gave none
    payload: dict[str, Any] = field(default_factory=dict)
    # The people the text @mentions, as WhatsApp lists them (its contextInfo.mentionedJID):
    # not in the body, but tells a LID mention from a number (wagw.events.lids).
    mentions: tuple[str, ...] = ()


def iso_time(unix: float | int | None) -> str | None:
    """Unix seconds (or milliseconds) -> ISO 8601 UTC with "Z"; None/0 -> None."""
    if not unix:
        return None
    if unix > 10**11:  # milliseconds
        unix = unix / 1000
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def to_iso(value: float | int | str | None) -> str | None:
    """A time as given (ISO text, kept) or unix seconds/milliseconds -> ISO text; empty -> None."""
    if isinstance(value, str):
        return value or None
    return iso_time(value)


def seen_at(value: float | int | None) -> float:
    """Event time for events WhatsApp gives no time for: the caller's clock (the session's)."""
    return float(value) if value else datetime.now(UTC).timestamp()


def moment(unix: float, instance: str | None) -> str:
    """What tells apart two such events in their source key: the time to the millisecond, or
    `instance` when the caller has something steadier (the fake: its control message, so that
    a message handed over again after a restart keeps its id)."""
    return instance or str(round(unix * 1000))


# Identity and body ----------------------------------------------------------------------


def event_id(device_id: str | None, source_key: str) -> str:
    """Stable id of one WhatsApp event as seen by one account: same inputs, same id.

    32 hex chars (128 bits of SHA-256) of "<device>\\n<source key>"; the device part keeps
    two accounts that see the same group message apart.
    """
    digest = hashlib.sha256(f"{device_id or ''}\n{source_key}".encode()).hexdigest()
    return digest[:32]


def build_body(event: InboundEvent, device_id: str | None, account: str = DEFAULT) -> tuple[str, str]:
    """(event id, JSON body) for one event; the body is what webhooks sign and deliver."""
    eid = event_id(device_id, event.source_key)
    body: dict[str, Any] = {"event": event.event, "device_id": device_id or "", "account": account, "id": eid}
    if event.timestamp:
        body["timestamp"] = event.timestamp
    payload = event.payload
    if event.event == GROUP_JOINED:
        # go-whatsapp's `jids` of a group.joined is the account itself, which only the body knows.
        payload = {**payload, "jids": [non_ad(device_id)] if device_id else []}
    body["payload"] = payload
    return eid, json.dumps(body, ensure_ascii=False, separators=(",", ":"))


# JIDs -------------------------------------------------------------------------------------


def non_ad(jid: str | None) -> str | None:
    """Drop the device part of a JID ("1555…:12@s.whatsapp.net" -> "1555…@s.whatsapp.net")."""
    if not jid:
        return jid
    user, at, server = jid.partition("@")
    if not at:
        return jid
    user = user.split(":", 1)[0]
    if server != "lid":
        user = user.split(".", 1)[0]  # agent suffix ("1555….0:3")
    return f"{user}@{server}"


def is_status_broadcast(chat: str | None) -> bool:
    return non_ad(chat) == STATUS_BROADCAST


def is_lid(jid: str | None) -> bool:
    return bool(jid and jid.endswith("@lid"))


def split_lid(jid: str, alt: str | None) -> tuple[str, str | None]:
    """(phone-number JID if known else the JID as given, LID or None)."""
    jid, alt = non_ad(jid) or "", non_ad(alt)
    if is_lid(jid):
        return (alt if alt and not is_lid(alt) else jid), jid
    if alt and is_lid(alt):
        return jid, alt
    return jid, None


def display_name(sender: str, push_name: str | None) -> str:
    """go-whatsapp's best-effort sender label: the push name, else the JID's user part.

    Its saved-contact lookup is left out on purpose: the session handler makes no native
    calls beyond the one that delivered the event (docs/events.md).
    """
    return push_name or sender.split("@", 1)[0]


def sender_fields(sender: str, sender_alt: str | None, push_name: str | None = None) -> tuple[dict[str, Any], str]:
    """(`from`, `from_lid` when WhatsApp addressed the sender by LID, `sender_display_name`
    when there is a sender; the sender as its source key names it: the LID when known)."""
    sender, sender_lid = split_lid(sender, sender_alt)
    fields: dict[str, Any] = {"from": sender}
    if sender_lid:
        fields["from_lid"] = sender_lid
    if sender:
        fields["sender_display_name"] = display_name(sender, push_name)
    return fields, sender_lid or sender
