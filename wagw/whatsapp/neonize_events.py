"""neonize's event protos -> wagw events (wagw.events), the way go-whatsapp-web-multidevice
maps whatsmeow's events to its webhook payload.

Works on the proto objects by field name only and never imports neonize itself, so the unit
tests can feed it real neonize protos while this module stays importable anywhere.
Every mapper returns a list: one WhatsApp event can be several wagw events (a group change
that adds and removes people) or none (key distribution, history-sync notices, status
updates on status@broadcast). A message of a kind wagw does not map is still a `message`,
labelled `unsupported: <its proto field>`, so it is never silently an empty message.
"""

from __future__ import annotations

import base64
from typing import Any

from wagw import events
from wagw.events import InboundEvent

# neonize.proto.Neonize_pb2.Receipt.ReceiptType -> whatsmeow's receipt type strings.
# goneonize's EncodeReceipts (neonize 0.5.2) writes whatsmeow's "played-self" as SERVER_ERROR
# (8) and has no value at all for "server-error" (such a receipt cannot reach Python: see
# NeonizeBackend._reconnect_after), so 8 means played-self. PLAYED_SELF (7) is never sent.
RECEIPT_TYPES = {
    1: "delivered",
    2: "sender",
    3: "retry",
    4: "read",
    5: "read-self",
    6: "played",
    7: "played-self",
    8: "played-self",
    9: "inactive",
    10: "peer_msg",
    11: "hist_sync",
}
# waE2E.ProtocolMessage.Type values wagw turns into events.
REVOKE, MESSAGE_EDIT = 0, 14

# Message fields that wrap the real content (whatsmeow's UnwrapRaw, go-whatsapp's UnwrapMessage).
_WRAPPERS = (
    "deviceSentMessage",
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
)
# Message kinds that are plumbing, not something a person sent.
_PLUMBING = ("senderKeyDistributionMessage", "fastRatchetKeySenderKeyDistributionMessage", "messageContextInfo")
# The versions of a poll's creation message (all of type PollCreationMessage).
_POLLS = (
    "pollCreationMessage",
    "pollCreationMessageV2",
    "pollCreationMessageV3",
    "pollCreationMessageV5",
    "pollCreationMessageV6",
)
_MEDIA_FIELDS = {
    "imageMessage": "image",
    "videoMessage": "video",
    "audioMessage": "audio",
    "documentMessage": "document",
    "stickerMessage": "sticker",
    "ptvMessage": "video_note",
}


def jid_str(jid: Any) -> str | None:
    """A neonize JID proto -> "user@server" (device part dropped), or None when empty."""
    if jid is None or not getattr(jid, "Server", ""):
        return None
    if getattr(jid, "IsEmpty", False):
        return None
    return f"{jid.User}@{jid.Server}" if jid.User else jid.Server


def _has(message: Any, field: str) -> bool:
    try:
        return message.HasField(field)
    except ValueError:
        return False


def unwrap(message: Any) -> tuple[Any, bool]:
    """(innermost content, view_once): peel ephemeral/view-once/edit/device-sent wrappers."""
    view_once = False
    for _ in range(8):  # wrappers nest a few levels at most
        for wrapper in _WRAPPERS:
            if _has(message, wrapper):
                view_once = view_once or wrapper.startswith("viewOnce")
                inner = getattr(message, wrapper)
                message = inner.message
                break
        else:
            return message, view_once
    return message, view_once


def text_of(message: Any) -> str | None:
    """The text a person wrote: conversation, extended text, or a media caption."""
    if message is None:
        return None
    message, _ = unwrap(message)
    if message.conversation:
        return message.conversation
    if _has(message, "extendedTextMessage") and message.extendedTextMessage.text:
        return message.extendedTextMessage.text
    for field in ("imageMessage", "videoMessage", "documentMessage"):
        if _has(message, field) and getattr(message, field).caption:
            return getattr(message, field).caption
    return None


def _b64(data: bytes) -> str | None:
    return base64.b64encode(data).decode() if data else None


def media_of(message: Any) -> tuple[str, dict[str, Any]] | None:
    """(kind, object) for a media message: what a consumer needs to show or download it."""
    for field, kind in _MEDIA_FIELDS.items():
        if not _has(message, field):
            continue
        media = getattr(message, field)
        obj: dict[str, Any] = {
            "url": media.URL or None,
            "mime_type": media.mimetype or None,
            "caption": getattr(media, "caption", "") or None,
            "filename": getattr(media, "fileName", "") or None,
            "file_length": media.fileLength or None,
            "seconds": getattr(media, "seconds", 0) or None,
            "direct_path": media.directPath or None,
            "media_key": _b64(media.mediaKey),
            "file_sha256": _b64(media.fileSHA256),
            "file_enc_sha256": _b64(media.fileEncSHA256),
        }
        if kind == "audio" and media.PTT:
            obj["ptt"] = True
        return kind, obj
    return None


def _context_info(message: Any) -> Any | None:
    for field in ("extendedTextMessage", *_MEDIA_FIELDS, "locationMessage", "contactMessage", *_POLLS):
        if _has(message, field):
            inner = getattr(message, field)
            if _has(inner, "contextInfo"):
                return inner.contextInfo
            return None
    return None


def _other_content(message: Any) -> dict[str, Any]:
    """Locations, contact cards and polls: go-whatsapp's field names where it has them."""
    extra: dict[str, Any] = {}
    for field in _POLLS:
        if _has(message, field):
            poll = getattr(message, field)
            options = [option.optionName for option in poll.options]
            extra["poll"] = events.poll(poll.name, options, poll.selectableOptionsCount)
            break
    if _has(message, "pollUpdateMessage"):
        # A vote; which options were chosen is encrypted, and decrypting it is a native call
        # the session does not make (docs/events.md).
        extra["poll_vote"] = {"poll_id": message.pollUpdateMessage.pollCreationMessageKey.ID}
    if _has(message, "liveLocationMessage"):
        live = message.liveLocationMessage
        extra["live_location"] = events.live_location(live.degreesLatitude, live.degreesLongitude)
    if _has(message, "contactsArrayMessage"):
        extra["contacts_array"] = [
            events.contact_card(c.displayName, c.vcard) for c in message.contactsArrayMessage.contacts
        ]
    if _has(message, "locationMessage"):
        loc = message.locationMessage
        extra["location"] = events.location(loc.degreesLatitude, loc.degreesLongitude, loc.name, loc.address)
    if _has(message, "contactMessage"):
        extra["contact"] = events.contact_card(message.contactMessage.displayName, message.contactMessage.vcard)
    return extra


# ExternalAdReplyInfo field -> go-whatsapp's referral name.
_REFERRAL = {
    "ctwaClid": "ctwa_clid",
    "sourceURL": "source_url",
    "sourceID": "source_id",
    "ref": "ref",
    "sourceApp": "source_app",
    "title": "ad_title",
    "body": "ad_body",
    "thumbnailURL": "thumbnail_url",
    "originalImageURL": "original_image_url",
    "mediaURL": "media_url",
    "greetingMessageBody": "greeting_message_body",
    "sourceType": "source_type",
    "showAdAttribution": "show_ad_attribution",
    "containsAutoReply": "contains_auto_reply",
    "automatedGreetingMessageShown": "automated_greeting_message_shown",
    "clickToWhatsappCall": "click_to_whatsapp_call",
    "mediaType": "media_type",
    "adType": "ad_type",
}


def _referral(context: Any | None) -> dict[str, Any] | None:
    """A Click-to-WhatsApp ad's attribution from the message's context (go-whatsapp's
    ExtractExternalAdReply): only the fields WhatsApp set; enums by their proto names."""
    if context is None or not _has(context, "externalAdReply"):
        return None
    ad = context.externalAdReply
    fields: dict[str, Any] = {}
    for proto_name, name in _REFERRAL.items():
        if not _has(ad, proto_name):
            continue
        value = getattr(ad, proto_name)
        enum = ad.DESCRIPTOR.fields_by_name[proto_name].enum_type
        fields[name] = enum.values_by_number[value].name if enum is not None else value
    return events.referral(**fields)


# What wagw turns into a `message` (anything else is labelled `unsupported`).
_MAPPED = frozenset(
    {
        "conversation",
        "extendedTextMessage",
        *_MEDIA_FIELDS,
        "locationMessage",
        "liveLocationMessage",
        "contactMessage",
        "contactsArrayMessage",
        *_POLLS,
        "pollUpdateMessage",
    }
)


def _unsupported(fields: list[str]) -> str | None:
    """The first content field wagw has no mapping for, when nothing it maps is there."""
    if any(field in _MAPPED for field in fields):
        return None
    return next((field for field in fields if field not in _PLUMBING), None)


def _who(info: Any) -> dict[str, Any]:
    """Chat, sender and their alternate (LID <-> phone number) addresses from a MessageInfo."""
    source = info.MessageSource
    chat, sender = jid_str(source.Chat), jid_str(source.Sender)
    sender_alt = jid_str(source.SenderAlt) if _has(source, "SenderAlt") else None
    recipient_alt = jid_str(source.RecipientAlt) if _has(source, "RecipientAlt") else None
    chat_alt = None
    if not source.IsGroup:
        # In a direct chat the chat is the other person: their alternate address is the
        # sender's (incoming) or the recipient's (sent from the phone).
        chat_alt = recipient_alt if source.IsFromMe else sender_alt
    return {
        "chat": chat or sender or "",
        "sender": sender or chat or "",
        "chat_alt": chat_alt,
        "sender_alt": sender_alt,
        "is_from_me": bool(source.IsFromMe),
        "push_name": info.Pushname or None,
        "timestamp": info.Timestamp or None,
    }


def map_message(event: Any) -> list[InboundEvent]:
    """neonize Message -> message / message.reaction / message.revoked / message.edited."""
    info = event.Info
    who = _who(info)
    content, view_once = unwrap(event.Message)
    view_once = view_once or bool(event.IsViewOnce)

    if _has(content, "protocolMessage"):
        protocol = content.protocolMessage
        if protocol.type == REVOKE and _has(protocol, "key"):
            return [
                events.revoked(
                    id=info.ID,
                    **who,
                    revoked_message_id=protocol.key.ID,
                    revoked_from_me=bool(protocol.key.fromMe),
                    revoked_chat=protocol.key.remoteJID or None,
                )
            ]
        if protocol.type == MESSAGE_EDIT:
            return [
                events.edited(
                    id=info.ID,
                    **who,
                    original_message_id=protocol.key.ID,
                    body=text_of(protocol.editedMessage) if _has(protocol, "editedMessage") else None,
                )
            ]
        return []  # key shares, history-sync notices, ephemeral settings: not user messages

    if _has(content, "reactionMessage"):
        react = content.reactionMessage
        return [events.reaction(id=info.ID, **who, emoji=react.text, target_id=react.key.ID)]

    if events.is_status_broadcast(who["chat"]):
        return []  # status updates (stories), not messages to this account
    fields = [f.name for f, _ in content.ListFields()]
    if not fields or set(fields) <= set(_PLUMBING):
        return []

    context = _context_info(content)
    replied_to_id = quoted_body = None
    forwarded = False
    if context is not None:
        replied_to_id = context.stanzaID or None
        if replied_to_id and _has(context, "quotedMessage"):
            quoted_body = text_of(context.quotedMessage)
        forwarded = bool(context.isForwarded)
    body = content.conversation or (content.extendedTextMessage.text if _has(content, "extendedTextMessage") else None)
    extra = _other_content(content)
    ad = _referral(context)
    if ad:
        extra["referral"] = ad
    unsupported = _unsupported(fields)
    if unsupported:
        # Labelled rather than dropped: a consumer learns that something arrived, and what.
        extra["unsupported"] = unsupported
    return [
        events.message(
            id=info.ID,
            **who,
            body=body or None,
            replied_to_id=replied_to_id,
            quoted_body=quoted_body,
            media=media_of(content),
            forwarded=forwarded,
            view_once=view_once,
            extra=extra or None,
        )
    ]


def map_receipt(event: Any) -> list[InboundEvent]:
    """neonize Receipt -> message.ack. Like go-whatsapp, only receipts from a user's primary
    device (device 0) count: each of their linked devices would send the same receipt."""
    source = event.MessageSource
    if source.Sender.Device != 0 or not event.MessageIDs or events.is_status_broadcast(jid_str(source.Chat)):
        return []
    return [
        events.receipt(
            ids=list(event.MessageIDs),
            chat=jid_str(source.Chat) or "",
            sender=jid_str(source.Sender) or "",
            sender_alt=jid_str(source.SenderAlt) if _has(source, "SenderAlt") else None,
            receipt_type=RECEIPT_TYPES.get(event.Type, "delivered"),
            timestamp=event.Timestamp or None,
        )
    ]


def map_group_info(event: Any) -> list[InboundEvent]:
    """neonize GroupInfoEvent -> one group.participants per kind of change it carries."""
    chat = jid_str(event.JID) or ""
    sender = jid_str(event.Sender) if _has(event, "Sender") else None
    out = []
    for change, members in (
        ("join", event.Join),
        ("leave", event.Leave),
        ("promote", event.Promote),
        ("demote", event.Demote),
    ):
        jids = [j for j in (jid_str(m) for m in members) if j]
        if jids:
            out.append(
                events.group_participants(
                    chat=chat,
                    change=change,
                    jids=jids,
                    timestamp=event.Timestamp or None,
                    sender=sender,
                )
            )
    return out


def map_joined_group(event: Any) -> list[InboundEvent]:
    """neonize JoinedGroup -> group.joined: the group, its name and whatsmeow's reason.
    goneonize's EncodeJoinedGroup (neonize 0.5.2) copies Reason into Type and leaves Sender
    unset, so only Reason is read; WhatsApp gives no time (the session's clock)."""
    info = event.GroupInfo
    chat = jid_str(info.JID)
    if not chat or not chat.endswith("@g.us"):
        return []  # whatsmeow dispatches it for groups only
    return [
        events.group_joined(
            chat=chat,
            reason=event.Reason,
            group_name=info.GroupName.Name or None,
            version=info.ParticipantVersionID or None,
        )
    ]


def map_call_offer(event: Any) -> list[InboundEvent]:
    """neonize CallOffer -> call.offer. neonize's BasicCallMeta has no group JID (whatsmeow's
    GroupJID is not passed on), so a group call cannot be told apart: no `group_jid`."""
    meta = event.basicCallMeta
    remote = event.callRemoteMeta
    creator_alt = jid_str(meta.callCreatorAlt) if _has(meta, "callCreatorAlt") else None
    source = jid_str(getattr(meta, "from"))  # "from" is a Python keyword
    caller = (jid_str(meta.callCreator) if _has(meta, "callCreator") else None) or source or ""
    return [
        events.call_offer(
            call_id=meta.callID,
            sender=caller,
            sender_alt=creator_alt,
            timestamp=meta.timestamp or None,
            remote_platform=remote.remotePlatform or None,
            remote_version=remote.remoteVersion or None,
        )
    ]


# neonize's enums (Neonize.proto) -> whatsmeow's strings, which go-whatsapp sends as they are.
CHAT_PRESENCE_STATES = {1: "composing", 2: "paused"}
CHAT_PRESENCE_MEDIA = {1: "", 2: "audio"}  # TEXT is whatsmeow's ChatPresenceMediaText, ""
NEWSLETTER_ROLES = {1: "subscriber", 2: "guest", 3: "admin", 4: "owner"}
NEWSLETTER_MUTE = {1: "on", 2: "off"}


def map_chat_presence(event: Any) -> list[InboundEvent]:
    """neonize ChatPresence -> chat_presence. WhatsApp gives no time: the session's clock."""
    source = event.MessageSource
    if event.State not in CHAT_PRESENCE_STATES or event.Media not in CHAT_PRESENCE_MEDIA:
        return []  # goneonize cannot encode anything else (the event would not have reached us)
    sender = jid_str(source.Sender) or ""
    return [
        events.chat_presence(
            chat=jid_str(source.Chat) or sender,
            sender=sender,
            sender_alt=jid_str(source.SenderAlt) if _has(source, "SenderAlt") else None,
            state=CHAT_PRESENCE_STATES[event.State],
            media=CHAT_PRESENCE_MEDIA[event.Media],
        )
    ]


def map_newsletter_join(event: Any) -> list[InboundEvent]:
    """neonize NewsletterJoin -> newsletter.joined: the channel's id, name and description."""
    meta = event.NewsletterMetadata
    thread = meta.ThreadMeta
    return [
        events.newsletter_joined(
            newsletter_id=jid_str(meta.ID) or "",
            name=thread.Name.Text or None,
            description=thread.Description.Text or None,
        )
    ]


def map_newsletter_leave(event: Any) -> list[InboundEvent]:
    if event.Role not in NEWSLETTER_ROLES:
        return []
    return [events.newsletter_left(newsletter_id=jid_str(event.ID) or "", role=NEWSLETTER_ROLES[event.Role])]


def map_newsletter_mute(event: Any) -> list[InboundEvent]:
    if event.Mute not in NEWSLETTER_MUTE:
        return []
    return [events.newsletter_mute(newsletter_id=jid_str(event.ID) or "", mute=NEWSLETTER_MUTE[event.Mute])]


def map_newsletter_update(event: Any) -> list[InboundEvent]:
    """neonize NewsletterLiveUpdate -> newsletter.message: views and reactions of a channel's
    posts. goneonize passes on each post's server id, views and reactions only (not its message
    id, type or time), and a channel's posts themselves arrive as ordinary `message` events
    (chat `…@newsletter`), as with go-whatsapp."""
    posts = [
        events.newsletter_post(
            server_id=post.MessageServerID,
            views_count=post.ViewsCount,
            reaction_counts={reaction.type: reaction.count for reaction in post.ReactionCounts},
        )
        for post in event.Messages
    ]
    if not posts:
        return []
    return [events.newsletter_message(newsletter_id=jid_str(event.JID) or "", messages=posts, timestamp=event.TIME)]


# neonize proto class name -> mapper; the backend registers one handler per entry.
MAPPERS = {
    "Message": map_message,
    "Receipt": map_receipt,
    "GroupInfoEvent": map_group_info,
    "JoinedGroup": map_joined_group,
    "CallOffer": map_call_offer,
    "ChatPresence": map_chat_presence,
    "NewsletterJoin": map_newsletter_join,
    "NewsletterLeave": map_newsletter_leave,
    "NewsletterMuteChange": map_newsletter_mute,
    "NewsletterLiveUpdate": map_newsletter_update,
}
