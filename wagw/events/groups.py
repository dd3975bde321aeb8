"""Constructors of the group events: `group.participants` and `group.joined`."""

from __future__ import annotations

from typing import Any

from wagw.events.kinds import GROUP_JOINED, GROUP_PARTICIPANTS
from wagw.events.model import InboundEvent, iso_time, moment, non_ad, seen_at, to_iso

PARTICIPANT_CHANGES = ("join", "leave", "promote", "demote")
# whatsmeow's JoinedGroup.Reason: "" when added by someone, "invite" through an invite link.
GROUP_JOIN_REASONS = ("", "invite")


def group_participants(
    *,
    chat: str,
    change: str,
    jids: list[str],
    timestamp: float | int | str | None,
    sender: str | None = None,
) -> InboundEvent:
    """A `group.participants` event: change is join, leave, promote or demote."""
    if change not in PARTICIPANT_CHANGES:
        raise ValueError(f"unknown participant change {change!r}")
    members = [non_ad(jid) or "" for jid in jids]
    payload: dict[str, Any] = {"chat_id": non_ad(chat), "type": change, "jids": members}
    if sender:
        payload["by"] = non_ad(sender)
    ts = to_iso(timestamp)
    key = f"group:{non_ad(chat)}:{change}:{','.join(sorted(members))}:{ts}"
    return InboundEvent(GROUP_PARTICIPANTS, key, ts, payload)


def group_joined(
    *,
    chat: str,
    reason: str = "",
    group_name: str | None = None,
    version: str | None = None,
    timestamp: float | int | None = None,
    instance: str | None = None,
) -> InboundEvent:
    """A `group.joined`: this account was added to, or joined, a group. `reason` is whatsmeow's
    ("invite" through an invite link, "" when added), `jids` the account itself (filled in by
    build_body). WhatsApp gives no time: `timestamp` is when the session saw it. `version` is
    the group's participant version after the join, which tells this join apart for good."""
    group = non_ad(chat) or ""
    if not group.endswith("@g.us"):
        raise ValueError(f"not a group JID: {chat!r}")
    unix = seen_at(timestamp)
    payload: dict[str, Any] = {"chat_id": group, "type": "join", "jids": [], "reason": reason or ""}
    if group_name:
        payload["group_name"] = group_name
    key = f"group:{group}:joined:{version or moment(unix, instance)}"
    return InboundEvent(GROUP_JOINED, key, iso_time(unix), payload)
