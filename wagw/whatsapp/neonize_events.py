"""neonize's event protos -> wagw events (wagw.events), the way go-whatsapp-web-multidevice
maps whatsmeow's events to its webhook payload.

One mapper per neonize event class, registered (`maps`) for the event kinds it makes; the
table (wagw.events.kinds) names each kind's class, and MAPPERS (class name -> mapper, one
backend handler each) derives from both. Works on the proto objects by field name only and
never imports neonize itself, so the unit tests can feed it real neonize protos while this
module stays importable anywhere; the message content it reads is neonize_content's.
Every mapper returns a list: one WhatsApp event can be several wagw events (a group change
that adds and removes people) or none (key distribution, history-sync notices, status
updates on status@broadcast). A message of a kind wagw does not map is still a `message`,
labelled `unsupported: <its proto field>`, so it is never silently an empty message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wagw import events
from wagw.events import KINDS, InboundEvent, history
from wagw.whatsapp.neonize_content import (
    PLUMBING,
    context_info,
    has_field,
    jid_str,
    media_of,
    other_content,
    referral_of,
    text_of,
    unmapped_field,
    unwrap,
)

Mapper = Callable[[Any], list[InboundEvent]]
_MAPPER_OF: dict[str, Mapper] = {}  # event kind -> the mapper that makes it


def maps(*kinds: str) -> Callable[[Mapper], Mapper]:
    """Register the mapper of these event kinds (their rows name the neonize class it reads)."""

    def register(mapper: Mapper) -> Mapper:
        for kind in kinds:
            if kind not in KINDS or kind in _MAPPER_OF:
                raise ValueError(f"{mapper.__name__}: {kind!r} is not a kind, or has a mapper already")
            _MAPPER_OF[kind] = mapper
        return mapper

    return register


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
# waE2E.SecretEncryptedMessage.SecretEncType: an edit encrypted with the message's secret.
SECRET_MESSAGE_EDIT = 2


def _alts(source: Any) -> tuple[str | None, str | None]:
    """(the sender's, the chat's) alternate address (LID <-> phone number) of a MessageSource."""
    sender_alt = jid_str(source.SenderAlt) if has_field(source, "SenderAlt") else None
    recipient_alt = jid_str(source.RecipientAlt) if has_field(source, "RecipientAlt") else None
    if source.IsGroup:
        return sender_alt, None
    # In a direct chat the chat is the other person: their alternate address is the
    # sender's (incoming) or the recipient's (sent from the phone).
    return sender_alt, (recipient_alt if source.IsFromMe else sender_alt)


def _who(info: Any) -> dict[str, Any]:
    """Chat, sender and their alternate (LID <-> phone number) addresses from a MessageInfo."""
    source = info.MessageSource
    chat, sender = jid_str(source.Chat), jid_str(source.Sender)
    sender_alt, chat_alt = _alts(source)
    return {
        "chat": chat or sender or "",
        "sender": sender or chat or "",
        "chat_alt": chat_alt,
        "sender_alt": sender_alt,
        "is_from_me": bool(source.IsFromMe),
        "push_name": info.Pushname or None,
        "timestamp": info.Timestamp or None,
    }


def mentioned(context: Any | None) -> tuple[str, ...]:
    """Whom a text @mentions, as WhatsApp lists them (contextInfo.mentionedJID)."""
    return tuple(context.mentionedJID) if context is not None else ()


@maps(events.MESSAGE, events.REACTION, events.REVOKED, events.EDITED)
def map_message(event: Any) -> list[InboundEvent]:
    """neonize Message -> message / message.reaction / message.revoked / message.edited."""
    info = event.Info
    return _message_events(info.ID, _who(info), event.Message, bool(event.IsViewOnce))


def _message_events(id: str, who: dict[str, Any], message: Any, view_once: bool) -> list[InboundEvent]:
    """A message's content (a waE2E.Message) with id `id` from `who` -> the events it makes."""
    content, wrapped_view_once = unwrap(message)
    view_once = view_once or wrapped_view_once

    if has_field(content, "protocolMessage"):
        protocol = content.protocolMessage
        if protocol.type == REVOKE and has_field(protocol, "key"):
            return [
                events.revoked(
                    id=id,
                    **who,
                    revoked_message_id=protocol.key.ID,
                    revoked_from_me=bool(protocol.key.fromMe),
                    revoked_chat=protocol.key.remoteJID or None,
                )
            ]
        if protocol.type == MESSAGE_EDIT:
            edit = protocol.editedMessage if has_field(protocol, "editedMessage") else None
            return [
                events.edited(
                    id=id,
                    **who,
                    original_message_id=protocol.key.ID,
                    body=text_of(edit) if edit is not None else None,
                    mentions=mentioned(context_info(edit)) if edit is not None else (),
                )
            ]
        return []  # key shares, history-sync notices, ephemeral settings: not user messages

    if (
        has_field(content, "secretEncryptedMessage")
        and content.secretEncryptedMessage.secretEncType == SECRET_MESSAGE_EDIT
    ):
        # How phones that moved to LIDs edit. whatsmeow decrypts it only when asked
        # (msgsecret.go DecryptSecretEncryptedMessage) and goneonize exports no such call.
        return [
            events.edited(
                id=id,
                **who,
                original_message_id=content.secretEncryptedMessage.targetMessageKey.ID,
                body=None,
                body_unreadable=events.SECRET_EDIT_UNREADABLE,
            )
        ]

    if has_field(content, "reactionMessage"):
        react = content.reactionMessage
        return [events.reaction(id=id, **who, emoji=react.text, target_id=react.key.ID)]

    if events.is_status_broadcast(who["chat"]):
        return []  # status updates (stories), not messages to this account
    fields = [f.name for f, _ in content.ListFields()]
    if not fields or set(fields) <= set(PLUMBING):
        return []

    context = context_info(content)
    replied_to_id = quoted_body = None
    forwarded = False
    if context is not None:
        replied_to_id = context.stanzaID or None
        if replied_to_id and has_field(context, "quotedMessage"):
            quoted_body = text_of(context.quotedMessage)
        forwarded = bool(context.isForwarded)
    body = content.conversation or (
        content.extendedTextMessage.text if has_field(content, "extendedTextMessage") else None
    )
    extra = other_content(content)
    ad = referral_of(context)
    if ad:
        extra["referral"] = ad
    unsupported = unmapped_field(fields)
    if unsupported:
        # Labelled rather than dropped: a consumer learns that something arrived, and what.
        extra["unsupported"] = unsupported
    return [
        events.message(
            id=id,
            **who,
            body=body or None,
            replied_to_id=replied_to_id,
            quoted_body=quoted_body,
            media=media_of(content),
            forwarded=forwarded,
            view_once=view_once,
            extra=extra or None,
            mentions=mentioned(context),
        )
    ]


@maps(events.HISTORY_SYNC)
def map_history_sync(event: Any) -> list[InboundEvent]:
    """neonize HistorySync -> history.sync, without the account's JID (history_sync_events)."""
    return history_sync_events(event, own=None)


def history_sync_events(event: Any, own: str | None) -> list[InboundEvent]:
    """neonize HistorySync -> history.sync: each conversation's messages, as `message` events
    would carry them, in events of at most MAX_MESSAGES. Like whatsmeow's ParseWebMessage: a
    message from the account (`key.fromMe`) is sent by `own` (the account's JID), one in a
    direct chat by the chat, one in a group by its participant. Reactions, edits, deletions and
    protocol messages of the past are not messages and are left out."""
    out: list[InboundEvent] = []
    for conversation in event.Data.conversations:
        chat = conversation.ID
        if not chat or events.is_status_broadcast(chat):
            continue
        alt = (conversation.pnJID if events.is_lid(chat) else conversation.lidJID) or None
        found: list[InboundEvent] = []
        for item in conversation.messages:
            web = item.message
            if not has_field(web, "message") or not web.key.ID:
                continue  # a system notice (messageStubType) carries no message
            from_me = bool(web.key.fromMe)
            group = chat.endswith("@g.us")
            sender = (own or "") if from_me else (web.participant or web.key.participant) if group else chat
            who = {
                "chat": chat,
                "sender": events.non_ad(sender) or sender or "",
                "chat_alt": None if group else alt,
                "sender_alt": alt if not group and not from_me else None,
                "is_from_me": from_me,
                "push_name": web.pushName or None,
                "timestamp": web.messageTimestamp or None,
            }
            made = _message_events(web.key.ID, who, web.message, False)
            found += [m for m in made if m.event == events.MESSAGE]
        out += history.chunks(chat=chat, chat_alt=alt, messages=found)
    return out


@maps(events.ACK)
def map_receipt(event: Any) -> list[InboundEvent]:
    """neonize Receipt -> message.ack. Like go-whatsapp, only receipts from a user's primary
    device (device 0) count: each of their linked devices would send the same receipt."""
    source = event.MessageSource
    if source.Sender.Device != 0 or not event.MessageIDs or events.is_status_broadcast(jid_str(source.Chat)):
        return []
    sender_alt, chat_alt = _alts(source)
    return [
        events.receipt(
            ids=list(event.MessageIDs),
            chat=jid_str(source.Chat) or "",
            sender=jid_str(source.Sender) or "",
            sender_alt=sender_alt,
            chat_alt=chat_alt,
            receipt_type=RECEIPT_TYPES.get(event.Type, "delivered"),
            timestamp=event.Timestamp or None,
        )
    ]


@maps(events.GROUP_PARTICIPANTS)
def map_group_info(event: Any) -> list[InboundEvent]:
    """neonize GroupInfoEvent -> one group.participants per kind of change it carries."""
    chat = jid_str(event.JID) or ""
    sender = jid_str(event.Sender) if has_field(event, "Sender") else None
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


@maps(events.GROUP_JOINED)
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


@maps(events.CALL_OFFER)
def map_call_offer(event: Any) -> list[InboundEvent]:
    """neonize CallOffer -> call.offer. neonize's BasicCallMeta has no group JID (whatsmeow's
    GroupJID is not passed on), so a group call cannot be told apart: no `group_jid`."""
    meta = event.basicCallMeta
    remote = event.callRemoteMeta
    creator_alt = jid_str(meta.callCreatorAlt) if has_field(meta, "callCreatorAlt") else None
    source = jid_str(getattr(meta, "from"))  # "from" is a Python keyword
    caller = (jid_str(meta.callCreator) if has_field(meta, "callCreator") else None) or source or ""
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


@maps(events.CHAT_PRESENCE)
def map_chat_presence(event: Any) -> list[InboundEvent]:
    """neonize ChatPresence -> chat_presence. WhatsApp gives no time: the session's clock."""
    source = event.MessageSource
    if event.State not in CHAT_PRESENCE_STATES or event.Media not in CHAT_PRESENCE_MEDIA:
        return []  # goneonize cannot encode anything else (the event would not have reached us)
    sender = jid_str(source.Sender) or ""
    sender_alt, chat_alt = _alts(source)
    return [
        events.chat_presence(
            chat=jid_str(source.Chat) or sender,
            sender=sender,
            sender_alt=sender_alt,
            chat_alt=chat_alt,
            state=CHAT_PRESENCE_STATES[event.State],
            media=CHAT_PRESENCE_MEDIA[event.Media],
        )
    ]


@maps(events.NEWSLETTER_JOINED)
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


@maps(events.NEWSLETTER_LEFT)
def map_newsletter_leave(event: Any) -> list[InboundEvent]:
    if event.Role not in NEWSLETTER_ROLES:
        return []
    return [events.newsletter_left(newsletter_id=jid_str(event.ID) or "", role=NEWSLETTER_ROLES[event.Role])]


@maps(events.NEWSLETTER_MUTE)
def map_newsletter_mute(event: Any) -> list[InboundEvent]:
    if event.Mute not in NEWSLETTER_MUTE:
        return []
    return [events.newsletter_mute(newsletter_id=jid_str(event.ID) or "", mute=NEWSLETTER_MUTE[event.Mute])]


@maps(events.NEWSLETTER_MESSAGE)
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


def _dispatch() -> dict[str, Mapper]:
    """neonize event class name -> its mapper: each kind's row names the class, the mapper
    registered for the kind reads it. A kind whose row names no class has no mapper."""
    dispatch: dict[str, Mapper] = {}
    for kind in KINDS.values():
        mapper = _MAPPER_OF.get(kind.name)
        if (mapper is None) != (kind.neonize is None):
            raise LookupError(f"{kind.name}: its row names neonize class {kind.neonize}, its mapper is {mapper}")
        if kind.neonize is None or mapper is None:
            continue
        if dispatch.setdefault(kind.neonize, mapper) is not mapper:
            raise LookupError(f"neonize class {kind.neonize} has two mappers")
    return dispatch


# The backend registers one handler per entry (by the proto class's own name).
MAPPERS = _dispatch()
HISTORY_SYNC_CLASS = KINDS[events.HISTORY_SYNC].neonize  # its mapper also takes the account's JID
