"""The one table of inbound event kinds: one row per `event` a body can carry.

Everything about a kind derives from its row: its name (the body's `event`, what
WAGW_WEBHOOK_EVENTS lists), the payload fields it can carry (tests hold every body to them),
its source key, the whatsmeow event and the neonize class it comes from (the neonize backend
registers one handler per class, dispatching to the mapper registered for the kind:
wagw.whatsapp.neonize_events), the fake backend's control message `type` and its input
(dispatched to the parser registered for the kind: wagw.whatsapp.fake_inbound), and
docs/events.md's tables (tests/unit/test_event_kinds.py holds the docs to it).

A kind whose row names no neonize class is one neonize never hands to Python: it has a
constructor for the day it does, but no mapper, and the fake refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from wagw.events.content import MEDIA_KINDS

MESSAGE = "message"
REACTION = "message.reaction"
REVOKED = "message.revoked"
EDITED = "message.edited"
DELETED = "message.deleted"
ACK = "message.ack"
CHAT_PRESENCE = "chat_presence"
GROUP_PARTICIPANTS = "group.participants"
GROUP_JOINED = "group.joined"
LABEL_EDIT = "label.edit"
LABEL_ASSOCIATION = "label.association"
NEWSLETTER_JOINED = "newsletter.joined"
NEWSLETTER_LEFT = "newsletter.left"
NEWSLETTER_MESSAGE = "newsletter.message"
NEWSLETTER_MUTE = "newsletter.mute"
CALL_OFFER = "call.offer"
HISTORY_SYNC = "history.sync"

# Every kind that can name someone by LID ends with this: the LIDs whose phone number the
# account's store does not know (they stay in the body as LIDs; wagw.events.lids).
UNRESOLVED_LIDS = "unresolved_lids"


@dataclass(frozen=True)
class EventKind:
    name: str  # the body's `event`
    summary: str  # what it is, one line for docs/events.md
    fields: tuple[str, ...]  # every payload field it can carry, in body order (each only when set)
    key: str  # its source key (what makes its event id), as docs/events.md shows it
    whatsmeow: str  # whatsmeow's event type it comes from (`events.<whatsmeow>`)
    neonize: str | None  # neonize's event class carrying it to Python; None: neonize never does
    fake: str  # the fake backend's control message `type`
    # Its fields as docs/events.md lists them, one table line each (empty when refused).
    fake_input: tuple[str, ...] = ()


# The fields every message-like event starts with (go-whatsapp's buildFromFields).
MESSAGE_HEAD = (
    "id",
    "chat_id",
    "chat_lid",
    "from",
    "from_lid",
    "sender_display_name",
    "from_name",
    "timestamp",
    "is_from_me",
)
MESSAGE_KEY = "`message:<chat as WhatsApp addressed it>:<message id>`"
# The fake's fields of a message-like control message.
FAKE_MESSAGE_HEAD = "`id`, `sender`, `chat`"

KINDS: dict[str, EventKind] = {
    kind.name: kind
    for kind in (
        EventKind(
            MESSAGE,
            "a message: text, media, a location, contact cards, a poll or a vote; a kind wagw does not map "
            "is labelled `unsupported`",
            (
                *MESSAGE_HEAD,
                "body",
                "replied_to_id",
                "quoted_body",
                "view_once",
                "forwarded",
                *MEDIA_KINDS,
                "media",
                "poll",
                "poll_vote",
                "location",
                "live_location",
                "contact",
                "contacts_array",
                "referral",
                "unsupported",
                UNRESOLVED_LIDS,
            ),
            MESSAGE_KEY,
            whatsmeow="Message",
            neonize="Message",
            fake="message",
            fake_input=(
                "`id`, `sender`, `chat`, `push_name`, `text`, `mentions` (the JIDs the text @mentions), `is_from_me`, "
                "`sender_alt`/`chat_alt` (the other address: a LID's phone number or a number's LID), "
                "`reply_to` + `quoted_text`, `forwarded`, `view_once`, `expiration` (the chat's disappearing "
                "timer in seconds, as every message in such a chat carries it; not in the body, sends into the "
                "chat carry it), and the content fields below",
                '`media: {"kind": "image"|"video"|"audio"|"document"|"sticker"|"video_note", "mimetype", '
                '"caption", "filename", "seconds", "ptt"}` (download fields are the fake\'s own: "The media object")',
                '`location: {"latitude", "longitude", "name", "address"}`; `live_location: {"latitude", '
                '"longitude"}` (degrees, in range)',
                '`contact: {"name", "vcard"}`; `contacts: [{"name", "vcard"}, …]` (becomes `contacts_array`)',
                '`poll: {"question", "options": [...], "max_answers"}`; `poll_vote: {"poll_id"}`',
                "`referral: {…}`: the payload's `referral` fields, same names and types",
            ),
        ),
        EventKind(
            REACTION,
            "a reaction to a message; an empty `reaction` means it was removed",
            (*MESSAGE_HEAD, "reaction", "reacted_message_id", UNRESOLVED_LIDS),
            MESSAGE_KEY,
            whatsmeow="Message",
            neonize="Message",
            fake="reaction",
            fake_input=(f"{FAKE_MESSAGE_HEAD}, `target_id`, `emoji` (empty: removed)",),
        ),
        EventKind(
            REVOKED,
            "a message deleted for everyone",
            (*MESSAGE_HEAD, "revoked_message_id", "revoked_from_me", "revoked_chat", UNRESOLVED_LIDS),
            MESSAGE_KEY,
            whatsmeow="Message",
            neonize="Message",
            fake="revoked",
            fake_input=(f"{FAKE_MESSAGE_HEAD}, `target_id`, `target_from_me`",),
        ),
        EventKind(
            EDITED,
            "a message edited",
            (*MESSAGE_HEAD, "original_message_id", "body", "body_unreadable", UNRESOLVED_LIDS),
            MESSAGE_KEY,
            whatsmeow="Message",
            neonize="Message",
            fake="edited",
            fake_input=(f"{FAKE_MESSAGE_HEAD}, `target_id`, `text`, `mentions`, `secret`",),
        ),
        EventKind(
            DELETED,
            "a message deleted on this account only",
            (
                "deleted_message_id",
                "timestamp",
                "from",
                "sender_display_name",
                "chat_id",
                "original_sender",
                "was_from_me",
                UNRESOLVED_LIDS,
            ),
            "`deleted:<chat>:<message id>`",
            whatsmeow="DeleteForMe",
            neonize=None,
            fake="message_deleted",
        ),
        EventKind(
            ACK,
            "a receipt: messages delivered, read or played",
            (
                "ids",
                "chat_id",
                "chat_lid",
                "from",
                "from_lid",
                "sender_display_name",
                "receipt_type",
                "receipt_type_description",
                UNRESOLVED_LIDS,
            ),
            "`receipt:<chat>:<sender>:<receipt type>:<sorted message ids>`",
            whatsmeow="Receipt",
            neonize="Receipt",
            fake="receipt",
            fake_input=("`ids`, `sender`, `chat`, `sender_alt`, `chat_alt`, `receipt_type`",),
        ),
        EventKind(
            CHAT_PRESENCE,
            "someone typing, recording a voice note, or stopping",
            (
                "from",
                "from_lid",
                "sender_display_name",
                "chat_id",
                "chat_lid",
                "state",
                "media",
                "is_group",
                UNRESOLVED_LIDS,
            ),
            "`chat_presence:<chat>:<sender>:<state>:<media>:<time seen, ms>`",
            whatsmeow="ChatPresence",
            neonize="ChatPresence",
            fake="chat_presence",
            fake_input=(
                '`sender`, `chat`, `sender_alt`, `chat_alt`, `state: "composing"|"paused"`, `media: ""|"audio"`',
            ),
        ),
        EventKind(
            GROUP_PARTICIPANTS,
            "people joined or left a group, or were promoted or demoted",
            ("chat_id", "type", "jids", "jids_lid", "by", "by_lid", UNRESOLVED_LIDS),
            "`group:<group>:<change>:<sorted jids>:<time>`",
            whatsmeow="GroupInfo",
            neonize="GroupInfoEvent",
            fake="group_participants",
            fake_input=('`chat`, `change: "join"|"leave"|"promote"|"demote"`, `jids`, `by`',),
        ),
        EventKind(
            GROUP_JOINED,
            "this account was added to a group, or joined one through an invite link",
            ("chat_id", "type", "jids", "reason", "group_name"),
            "`group:<group>:joined:<participant version after the join>` (the time seen, ms, if WhatsApp sent none)",
            whatsmeow="JoinedGroup",
            neonize="JoinedGroup",
            fake="group_joined",
            fake_input=(
                '`chat` (`…@g.us`), `reason: ""|"invite"` (default `""`), `group_name`, `version` (the participant '
                "version: the same one is the same event)",
            ),
        ),
        EventKind(
            LABEL_EDIT,
            "a label created, changed or deleted",
            (
                "label_id",
                "name",
                "color",
                "predefined_id",
                "deleted",
                "order_index",
                "is_active",
                "type",
                "is_immutable",
                "mute_end_time_ms",
            ),
            "`label:<label id>:edit:<time, ms>`",
            whatsmeow="LabelEdit",
            neonize=None,
            fake="label_edit",
        ),
        EventKind(
            LABEL_ASSOCIATION,
            "a label put on or taken off a chat",
            ("label_id", "labeled", "chat_id", "chat_lid", UNRESOLVED_LIDS),
            "`label:<label id>:chat:<chat>:<labeled>:<time, ms>`",
            whatsmeow="LabelAssociationChat",
            neonize=None,
            fake="label_association",
        ),
        EventKind(
            NEWSLETTER_JOINED,
            "this account followed a channel",
            ("newsletter_id", "name", "description"),
            "`newsletter:<channel>:joined:<time seen, ms>`",
            whatsmeow="NewsletterJoin",
            neonize="NewsletterJoin",
            fake="newsletter_joined",
            fake_input=("`newsletter_id` (`…@newsletter`), `name`, `description`",),
        ),
        EventKind(
            NEWSLETTER_LEFT,
            "this account unfollowed a channel",
            ("newsletter_id", "role"),
            "`newsletter:<channel>:left:<time seen, ms>`",
            whatsmeow="NewsletterLeave",
            neonize="NewsletterLeave",
            fake="newsletter_left",
            fake_input=("`newsletter_id`, `role` (default `subscriber`)",),
        ),
        EventKind(
            NEWSLETTER_MESSAGE,
            "views and reactions of a followed channel's posts (the posts arrive as `message`)",
            ("newsletter_id", "messages"),
            "`newsletter:<channel>:update:<WhatsApp's time, ms>:<post server ids>`",
            whatsmeow="NewsletterLiveUpdate",
            neonize="NewsletterLiveUpdate",
            fake="newsletter_message",
            fake_input=('`newsletter_id`, `messages: [{"server_id", "views_count", "reaction_counts": {"👍": 50}}]`',),
        ),
        EventKind(
            NEWSLETTER_MUTE,
            "a followed channel muted or unmuted",
            ("newsletter_id", "mute"),
            "`newsletter:<channel>:mute:<on|off>:<time seen, ms>`",
            whatsmeow="NewsletterMuteChange",
            neonize="NewsletterMuteChange",
            fake="newsletter_mute",
            fake_input=('`newsletter_id`, `mute: "on"|"off"`',),
        ),
        EventKind(
            CALL_OFFER,
            "an incoming call",
            (
                "call_id",
                "from",
                "from_lid",
                "sender_display_name",
                "auto_rejected",
                "remote_platform",
                "remote_version",
                UNRESOLVED_LIDS,
            ),
            "`call:<call id>:offer`",
            whatsmeow="CallOffer",
            neonize="CallOffer",
            fake="call_offer",
            fake_input=(
                "`call_id`, `sender`, `sender_alt`, `platform`, `version` "
                "(a `group` is refused: neonize never has one)",
            ),
        ),
        EventKind(
            HISTORY_SYNC,
            "past messages of one chat that WhatsApp sent in a history sync (at pairing, or on demand), "
            "those sent from the phone included; delivered only with WAGW_WEBHOOK_HISTORY_SYNC",
            ("chat_id", "chat_lid", "messages", UNRESOLVED_LIDS),
            "`history:<chat>:<digest of its message ids>`",
            whatsmeow="HistorySync",
            neonize="HistorySync",
            fake="history_sync",
            fake_input=(
                "`chat`, `chat_alt`, `messages`: a list of `message` control messages without `type` (each "
                "takes the history's `chat`; one sent from the phone has `is_from_me: true` and the account "
                "as `sender`), at most 100",
            ),
        ),
    )
}

EVENT_NAMES = tuple(KINDS)
# whatsmeow reports these through app-state sync (DeleteForMe, LabelEdit, LabelAssociationChat),
# which goneonize (neonize 0.5.2) never hands to Python (docs/events.md).
NOT_FROM_NEONIZE = tuple(name for name, kind in KINDS.items() if kind.neonize is None)
