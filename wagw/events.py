"""wagw's event model: one JSON event per inbound WhatsApp event (SPEC "Inbound events").

Both backends build events only through the constructors here (the neonize backend from
protos, the fake from its JSON control messages), so the same WhatsApp event gives the same
JSON whichever backend saw it. The body is wire-compatible with go-whatsapp-web-multidevice's
webhook payload (docs/webhook-payload.md there), plus a top-level stable `id`.

Pure Python: nothing here imports neonize.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MESSAGE = "message"
REACTION = "message.reaction"
REVOKED = "message.revoked"
EDITED = "message.edited"
ACK = "message.ack"
GROUP_PARTICIPANTS = "group.participants"
GROUP_JOINED = "group.joined"
CALL_OFFER = "call.offer"
CHAT_PRESENCE = "chat_presence"
DELETED = "message.deleted"
LABEL_EDIT = "label.edit"
LABEL_ASSOCIATION = "label.association"
NEWSLETTER_JOINED = "newsletter.joined"
NEWSLETTER_LEFT = "newsletter.left"
NEWSLETTER_MESSAGE = "newsletter.message"
NEWSLETTER_MUTE = "newsletter.mute"

EVENT_NAMES = (
    MESSAGE,
    REACTION,
    REVOKED,
    EDITED,
    DELETED,
    ACK,
    CHAT_PRESENCE,
    GROUP_PARTICIPANTS,
    GROUP_JOINED,
    LABEL_EDIT,
    LABEL_ASSOCIATION,
    NEWSLETTER_JOINED,
    NEWSLETTER_LEFT,
    NEWSLETTER_MESSAGE,
    NEWSLETTER_MUTE,
    CALL_OFFER,
)
# whatsmeow reports these through app-state sync (DeleteForMe, LabelEdit,
# LabelAssociationChat), which goneonize (neonize 0.5.2) never hands to Python: their
# constructors exist for the day it does, but no backend produces them (docs/events.md).
NOT_FROM_NEONIZE = (DELETED, LABEL_EDIT, LABEL_ASSOCIATION)

# Same wording as go-whatsapp-web-multidevice, so consumers that show it keep working.
RECEIPT_DESCRIPTIONS = {
    "delivered": "means the message was delivered to the device (but the user might not have noticed).",
    "sender": "sent by your other devices when a message you sent is delivered to them.",
    "retry": "the message was delivered to the device, but decrypting the message failed.",
    "read": "the user opened the chat and saw the message.",
    "read-self": "the current user read a message from a different device, and has read receipts "
    "disabled in privacy settings.",
    "played": "the media was played (dispatched for both incoming and outgoing messages).",
    "played-self": "the current user opened a view-once media message from a different device, and has "
    "read receipts disabled in privacy settings.",
}

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker", "video_note")
# Where WhatsApp status updates (stories) arrive: not messages to the account, never events.
STATUS_BROADCAST = "status@broadcast"
PARTICIPANT_CHANGES = ("join", "leave", "promote", "demote")
# whatsmeow's JoinedGroup.Reason: "" when added by someone, "invite" through an invite link.
GROUP_JOIN_REASONS = ("", "invite")
CHAT_PRESENCE_STATES = ("composing", "paused")
CHAT_PRESENCE_MEDIA = ("", "audio")  # whatsmeow's ChatPresenceMediaText is ""
NEWSLETTER_ROLES = ("subscriber", "guest", "admin", "owner")
NEWSLETTER_MUTE_STATES = ("on", "off")
NEWSLETTER_SERVER = "newsletter"


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


def iso_time(unix: float | int | None) -> str | None:
    """Unix seconds (or milliseconds) -> ISO 8601 UTC with "Z"; None/0 -> None."""
    if not unix:
        return None
    if unix > 10**11:  # milliseconds
        unix = unix / 1000
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# Identity and body ----------------------------------------------------------------------


def event_id(device_id: str | None, source_key: str) -> str:
    """Stable id of one WhatsApp event as seen by one account: same inputs, same id.

    32 hex chars (128 bits of SHA-256) of "<device>\\n<source key>"; the device part keeps
    two accounts that see the same group message apart.
    """
    digest = hashlib.sha256(f"{device_id or ''}\n{source_key}".encode()).hexdigest()
    return digest[:32]


def build_body(event: InboundEvent, device_id: str | None, account: str = "default") -> tuple[str, str]:
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


def _time(value: float | int | str | None) -> str | None:
    if isinstance(value, str):
        return value or None
    return iso_time(value)


# Constructors -----------------------------------------------------------------------------


def _message_head(
    *,
    id: str,
    chat: str,
    sender: str,
    timestamp: float | int | str | None,
    is_from_me: bool,
    push_name: str | None,
    chat_alt: str | None,
    sender_alt: str | None,
) -> tuple[dict[str, Any], str | None]:
    """The fields every message-like event starts with (go-whatsapp's buildFromFields).

    WhatsApp may address a chat or sender by LID; the phone-number form (when known, as in
    neonize's SenderAlt) goes in chat_id/from and the LID in chat_lid/from_lid.
    """
    payload: dict[str, Any] = {"id": id}
    chat, chat_lid = _split_lid(chat, chat_alt)
    payload["chat_id"] = chat
    if chat_lid:
        payload["chat_lid"] = chat_lid
    sender, sender_lid = _split_lid(sender, sender_alt)
    payload["from"] = sender
    if sender_lid:
        payload["from_lid"] = sender_lid
    if sender:
        payload["sender_display_name"] = display_name(sender, push_name)
    if push_name:
        payload["from_name"] = push_name
    ts = _time(timestamp)
    payload["timestamp"] = ts
    payload["is_from_me"] = bool(is_from_me)
    return payload, ts


def display_name(sender: str, push_name: str | None) -> str:
    """go-whatsapp's best-effort sender label: the push name, else the JID's user part.

    Its saved-contact lookup is left out on purpose: the session handler makes no native
    calls beyond the one that delivered the event (docs/events.md).
    """
    return push_name or sender.split("@", 1)[0]


def _split_lid(jid: str, alt: str | None) -> tuple[str, str | None]:
    """(phone-number JID if known else the JID as given, LID or None)."""
    jid, alt = non_ad(jid) or "", non_ad(alt)
    if is_lid(jid):
        return (alt if alt and not is_lid(alt) else jid), jid
    if alt and is_lid(alt):
        return jid, alt
    return jid, None


def _message_key(chat: str, id: str) -> str:
    return f"message:{non_ad(chat)}:{id}"


def message(
    *,
    id: str,
    chat: str,
    sender: str,
    timestamp: float | int | str | None,
    is_from_me: bool = False,
    push_name: str | None = None,
    chat_alt: str | None = None,
    sender_alt: str | None = None,
    body: str | None = None,
    replied_to_id: str | None = None,
    quoted_body: str | None = None,
    media: tuple[str, dict[str, Any]] | None = None,
    forwarded: bool = False,
    view_once: bool = False,
    extra: dict[str, Any] | None = None,
) -> InboundEvent:
    """A `message` event. `media` is (kind, object) with kind in MEDIA_KINDS; the object's
    `caption` also becomes `body` when there is no text (as go-whatsapp does)."""
    payload, ts = _message_head(
        id=id,
        chat=chat,
        sender=sender,
        timestamp=timestamp,
        is_from_me=is_from_me,
        push_name=push_name,
        chat_alt=chat_alt,
        sender_alt=sender_alt,
    )
    if not body and media and media[1].get("caption"):
        body = media[1]["caption"]
    if body:
        payload["body"] = body
    if replied_to_id:
        payload["replied_to_id"] = replied_to_id
    if quoted_body:
        payload["quoted_body"] = quoted_body
    if view_once:
        payload["view_once"] = True
    if forwarded:
        payload["forwarded"] = True
    if media:
        kind, obj = media
        if kind not in MEDIA_KINDS:
            raise ValueError(f"unknown media kind {kind!r}")
        payload[kind] = {k: v for k, v in obj.items() if v not in (None, "")}
        download = download_object(kind, obj)
        if download is not None:
            payload["media"] = download
    if extra:
        payload.update(extra)
    return InboundEvent(MESSAGE, _message_key(chat, id), ts, payload)


# What download_media needs of a media message (docs/events.md "The media object").
DOWNLOAD_FIELDS = ("mime_type", "direct_path", "media_key", "file_sha256", "file_enc_sha256", "file_length")


def download_object(kind: str, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The payload's top-level `media` object, the argument of download_media: the kind and
    what WhatsApp needs to find, decrypt and verify the file. None when the message lacks a
    direct path, key, encrypted hash or length (nothing download_media could fetch)."""
    if not all(obj.get(name) for name in ("direct_path", "media_key", "file_enc_sha256", "file_length")):
        return None
    media: dict[str, Any] = {"kind": kind}
    for name in DOWNLOAD_FIELDS:
        if obj.get(name) not in (None, ""):
            media[name] = obj[name]
    return media


def reaction(
    *,
    id: str,
    chat: str,
    sender: str,
    timestamp: float | int | str | None,
    emoji: str,
    target_id: str,
    is_from_me: bool = False,
    push_name: str | None = None,
    chat_alt: str | None = None,
    sender_alt: str | None = None,
) -> InboundEvent:
    """A `message.reaction`; an empty emoji means the reaction was removed."""
    payload, ts = _message_head(
        id=id,
        chat=chat,
        sender=sender,
        timestamp=timestamp,
        is_from_me=is_from_me,
        push_name=push_name,
        chat_alt=chat_alt,
        sender_alt=sender_alt,
    )
    payload["reaction"] = emoji
    payload["reacted_message_id"] = target_id
    return InboundEvent(REACTION, _message_key(chat, id), ts, payload)


def revoked(
    *,
    id: str,
    chat: str,
    sender: str,
    timestamp: float | int | str | None,
    revoked_message_id: str,
    revoked_from_me: bool = False,
    revoked_chat: str | None = None,
    is_from_me: bool = False,
    push_name: str | None = None,
    chat_alt: str | None = None,
    sender_alt: str | None = None,
) -> InboundEvent:
    payload, ts = _message_head(
        id=id,
        chat=chat,
        sender=sender,
        timestamp=timestamp,
        is_from_me=is_from_me,
        push_name=push_name,
        chat_alt=chat_alt,
        sender_alt=sender_alt,
    )
    payload["revoked_message_id"] = revoked_message_id
    payload["revoked_from_me"] = bool(revoked_from_me)
    if revoked_chat:
        payload["revoked_chat"] = revoked_chat
    return InboundEvent(REVOKED, _message_key(chat, id), ts, payload)


def edited(
    *,
    id: str,
    chat: str,
    sender: str,
    timestamp: float | int | str | None,
    original_message_id: str,
    body: str | None,
    is_from_me: bool = False,
    push_name: str | None = None,
    chat_alt: str | None = None,
    sender_alt: str | None = None,
) -> InboundEvent:
    payload, ts = _message_head(
        id=id,
        chat=chat,
        sender=sender,
        timestamp=timestamp,
        is_from_me=is_from_me,
        push_name=push_name,
        chat_alt=chat_alt,
        sender_alt=sender_alt,
    )
    payload["original_message_id"] = original_message_id
    if body:
        payload["body"] = body
    return InboundEvent(EDITED, _message_key(chat, id), ts, payload)


def receipt(
    *,
    ids: list[str],
    chat: str,
    sender: str,
    receipt_type: str,
    timestamp: float | int | str | None,
    sender_alt: str | None = None,
) -> InboundEvent:
    """A `message.ack`. whatsmeow's empty receipt type is "delivered".

    The source key leaves the time out: a receipt is identified by who acknowledged which
    messages how, and the fake may omit the time on a redelivered receipt.
    """
    receipt_type = receipt_type or "delivered"
    payload: dict[str, Any] = {"ids": list(ids)}
    chat_id, _chat_lid = _split_lid(chat, None)
    payload["chat_id"] = chat_id
    sender, sender_lid = _split_lid(sender, sender_alt)
    payload["from"] = sender
    if sender_lid:
        payload["from_lid"] = sender_lid
    if sender:
        payload["sender_display_name"] = display_name(sender, None)
    payload["receipt_type"] = receipt_type
    payload["receipt_type_description"] = RECEIPT_DESCRIPTIONS.get(receipt_type, "unknown receipt type")
    key = f"receipt:{chat_id}:{sender_lid or sender}:{receipt_type}:{','.join(sorted(ids))}"
    return InboundEvent(ACK, key, _time(timestamp), payload)


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
    ts = _time(timestamp)
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
    unix = _unix(timestamp)
    payload: dict[str, Any] = {"chat_id": group, "type": "join", "jids": [], "reason": reason or ""}
    if group_name:
        payload["group_name"] = group_name
    key = f"group:{group}:joined:{version or _when(unix, instance)}"
    return InboundEvent(GROUP_JOINED, key, iso_time(unix), payload)


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
    sender, sender_lid = _split_lid(sender, sender_alt)
    payload: dict[str, Any] = {"call_id": call_id, "from": sender}
    if sender_lid:
        payload["from_lid"] = sender_lid
    if sender:
        payload["sender_display_name"] = display_name(sender, None)
    payload["auto_rejected"] = False
    if remote_platform:
        payload["remote_platform"] = remote_platform
    if remote_version:
        payload["remote_version"] = remote_version
    return InboundEvent(CALL_OFFER, f"call:{call_id}:offer", _time(timestamp), payload)


# Message content ----------------------------------------------------------------------------
# The shapes of a message's non-media content, under go-whatsapp-web-multidevice's names; both
# backends build them here so that a location from neonize and from the fake are the same JSON.


def location(latitude: float, longitude: float, name: str | None = None, address: str | None = None) -> dict:
    """`location`: the fields of WhatsApp's LocationMessage that gateway's docs show."""
    found: dict[str, Any] = {"degreesLatitude": float(latitude), "degreesLongitude": float(longitude)}
    if name:
        found["name"] = name
    if address:
        found["address"] = address
    return found


def live_location(latitude: float, longitude: float) -> dict:
    return {"degreesLatitude": float(latitude), "degreesLongitude": float(longitude)}


def contact_card(display_name: str, vcard: str) -> dict:
    """`contact` (and each of `contacts_array`): name, vCard, and the vCard's first phone
    number as `phone_number` (omitted when it has none), as that gateway sends it."""
    card: dict[str, Any] = {"displayName": display_name, "vcard": vcard}
    phone = vcard_phone(vcard)
    if phone:
        card["phone_number"] = phone
    return card


def vcard_phone(vcard: str) -> str | None:
    """The value of a vCard's first TEL line (folded lines joined), or None."""
    lines: list[str] = []
    for raw in vcard.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not raw.strip():
            continue
        if raw[:1] in (" ", "\t") and lines:  # RFC 6350 line folding
            lines[-1] += raw.strip()
        else:
            lines.append(raw.strip())
    for line in lines:
        if line.upper().startswith("TEL") and ":" in line:
            return line.rsplit(":", 1)[1].strip() or None
    return None


def poll(question: str, options: list[str], max_answers: int) -> dict:
    """`poll` (a wagw addition: that gateway documents none), named as send_poll's arguments."""
    return {"question": question, "options": list(options), "max_answers": int(max_answers)}


# `referral`: a Click-to-WhatsApp ad's attribution (WhatsApp's ExternalAdReplyInfo), under
# go-whatsapp's names. Texts are left out when empty; flags and enums when WhatsApp left
# them unset, as that gateway does.
REFERRAL_TEXTS = (
    "ctwa_clid",
    "source_url",
    "source_id",
    "ref",
    "source_app",
    "ad_title",
    "ad_body",
    "thumbnail_url",
    "original_image_url",
    "media_url",
    "greeting_message_body",
    "source_type",
)
REFERRAL_FLAGS = (
    "show_ad_attribution",
    "contains_auto_reply",
    "automated_greeting_message_shown",
    "click_to_whatsapp_call",
)
REFERRAL_CHOICES = {"media_type": ("NONE", "IMAGE", "VIDEO"), "ad_type": ("CTWA", "CAWC")}


def referral(**fields: Any) -> dict | None:
    """The `referral` object of a message that started from a Meta ad, or None when the ad
    carried nothing. `fields` are go-whatsapp's names (REFERRAL_*); None means unset."""
    unknown = set(fields) - {*REFERRAL_TEXTS, *REFERRAL_FLAGS, *REFERRAL_CHOICES}
    if unknown:
        raise ValueError(f"unknown referral fields {sorted(unknown)}")
    found: dict[str, Any] = {}
    for name in REFERRAL_TEXTS:
        if fields.get(name):
            found[name] = fields[name]
    for name, choices in REFERRAL_CHOICES.items():
        value = fields.get(name)
        if value is not None:
            if value not in choices:
                raise ValueError(f"unknown referral {name} {value!r}")
            found[name] = value
    for name in REFERRAL_FLAGS:
        if fields.get(name) is not None:
            found[name] = bool(fields[name])
    return found or None


# Presence, deletions, labels, newsletters ----------------------------------------------------


def _unix(value: float | int | None) -> float:
    """Event time for events WhatsApp gives no time for: the caller's clock (the session's)."""
    return float(value) if value else datetime.now(UTC).timestamp()


def _when(unix: float, instance: str | None) -> str:
    """What tells apart two such events in their source key: the time to the millisecond, or
    `instance` when the caller has something steadier (the fake: its control message, so that
    a message handed over again after a restart keeps its id)."""
    return instance or str(round(unix * 1000))


def chat_presence(
    *,
    chat: str,
    sender: str,
    state: str,
    media: str = "",
    timestamp: float | int | None = None,
    sender_alt: str | None = None,
    instance: str | None = None,
) -> InboundEvent:
    """A `chat_presence`: someone typing ("composing"), recording ("composing" with media
    "audio") or stopping ("paused"). WhatsApp gives no time, so `timestamp` is when the
    session saw it (as go-whatsapp does), and the source key carries it to the millisecond:
    the same person typing again later is a new event, not a duplicate."""
    if state not in CHAT_PRESENCE_STATES:
        raise ValueError(f"unknown chat presence state {state!r}")
    if media not in CHAT_PRESENCE_MEDIA:
        raise ValueError(f"unknown chat presence media {media!r}")
    unix = _unix(timestamp)
    sender, sender_lid = _split_lid(sender, sender_alt)
    chat_id = non_ad(chat) or ""
    payload: dict[str, Any] = {"from": sender}
    if sender_lid:
        payload["from_lid"] = sender_lid
    if sender:
        payload["sender_display_name"] = display_name(sender, None)
    payload["chat_id"] = chat_id
    payload["state"] = state
    payload["media"] = media
    payload["is_group"] = chat_id.endswith("@g.us")
    key = f"chat_presence:{chat_id}:{sender_lid or sender}:{state}:{media}:{_when(unix, instance)}"
    return InboundEvent(CHAT_PRESENCE, key, iso_time(unix), payload)


def message_deleted(
    *,
    deleted_message_id: str,
    chat: str,
    sender: str,
    was_from_me: bool,
    timestamp: float | int | None = None,
    sender_alt: str | None = None,
) -> InboundEvent:
    """A `message.deleted` (whatsmeow's DeleteForMe: deleted on this account only).

    go-whatsapp adds `original_content` and friends from its message store; wagw keeps none,
    so only what the event itself says is here. Not produced today (NOT_FROM_NEONIZE)."""
    unix = _unix(timestamp)
    sender, _sender_lid = _split_lid(sender, sender_alt)
    payload: dict[str, Any] = {"deleted_message_id": deleted_message_id, "timestamp": iso_time(unix)}
    payload["from"] = sender
    if sender:
        payload["sender_display_name"] = display_name(sender, None)
    payload["chat_id"] = non_ad(chat) or ""
    payload["original_sender"] = sender
    payload["was_from_me"] = bool(was_from_me)
    return InboundEvent(DELETED, f"deleted:{non_ad(chat)}:{deleted_message_id}", iso_time(unix), payload)


# LabelEditAction's fields, in go-whatsapp's order; each only when WhatsApp sent it.
LABEL_EDIT_FIELDS = (
    "name",
    "color",
    "predefined_id",
    "deleted",
    "order_index",
    "is_active",
    "type",
    "is_immutable",
    "mute_end_time_ms",
)


def label_edit(*, label_id: str, timestamp: float | int | None = None, **fields: Any) -> InboundEvent:
    """A `label.edit`: a label created, renamed, reordered or deleted; `fields` are those of
    LABEL_EDIT_FIELDS WhatsApp sent. Not produced today (NOT_FROM_NEONIZE)."""
    unknown = set(fields) - set(LABEL_EDIT_FIELDS)
    if unknown:
        raise ValueError(f"unknown label fields {sorted(unknown)}")
    unix = _unix(timestamp)
    payload: dict[str, Any] = {"label_id": label_id}
    payload.update((name, fields[name]) for name in LABEL_EDIT_FIELDS if fields.get(name) is not None)
    key = f"label:{label_id}:edit:{round(unix * 1000)}"
    return InboundEvent(LABEL_EDIT, key, iso_time(unix), payload)


def label_association(
    *, label_id: str, chat: str, labeled: bool, timestamp: float | int | None = None, chat_alt: str | None = None
) -> InboundEvent:
    """A `label.association`: a label put on (labeled) or taken off a chat. Not produced today
    (NOT_FROM_NEONIZE)."""
    unix = _unix(timestamp)
    chat_id, chat_lid = _split_lid(chat, chat_alt)
    payload: dict[str, Any] = {"label_id": label_id, "labeled": bool(labeled), "chat_id": chat_id}
    if chat_lid:
        payload["chat_lid"] = chat_lid
    key = f"label:{label_id}:chat:{chat_lid or chat_id}:{bool(labeled)}:{round(unix * 1000)}"
    return InboundEvent(LABEL_ASSOCIATION, key, iso_time(unix), payload)


def _newsletter(newsletter_id: str) -> str:
    jid = non_ad(newsletter_id) or ""
    if not jid.endswith("@" + NEWSLETTER_SERVER):
        raise ValueError(f"not a newsletter JID: {newsletter_id!r}")
    return jid


def newsletter_joined(
    *,
    newsletter_id: str,
    name: str | None = None,
    description: str | None = None,
    timestamp: float | int | None = None,
    instance: str | None = None,
) -> InboundEvent:
    """A `newsletter.joined`: this account followed a channel. WhatsApp gives no time."""
    unix = _unix(timestamp)
    jid = _newsletter(newsletter_id)
    payload: dict[str, Any] = {"newsletter_id": jid}
    if name:
        payload["name"] = name
    if description:
        payload["description"] = description
    return InboundEvent(NEWSLETTER_JOINED, f"newsletter:{jid}:joined:{_when(unix, instance)}", iso_time(unix), payload)


def newsletter_left(
    *, newsletter_id: str, role: str, timestamp: float | int | None = None, instance: str | None = None
) -> InboundEvent:
    """A `newsletter.left`: this account unfollowed a channel; `role` is the one it had."""
    if role not in NEWSLETTER_ROLES:
        raise ValueError(f"unknown newsletter role {role!r}")
    unix = _unix(timestamp)
    jid = _newsletter(newsletter_id)
    payload = {"newsletter_id": jid, "role": role}
    return InboundEvent(NEWSLETTER_LEFT, f"newsletter:{jid}:left:{_when(unix, instance)}", iso_time(unix), payload)


def newsletter_mute(
    *, newsletter_id: str, mute: str, timestamp: float | int | None = None, instance: str | None = None
) -> InboundEvent:
    """A `newsletter.mute`: "on" or "off"."""
    if mute not in NEWSLETTER_MUTE_STATES:
        raise ValueError(f"unknown newsletter mute state {mute!r}")
    unix = _unix(timestamp)
    jid = _newsletter(newsletter_id)
    payload = {"newsletter_id": jid, "mute": mute}
    key = f"newsletter:{jid}:mute:{mute}:{_when(unix, instance)}"
    return InboundEvent(NEWSLETTER_MUTE, key, iso_time(unix), payload)


def newsletter_post(*, server_id: int, views_count: int = 0, reaction_counts: dict[str, int] | None = None) -> dict:
    """One entry of a `newsletter.message`'s `messages`. neonize 0.5.2 passes on the server id,
    views and reactions of a live update's post, not its message id, type or time (goneonize's
    EncodeNewsletterMessage drops them), so those are left out (docs/events.md)."""
    post: dict[str, Any] = {"server_id": int(server_id)}
    if views_count > 0:
        post["views_count"] = int(views_count)
    if reaction_counts:
        # Sorted, as Go's encoding/json writes a map: the same update gives the same body.
        post["reaction_counts"] = {emoji: int(reaction_counts[emoji]) for emoji in sorted(reaction_counts)}
    return post


def newsletter_message(
    *, newsletter_id: str, messages: list[dict], timestamp: float | int | None = None, instance: str | None = None
) -> InboundEvent:
    """A `newsletter.message`: a live update of a followed channel's posts (their views and
    reactions), `messages` built with newsletter_post. The time is WhatsApp's, so a redelivered
    update keeps its id."""
    unix = _unix(timestamp)
    jid = _newsletter(newsletter_id)
    servers = ",".join(str(m["server_id"]) for m in messages)
    key = f"newsletter:{jid}:update:{_when(unix, instance)}:{servers}"
    payload = {"newsletter_id": jid, "messages": list(messages)}
    return InboundEvent(NEWSLETTER_MESSAGE, key, iso_time(unix), payload)
