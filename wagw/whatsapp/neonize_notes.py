"""What the session notes from neonize's inbound events for later sends: who created a call
offer (wagw.calls). Reads the protos by field name only and never imports neonize, like
neonize_events; the backend hands each inbound event here before mapping it."""

from __future__ import annotations

from typing import Any

from wagw.whatsapp.neonize_content import has_field, jid_str


def call_offer(event: Any) -> tuple[str, str, str | None] | None:
    """A CallOffer's (call id, creator, creator's other address), as WhatsApp gave them;
    None when it names no creator."""
    meta = event.basicCallMeta
    creator = jid_str(meta.callCreator) if has_field(meta, "callCreator") else None
    creator = creator or jid_str(getattr(meta, "from"))  # "from" is a Python keyword
    if not creator or not meta.callID:
        return None
    alt = jid_str(meta.callCreatorAlt) if has_field(meta, "callCreatorAlt") else None
    return meta.callID, creator, alt
