"""Constructor of `call.offer`."""

from __future__ import annotations

from typing import Any

from wagw.events.kinds import CALL_OFFER
from wagw.events.model import InboundEvent, sender_fields, to_iso


def call_offer(
    *,
    call_id: str,
    sender: str,
    timestamp: float | int | str | None,
    remote_platform: str | None = None,
    remote_version: str | None = None,
    sender_alt: str | None = None,
) -> InboundEvent:
    """A `call.offer`. No `group_jid`: neonize does not pass on whatsmeow's group of a call."""
    payload: dict[str, Any] = {"call_id": call_id, **sender_fields(sender, sender_alt)[0]}
    payload["auto_rejected"] = False
    if remote_platform:
        payload["remote_platform"] = remote_platform
    if remote_version:
        payload["remote_version"] = remote_version
    return InboundEvent(CALL_OFFER, f"call:{call_id}:offer", to_iso(timestamp), payload)
