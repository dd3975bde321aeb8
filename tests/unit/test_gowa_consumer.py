"""A consumer written for go-whatsapp-web-multidevice reads wagw's webhooks unchanged.

The models below are that gateway's docs/webhook-payload.md turned into code, event by event
(its field tables, and its examples where a table is missing): the fields it documents, with
the types it documents, required unless the docs make them conditional ("if available",
"only when included", "optional"). Nothing of wagw's is used to write them. Each wagw body,
made by the fake's control messages (tests/conformance/test_parity.py shows the neonize
backend gives the same JSON) or by wagw.events' constructors for the kinds no backend makes
yet, is parsed with them: the documented fields must be there, with the documented types.
Extra fields are ignored, as a consumer ignores them.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

import pytest
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from wagw import events
from wagw.events import KINDS, InboundEvent, build_body
from wagw.events.lids import with_phone_numbers
from wagw.whatsapp.fake_inbound import to_event

DEVICE = "628123456789@s.whatsapp.net"
ALICE = "628987654321@s.whatsapp.net"
ALICE_LID = "251556368777322@lid"
STRANGER_LID = "99887766554433@lid"  # a LID whose phone number the store does not know
GROUP = "120363402106000000@g.us"
NEWSLETTER = "120363123456789@newsletter"
TS = 1764412200
VCARD = "BEGIN:VCARD\nVERSION:3.0\nN:;3Care;;;\nFN:3Care\nTEL;type=Mobile:+62 132\nEND:VCARD"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _rfc3339(value: str) -> str:
    assert RFC3339.match(value), f"not an RFC 3339 time: {value!r}"
    return value


Time = Annotated[StrictStr, AfterValidator(_rfc3339)]
Number = StrictInt | StrictFloat


class Doc(BaseModel):
    """A documented object: strict types, unknown fields ignored (a consumer skips them).
    `from` is a Python keyword: models read it into `from_`."""

    model_config = ConfigDict(strict=True, extra="ignore")


# "Payload Structure": event, device_id, payload (session_id is omitted when there is none).
class Envelope(Doc):
    event: Literal[
        "message",
        "message.reaction",
        "message.revoked",
        "message.edited",
        "message.ack",
        "message.deleted",
        "chat_presence",
        "group.participants",
        "group.joined",
        "label.edit",
        "label.association",
        "newsletter.joined",
        "newsletter.left",
        "newsletter.message",
        "newsletter.mute",
        "call.offer",
    ]
    device_id: StrictStr
    timestamp: Time | None = None
    payload: dict[str, Any]


# "Common Payload Fields" of message events.
class MessageCommon(Doc):
    id: StrictStr
    chat_id: StrictStr
    from_: StrictStr = Field(alias="from")
    from_lid: StrictStr | None = None
    sender_display_name: StrictStr  # "present only when from is a non-empty string": it always is here
    from_name: StrictStr | None = None  # push name; absent when WhatsApp sent none
    timestamp: Time
    is_from_me: StrictBool


class Text(MessageCommon):
    body: StrictStr


class Reply(Text):
    replied_to_id: StrictStr
    quoted_body: StrictStr


class Reaction(MessageCommon):
    reaction: StrictStr
    reacted_message_id: StrictStr


class Revoked(MessageCommon):
    revoked_message_id: StrictStr
    revoked_from_me: StrictBool
    revoked_chat: StrictStr


class Edited(MessageCommon):
    original_message_id: StrictStr
    body: StrictStr


class UnreadableEdit(MessageCommon):
    """An edit encrypted with the original message's secret: no text, the reason instead."""

    original_message_id: StrictStr
    body_unreadable: StrictStr


class Forwarded(Text):
    forwarded: Literal[True]


# "Media Messages": with auto-download off, "an object with the URL" (with the caption, or a
# document's filename); with it on, a path string.
class MediaObject(Doc):
    url: StrictStr
    caption: StrictStr | None = None


class DocumentObject(MediaObject):
    filename: StrictStr


MediaField = StrictStr | MediaObject


class Image(MessageCommon):
    image: MediaField


class CaptionedImage(Image):
    body: StrictStr  # "If a caption is present, it is included in the top-level body field"


class Video(MessageCommon):
    video: MediaField


class Audio(MessageCommon):
    audio: MediaField


class Document(MessageCommon):
    document: StrictStr | DocumentObject


class Sticker(MessageCommon):
    sticker: MediaField


class VideoNote(MessageCommon):
    video_note: MediaField


class ViewOnce(Image):
    view_once: Literal[True]


# "Meta Ads Referral": every field optional ("only present when the message originated from a
# Meta ad"), with these types.
class ReferralInfo(Doc):
    ctwa_clid: StrictStr | None = None
    source_url: StrictStr | None = None
    source_id: StrictStr | None = None
    ref: StrictStr | None = None
    source_app: StrictStr | None = None
    media_type: Literal["NONE", "IMAGE", "VIDEO"] | None = None
    ad_title: StrictStr | None = None
    ad_body: StrictStr | None = None
    thumbnail_url: StrictStr | None = None
    original_image_url: StrictStr | None = None
    media_url: StrictStr | None = None
    show_ad_attribution: StrictBool | None = None
    contains_auto_reply: StrictBool | None = None
    automated_greeting_message_shown: StrictBool | None = None
    greeting_message_body: StrictStr | None = None
    click_to_whatsapp_call: StrictBool | None = None
    source_type: StrictStr | None = None
    ad_type: Literal["CTWA", "CAWC"] | None = None


class Referral(Text):
    referral: ReferralInfo


# "Special Message Types"
class ContactCard(Doc):
    displayName: StrictStr  # that gateway's name
    vcard: StrictStr
    phone_number: StrictStr | None = None  # Go's omitempty: absent when the vCard has no TEL


class Contact(MessageCommon):
    contact: ContactCard


class ContactsArray(MessageCommon):
    contacts_array: list[ContactCard]


class Place(Doc):
    degreesLatitude: Number
    degreesLongitude: Number
    name: StrictStr | None = None
    address: StrictStr | None = None


class Location(MessageCommon):
    location: Place


class LivePlace(Doc):
    degreesLatitude: Number
    degreesLongitude: Number


class LiveLocation(MessageCommon):
    live_location: LivePlace


# "Receipt Event Fields"
class Ack(Doc):
    ids: list[StrictStr]
    chat_id: StrictStr
    from_: StrictStr = Field(alias="from")
    from_lid: StrictStr | None = None
    sender_display_name: StrictStr
    receipt_type: StrictStr
    receipt_type_description: StrictStr


# "Chat Presence Event Fields"
class ChatPresence(Doc):
    from_: StrictStr = Field(alias="from")
    from_lid: StrictStr | None = None
    sender_display_name: StrictStr
    chat_id: StrictStr
    state: Literal["composing", "paused"]
    media: Literal["", "audio"]
    is_group: StrictBool


# "Label Event Fields": everything but label_id only "when included by WhatsApp".
class LabelEdit(Doc):
    label_id: StrictStr
    name: StrictStr | None = None
    color: StrictInt | None = None
    predefined_id: StrictStr | None = None
    deleted: StrictBool | None = None
    order_index: StrictInt | None = None
    is_active: StrictBool | None = None
    type: StrictStr | None = None
    is_immutable: StrictBool | None = None
    mute_end_time_ms: StrictInt | None = None


class LabelAssociation(Doc):
    label_id: StrictStr
    labeled: StrictBool
    chat_id: StrictStr
    chat_lid: StrictStr | None = None


# "Group Event Fields"
class GroupParticipants(Doc):
    chat_id: StrictStr
    type: Literal["join", "leave", "promote", "demote"]
    jids: list[StrictStr]


# group.joined: listed in "Available Webhook Events" with neither a field table nor an example,
# and (in "Ignoring chats/JIDs") with no `from`; its fields are what that gateway's
# forwardJoinedGroupToWebhook sends: the group, "join", the account's own JID, whatsmeow's
# reason ("invite" through a link) and the group's name when it has one.
class GroupJoined(Doc):
    chat_id: StrictStr
    type: Literal["join"]
    jids: list[StrictStr]
    reason: StrictStr
    group_name: StrictStr | None = None


# "Newsletter Event Fields"
class NewsletterJoined(Doc):
    newsletter_id: StrictStr
    name: StrictStr | None = None  # go-whatsapp leaves out an empty name or description
    description: StrictStr | None = None


class NewsletterLeft(Doc):
    newsletter_id: StrictStr
    role: StrictStr


class NewsletterMute(Doc):
    newsletter_id: StrictStr
    mute: Literal["on", "off"]


class NewsletterPost(Doc):
    server_id: StrictInt
    message_id: StrictStr
    type: StrictStr
    timestamp: Time
    views_count: StrictInt | None = None  # "if available"
    reaction_counts: dict[StrictStr, StrictInt] | None = None  # "if available"


class NewsletterMessage(Doc):
    newsletter_id: StrictStr
    messages: list[NewsletterPost]


# "Call Event Fields"
class CallOffer(Doc):
    call_id: StrictStr
    from_: StrictStr = Field(alias="from")
    sender_display_name: StrictStr
    auto_rejected: StrictBool
    remote_platform: StrictStr
    remote_version: StrictStr
    group_jid: StrictStr | None = None  # "optional"


# "Message Deleted": chat_id and original_* only when that gateway's store has the message.
class Deleted(Doc):
    deleted_message_id: StrictStr
    timestamp: Time
    from_: StrictStr = Field(alias="from")
    sender_display_name: StrictStr
    chat_id: StrictStr | None = None
    original_content: StrictStr | None = None
    original_sender: StrictStr | None = None
    original_timestamp: Time | None = None
    was_from_me: StrictBool | None = None
    original_media_type: StrictStr | None = None
    original_filename: StrictStr | None = None


def fake(data: dict) -> InboundEvent:
    event = to_event({"timestamp": TS, **data})
    assert event is not None
    return event


def message(id: str, **fields: Any) -> InboundEvent:
    return fake({"type": "message", "id": id, "sender": ALICE, "push_name": "John Doe", **fields})


def media(kind: str, **fields: Any) -> dict:
    return {"media": {"kind": kind, **fields}}


# (case, wagw event, the event name, the consumer model of its payload)
CASES: list[tuple[str, InboundEvent, str, type[Doc]]] = [
    ("text", message("3EB0A1", text="Hello, how are you?"), "message", Text),
    ("text-lid-sender", message("3EB0A2", sender_alt=ALICE_LID, text="hi"), "message", Text),
    (
        "text-lid-chat",
        message("3EB0A2B", sender=ALICE_LID, sender_alt=ALICE, chat_alt=ALICE, text="hi"),
        "message",
        Text,
    ),
    (
        "text-lid-from-the-store",
        message("3EB0A2C", sender=ALICE_LID, text="hi @251556368777322", mentions=[ALICE_LID]),
        "message",
        Text,
    ),
    (
        "text-unknown-lid",
        message("3EB0A2D", sender=STRANGER_LID, text="hi @99887766554433", mentions=[STRANGER_LID]),
        "message",
        Text,
    ),
    (
        "reply",
        message("3EB0A3", text="I'm doing great", reply_to="3EB0A1", quoted_text="Hello, how are you?"),
        "message",
        Reply,
    ),
    ("forwarded", message("3EB0A4", text="This is a forwarded message", forwarded=True), "message", Forwarded),
    (
        "ad-referral",
        message(
            "3EB0B1",
            text="Hello! I would like more information about the property.",
            referral={
                "ctwa_clid": "FAKE_CLID_abc123xyz",
                "source_url": "https://fb.me/fake-ad-link",
                "source_id": "123456789012345",
                "ref": "landing_page_01",
                "source_app": "facebook",
                "media_type": "IMAGE",
                "ad_title": "Your Dream Farm",
                "ad_body": "Discover exclusive rural properties in the countryside.",
                "thumbnail_url": "https://example.com/ad-thumbnail.jpg",
                "original_image_url": "https://example.com/ad-image.jpg",
                "show_ad_attribution": True,
                "click_to_whatsapp_call": False,
                "contains_auto_reply": False,
                "automated_greeting_message_shown": True,
                "greeting_message_body": "Hello! I want to know more about this ad.",
                "source_type": "ad",
                "ad_type": "CTWA",
            },
        ),
        "message",
        Referral,
    ),
    ("image", message("3EB0A5", **media("image", mimetype="image/jpeg")), "message", Image),
    (
        "image-caption",
        message("3EB0A6", **media("image", mimetype="image/jpeg", caption="Check this out!")),
        "message",
        CaptionedImage,
    ),
    ("view-once", message("3EB0A7", view_once=True, **media("image")), "message", ViewOnce),
    ("video", message("3EB0A8", **media("video", mimetype="video/mp4", caption="Watch this!")), "message", Video),
    ("audio", message("3EB0A9", **media("audio", mimetype="audio/ogg", ptt=True)), "message", Audio),
    (
        "document",
        message("3EB0AA", **media("document", mimetype="application/pdf", filename="report.pdf")),
        "message",
        Document,
    ),
    ("sticker", message("3EB0AB", **media("sticker", mimetype="image/webp")), "message", Sticker),
    ("video-note", message("3EB0AC", **media("video_note", mimetype="video/mp4")), "message", VideoNote),
    ("contact", message("3EB0AD", contact={"name": "3Care", "vcard": VCARD}), "message", Contact),
    (
        "contacts-array",
        message("3EB0AE", contacts=[{"name": "3Care", "vcard": VCARD}, {"name": "Bob", "vcard": "BEGIN:VCARD"}]),
        "message",
        ContactsArray,
    ),
    (
        "location",
        message("3EB0AF", location={"latitude": -6.2088, "longitude": 106.8456, "name": "Jakarta"}),
        "message",
        Location,
    ),
    (
        "live-location",
        message("3EB0B0", live_location={"latitude": -7.8050297, "longitude": 110.4549165}),
        "message",
        LiveLocation,
    ),
    # Polls: that gateway documents no poll payload (wagw's `poll` is an addition), so its
    # consumer reads a poll or a vote as a message with the common fields.
    (
        "poll",
        message("3EB0B2", poll={"question": "Lunch?", "options": ["Pizza", "Sushi"]}),
        "message",
        MessageCommon,
    ),
    ("poll-vote", message("3EB0B3", poll_vote={"poll_id": "3EB0B2"}), "message", MessageCommon),
    # A kind wagw does not map: only neonize labels one (the fake has no such content), so this
    # is the constructor's output as neonize_events makes it.
    (
        "unsupported",
        events.message(
            id="3EB0B4", chat=ALICE, sender=ALICE, timestamp=TS, extra={"unsupported": "groupInviteMessage"}
        ),
        "message",
        MessageCommon,
    ),
    (
        "reaction",
        fake({"type": "reaction", "id": "88760C69", "sender": ALICE, "target_id": "3EB0A1", "emoji": "👍"}),
        "message.reaction",
        Reaction,
    ),
    (
        "revoked",
        fake({"type": "revoked", "id": "F4062F2B", "sender": ALICE, "target_id": "94D13237", "is_from_me": True}),
        "message.revoked",
        Revoked,
    ),
    (
        "edited",
        fake({"type": "edited", "id": "D6271D82", "sender": ALICE, "target_id": "94D13237", "text": "Updated"}),
        "message.edited",
        Edited,
    ),
    (
        "edited-secret",
        fake({"type": "edited", "id": "D6271D83", "sender": ALICE, "target_id": "94D13237", "secret": True}),
        "message.edited",
        UnreadableEdit,
    ),
    *(
        (
            f"{kind}-lid",
            fake({"type": kind, "id": "3EB0C1", "sender": ALICE_LID, "sender_alt": ALICE, "chat_alt": ALICE, **fields}),
            f"message.{kind}",
            model,
        )
        for kind, fields, model in (
            ("reaction", {"target_id": "3EB0A1", "emoji": "👍", "push_name": "John Doe"}, Reaction),
            ("revoked", {"target_id": "3EB0A1", "push_name": "John Doe"}, Revoked),
            ("edited", {"target_id": "3EB0A1", "text": "Updated", "push_name": "John Doe"}, Edited),
        )
    ),
    *(
        (
            f"{kind}-unknown-lid",
            fake({"type": kind, "id": "3EB0C2", "sender": STRANGER_LID, **fields}),
            f"message.{kind}",
            model,
        )
        for kind, fields, model in (
            ("reaction", {"target_id": "3EB0A1", "emoji": "👍"}, Reaction),
            ("revoked", {"target_id": "3EB0A1"}, Revoked),
            ("edited", {"target_id": "3EB0A1", "text": "Updated"}, Edited),
        )
    ),
    (
        "ack-lid-chat",
        fake({"type": "receipt", "ids": ["3EB00107"], "sender": ALICE_LID, "receipt_type": "read"}),
        "message.ack",
        Ack,
    ),
    (
        "ack-unknown-lid",
        fake({"type": "receipt", "ids": ["3EB00108"], "chat": GROUP, "sender": STRANGER_LID}),
        "message.ack",
        Ack,
    ),
    (
        "typing-lid-chat",
        fake({"type": "chat_presence", "sender": ALICE_LID, "state": "composing"}),
        "chat_presence",
        ChatPresence,
    ),
    (
        "typing-unknown-lid",
        fake({"type": "chat_presence", "chat": GROUP, "sender": STRANGER_LID, "state": "composing"}),
        "chat_presence",
        ChatPresence,
    ),
    (
        "group-join-lids",
        fake(
            {
                "type": "group_participants",
                "chat": GROUP,
                "change": "join",
                "jids": [ALICE_LID, STRANGER_LID, "15559876543@s.whatsapp.net"],
                "by": ALICE_LID,
            }
        ),
        "group.participants",
        GroupParticipants,
    ),
    (
        "call-offer-unknown-lid",
        fake(
            {
                "type": "call_offer",
                "call_id": "ABC123DEF458",
                "sender": STRANGER_LID,
                "platform": "android",
                "version": "2",
            }
        ),
        "call.offer",
        CallOffer,
    ),
    (
        "ack-delivered",
        fake({"type": "receipt", "ids": ["3EB00106"], "chat": GROUP, "sender": ALICE, "sender_alt": ALICE_LID}),
        "message.ack",
        Ack,
    ),
    (
        "ack-read",
        fake({"type": "receipt", "ids": ["3EB00106"], "chat": GROUP, "sender": ALICE, "receipt_type": "read"}),
        "message.ack",
        Ack,
    ),
    (
        "typing",
        fake({"type": "chat_presence", "sender": ALICE, "state": "composing"}),
        "chat_presence",
        ChatPresence,
    ),
    ("paused", fake({"type": "chat_presence", "sender": ALICE, "state": "paused"}), "chat_presence", ChatPresence),
    (
        "recording",
        fake({"type": "chat_presence", "sender": ALICE, "state": "composing", "media": "audio"}),
        "chat_presence",
        ChatPresence,
    ),
    (
        "group-typing",
        fake({"type": "chat_presence", "chat": GROUP, "sender": ALICE_LID, "sender_alt": ALICE, "state": "composing"}),
        "chat_presence",
        ChatPresence,
    ),
    *(
        (
            f"group-{change}",
            fake({"type": "group_participants", "chat": GROUP, "change": change, "jids": [ALICE, DEVICE]}),
            "group.participants",
            GroupParticipants,
        )
        for change in events.PARTICIPANT_CHANGES
    ),
    (
        "group-promote-by",
        fake({"type": "group_participants", "chat": GROUP, "change": "promote", "jids": [ALICE], "by": DEVICE}),
        "group.participants",
        GroupParticipants,
    ),
    (
        "group-joined-invite",
        fake({"type": "group_joined", "chat": GROUP, "reason": "invite", "group_name": "Team"}),
        "group.joined",
        GroupJoined,
    ),
    ("group-joined-added", fake({"type": "group_joined", "chat": GROUP}), "group.joined", GroupJoined),
    (
        "newsletter-joined",
        fake({"type": "newsletter_joined", "newsletter_id": NEWSLETTER, "name": "Tech News Daily", "description": "x"}),
        "newsletter.joined",
        NewsletterJoined,
    ),
    (
        "newsletter-left",
        fake({"type": "newsletter_left", "newsletter_id": NEWSLETTER, "role": "subscriber"}),
        "newsletter.left",
        NewsletterLeft,
    ),
    (
        "newsletter-mute",
        fake({"type": "newsletter_mute", "newsletter_id": NEWSLETTER, "mute": "on"}),
        "newsletter.mute",
        NewsletterMute,
    ),
    (
        "call-offer",
        fake({"type": "call_offer", "call_id": "ABC123DEF456", "sender": ALICE, "platform": "android", "version": "2"}),
        "call.offer",
        CallOffer,
    ),
    (
        "call-offer-lid",
        fake(
            {
                "type": "call_offer",
                "call_id": "ABC123DEF457",
                "sender": ALICE_LID,
                "sender_alt": ALICE,
                "platform": "ios",
                "version": "2",
            }
        ),
        "call.offer",
        CallOffer,
    ),
    # No backend makes these yet (neonize 0.5.2 never passes them on): the constructors' output.
    (
        "deleted",
        events.message_deleted(deleted_message_id="3EB0A1", chat=ALICE, sender=ALICE, was_from_me=False, timestamp=TS),
        "message.deleted",
        Deleted,
    ),
    (
        "label-edit",
        events.label_edit(
            label_id="9",
            timestamp=TS * 1000,
            name="Important",
            color=2,
            predefined_id="1",
            deleted=False,
            order_index=1,
            is_active=True,
            type="CUSTOM",
            is_immutable=False,
            mute_end_time_ms=0,
        ),
        "label.edit",
        LabelEdit,
    ),
    (
        "label-association",
        events.label_association(label_id="9", chat=ALICE_LID, chat_alt=ALICE, labeled=True, timestamp=TS),
        "label.association",
        LabelAssociation,
    ),
    (
        "label-association-unknown-lid",
        events.label_association(label_id="9", chat=STRANGER_LID, labeled=True, timestamp=TS),
        "label.association",
        LabelAssociation,
    ),
    (
        "deleted-unknown-lid",
        events.message_deleted(
            deleted_message_id="3EB0A1", chat=STRANGER_LID, sender=STRANGER_LID, was_from_me=False, timestamp=TS
        ),
        "message.deleted",
        Deleted,
    ),
]
NEWSLETTER_UPDATE = fake(
    {
        "type": "newsletter_message",
        "newsletter_id": NEWSLETTER,
        "messages": [{"server_id": 123, "views_count": 1500, "reaction_counts": {"👍": 50, "❤️": 25}}],
    }
)
# What neonize 0.5.2 does not pass on, so wagw cannot send it (docs/events.md): a
# newsletter.message post's message id, type and time (goneonize's EncodeNewsletterMessage).
NEWSLETTER_POST_GAPS = {"message_id", "type", "timestamp"}


# wagw's own kinds, which that gateway has no event for: `history.sync` reaches an endpoint only
# with WAGW_WEBHOOK_HISTORY_SYNC, and each message in it is the payload of a `message` above.
OWN: list[tuple[str, InboundEvent, str]] = [
    (
        "history-sync",
        fake(
            {
                "type": "history_sync",
                "chat": ALICE_LID,
                "chat_alt": ALICE,
                "messages": [
                    {"id": "3EB0H1", "text": "old hi", "push_name": "John Doe", "timestamp": TS - 60},
                    {"id": "3EB0H2", "text": "from the phone", "is_from_me": True, "sender": DEVICE, "timestamp": TS},
                ],
            }
        ),
        "history.sync",
    ),
    (
        "history-sync-unknown-lid",
        fake({"type": "history_sync", "chat": STRANGER_LID, "messages": [{"id": "3EB0H3", "text": "hi"}]}),
        "history.sync",
    ),
]


def body_of(event: InboundEvent) -> dict:
    """The webhook body exactly as delivered (the bytes the session stores, its LIDs as phone
    numbers where the store knows the pair: Alice's), parsed."""
    return json.loads(build_body(with_phone_numbers(event, {ALICE_LID: ALICE}.get), DEVICE)[1])


def no_nulls(value: Any, where: str = "payload") -> None:
    """go-whatsapp leaves a field out rather than send null; a consumer may not expect null."""
    assert value is not None, f"{where} is null"
    if isinstance(value, dict):
        for key, item in value.items():
            no_nulls(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            no_nulls(item, f"{where}[{i}]")


@pytest.mark.parametrize(("event", "name", "model"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_gowa_consumer_reads_every_kind(event, name, model):
    body = body_of(event)
    envelope = Envelope.model_validate(body)
    assert envelope.event == name and envelope.device_id == DEVICE
    no_nulls(body["payload"])
    model.model_validate(body["payload"])


def test_a_newsletter_update_lacks_only_what_neonize_drops():
    """newsletter.message: server id, views and reactions as documented; the post's message id,
    type and time are missing, and nothing else is (the consumer's errors name exactly those)."""
    body = body_of(NEWSLETTER_UPDATE)
    assert Envelope.model_validate(body).event == "newsletter.message"
    no_nulls(body["payload"])
    with pytest.raises(ValidationError) as found:
        NewsletterMessage.model_validate(body["payload"])
    errors = found.value.errors()
    assert {(e["type"], e["loc"][-1]) for e in errors} == {("missing", f) for f in NEWSLETTER_POST_GAPS}
    post = body["payload"]["messages"][0]
    assert (post["server_id"], post["views_count"], post["reaction_counts"]) == (123, 1500, {"❤️": 25, "👍": 50})


def test_group_joined_names_the_account_and_has_no_sender():
    payload = body_of(fake({"type": "group_joined", "chat": GROUP, "reason": "invite", "group_name": "Team"}))[
        "payload"
    ]
    assert GroupJoined.model_validate(payload).jids == [DEVICE]
    assert "from" not in payload  # the docs' "group.joined have no from"
    with pytest.raises(ValidationError):
        GroupJoined.model_validate(payload | {"type": "leave"})


def test_every_body_carries_the_fields_its_kinds_row_lists_and_no_other():
    """The kinds table's fields are what wagw sends: no body carries a field its row lacks (a
    field added to a constructor is added to the row, and so to docs/events.md), and every
    field a row lists is carried by some case above."""
    carried: dict[str, set[str]] = {name: set() for name in KINDS}
    own = [(case, event, name, Doc) for case, event, name in OWN]
    for case, event, name, _ in [*CASES, ("newsletter-message", NEWSLETTER_UPDATE, "newsletter.message", Doc), *own]:
        payload = body_of(event)["payload"]
        unlisted = set(payload) - set(KINDS[name].fields)
        assert not unlisted, f"{case}: {sorted(unlisted)} not in the {name} row of wagw/events/kinds.py"
        carried[name] |= set(payload)
    never = {name: sorted(set(kind.fields) - carried[name]) for name, kind in KINDS.items()}
    assert never == {name: [] for name in KINDS}, "fields a row lists that no case carries"


def test_the_consumer_models_can_fail():
    """The models are not vacuous: a documented field missing or of the wrong type is refused."""
    text = body_of(message("3EB0A1", text="hi"))["payload"]
    with pytest.raises(ValidationError):
        Text.model_validate({k: v for k, v in text.items() if k != "chat_id"})
    with pytest.raises(ValidationError):
        Text.model_validate(text | {"is_from_me": "false"})
    with pytest.raises(ValidationError):
        ChatPresence.model_validate(body_of(CASES[-1][1])["payload"])  # a label is not a presence
    with pytest.raises(ValidationError):
        Envelope.model_validate(body_of(message("3EB0A1", text="hi")) | {"timestamp": "yesterday"})


def test_every_event_and_message_kind_has_a_case():
    """Every kind in the table and every message kind that gateway documents is read above."""
    names = {name for _, _, name, _ in CASES} | {"newsletter.message"} | {name for _, _, name in OWN}
    assert names == set(KINDS)
    message_kinds = {model for _, _, name, model in CASES if name == "message"}
    documented = {Text, Reply, Forwarded, Image, CaptionedImage, ViewOnce, Video, Audio, Document, Sticker}
    documented |= {VideoNote, Contact, ContactsArray, Location, LiveLocation, Referral, MessageCommon}
    assert message_kinds == documented


@pytest.mark.parametrize(("event", "name"), [c[1:] for c in OWN], ids=[c[0] for c in OWN])
def test_each_message_of_a_history_sync_reads_as_that_gateways_message(event, name):
    body = body_of(event)
    assert body["event"] == name and body["payload"]["messages"]
    no_nulls(body["payload"])
    for payload in body["payload"]["messages"]:
        Text.model_validate(payload)
