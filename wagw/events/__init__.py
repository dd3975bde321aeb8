"""wagw's event model: one JSON event per inbound WhatsApp event (SPEC "Inbound events").

Both backends build events only through the constructors here (the neonize backend from
protos, the fake from its JSON control messages), so the same WhatsApp event gives the same
JSON whichever backend saw it. The body is wire-compatible with go-whatsapp-web-multidevice's
webhook payload (docs/webhook-payload.md there), plus a top-level stable `id`.

The kinds, and all that each one carries and comes from, are one table: wagw.events.kinds.
Pure Python: nothing here imports neonize.
"""

from __future__ import annotations

from wagw.events.appstate import LABEL_EDIT_FIELDS, label_association, label_edit, message_deleted
from wagw.events.calls import call_offer
from wagw.events.content import (
    DOWNLOAD_FIELDS,
    MEDIA_KINDS,
    REFERRAL_CHOICES,
    REFERRAL_FLAGS,
    REFERRAL_TEXTS,
    contact_card,
    download_object,
    live_location,
    location,
    poll,
    referral,
    vcard_phone,
)
from wagw.events.groups import GROUP_JOIN_REASONS, PARTICIPANT_CHANGES, group_joined, group_participants
from wagw.events.kinds import (
    ACK,
    CALL_OFFER,
    CHAT_PRESENCE,
    DELETED,
    EDITED,
    EVENT_NAMES,
    GROUP_JOINED,
    GROUP_PARTICIPANTS,
    KINDS,
    LABEL_ASSOCIATION,
    LABEL_EDIT,
    MESSAGE,
    NEWSLETTER_JOINED,
    NEWSLETTER_LEFT,
    NEWSLETTER_MESSAGE,
    NEWSLETTER_MUTE,
    NOT_FROM_NEONIZE,
    REACTION,
    REVOKED,
    UNRESOLVED_LIDS,
    EventKind,
)
from wagw.events.messages import RECEIPT_DESCRIPTIONS, edited, message, reaction, receipt, revoked
from wagw.events.model import (
    STATUS_BROADCAST,
    InboundEvent,
    build_body,
    display_name,
    event_id,
    is_lid,
    is_status_broadcast,
    iso_time,
    non_ad,
)
from wagw.events.newsletters import (
    NEWSLETTER_MUTE_STATES,
    NEWSLETTER_ROLES,
    NEWSLETTER_SERVER,
    newsletter_joined,
    newsletter_left,
    newsletter_message,
    newsletter_mute,
    newsletter_post,
)
from wagw.events.presence import CHAT_PRESENCE_MEDIA, CHAT_PRESENCE_STATES, chat_presence

__all__ = [
    "ACK",
    "CALL_OFFER",
    "CHAT_PRESENCE",
    "CHAT_PRESENCE_MEDIA",
    "CHAT_PRESENCE_STATES",
    "DELETED",
    "DOWNLOAD_FIELDS",
    "EDITED",
    "EVENT_NAMES",
    "GROUP_JOINED",
    "GROUP_JOIN_REASONS",
    "GROUP_PARTICIPANTS",
    "KINDS",
    "LABEL_ASSOCIATION",
    "LABEL_EDIT",
    "LABEL_EDIT_FIELDS",
    "MEDIA_KINDS",
    "MESSAGE",
    "NEWSLETTER_JOINED",
    "NEWSLETTER_LEFT",
    "NEWSLETTER_MESSAGE",
    "NEWSLETTER_MUTE",
    "NEWSLETTER_MUTE_STATES",
    "NEWSLETTER_ROLES",
    "NEWSLETTER_SERVER",
    "NOT_FROM_NEONIZE",
    "PARTICIPANT_CHANGES",
    "REACTION",
    "RECEIPT_DESCRIPTIONS",
    "REFERRAL_CHOICES",
    "REFERRAL_FLAGS",
    "REFERRAL_TEXTS",
    "REVOKED",
    "STATUS_BROADCAST",
    "UNRESOLVED_LIDS",
    "EventKind",
    "InboundEvent",
    "build_body",
    "call_offer",
    "chat_presence",
    "contact_card",
    "display_name",
    "download_object",
    "edited",
    "event_id",
    "group_joined",
    "group_participants",
    "is_lid",
    "is_status_broadcast",
    "iso_time",
    "label_association",
    "label_edit",
    "live_location",
    "location",
    "message",
    "message_deleted",
    "newsletter_joined",
    "newsletter_left",
    "newsletter_message",
    "newsletter_mute",
    "newsletter_post",
    "non_ad",
    "poll",
    "reaction",
    "receipt",
    "referral",
    "revoked",
    "vcard_phone",
]
