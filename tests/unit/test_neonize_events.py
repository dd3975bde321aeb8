"""neonize's own proto classes -> wagw's documented event JSON.

The protos are neonize's generated modules, imported from neonize's wheel by their top-level
names (the way neonize itself imports them), so the Go library is not loaded into the test
process: pytest forks elsewhere, and a process that has loaded the Go runtime must not fork.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import sys

import pytest

from wagw.events import build_body
from wagw.whatsapp import neonize_events
from wagw.whatsapp.fake_inbound import to_event

_spec = importlib.util.find_spec("neonize")
sys.path.insert(0, os.path.join(os.path.dirname(_spec.origin), "proto"))
import Neonize_pb2 as N  # noqa: E402
from waCommon import WACommon_pb2 as C  # noqa: E402
from waE2E import WAWebProtobufsE2E_pb2 as E  # noqa: E402

DEVICE = "15550001111@s.whatsapp.net"
ALICE = "15551234567@s.whatsapp.net"
ALICE_LID = "251556368777322@lid"
GROUP = "120363402106000000@g.us"
TS = 1764412200  # 2025-11-29T10:30:00Z
ISO = "2025-11-29T10:30:00Z"


def jid(text: str, device: int = 0) -> N.JID:
    user, _, server = text.partition("@")
    return N.JID(User=user, Server=server, Device=device, RawAgent=0, Integrator=0, IsEmpty=False)


def source(
    chat: str = ALICE,
    sender: str = ALICE,
    *,
    from_me=False,
    group=False,
    sender_alt=None,
    recipient_alt=None,
    sender_device=0,
) -> N.MessageSource:
    src = N.MessageSource(Chat=jid(chat), Sender=jid(sender, sender_device), IsFromMe=from_me, IsGroup=group)
    if sender_alt:
        src.SenderAlt.CopyFrom(jid(sender_alt))
    if recipient_alt:
        src.RecipientAlt.CopyFrom(jid(recipient_alt))
    return src


def message(content: E.Message, *, id="3EB0C127D7BACC83D6A1", push_name="Alice", view_once=False, **src) -> N.Message:
    info = N.MessageInfo(MessageSource=source(**src), ID=id, Pushname=push_name, Timestamp=TS, Type="text")
    return N.Message(Info=info, Message=content, IsViewOnce=view_once)


def body_of(events) -> list[dict]:
    return [json.loads(build_body(event, DEVICE)[1]) for event in events]


def one(events) -> dict:
    bodies = body_of(events)
    assert len(bodies) == 1, bodies
    return bodies[0]


# message --------------------------------------------------------------------------------


def test_text_message_direct_chat_matches_the_documented_payload():
    body = one(neonize_events.map_message(message(E.Message(conversation="hi"))))
    assert body["event"] == "message" and body["device_id"] == DEVICE and body["timestamp"] == ISO
    assert len(body["id"]) == 32
    assert body["payload"] == {
        "id": "3EB0C127D7BACC83D6A1",
        "chat_id": ALICE,
        "from": ALICE,
        "sender_display_name": "Alice",
        "from_name": "Alice",
        "timestamp": ISO,
        "is_from_me": False,
        "body": "hi",
    }
    # Top-level field order as in go-whatsapp's examples.
    assert list(body) == ["event", "device_id", "account", "id", "timestamp", "payload"]


def test_missing_push_name_omits_from_name():
    payload = one(neonize_events.map_message(message(E.Message(conversation="hi"), push_name="")))["payload"]
    assert "from_name" not in payload and payload["from"] == ALICE


def test_group_message_uses_group_chat_and_participant_sender():
    event = message(
        E.Message(extendedTextMessage=E.ExtendedTextMessage(text="hello all")), chat=GROUP, sender=ALICE, group=True
    )
    payload = one(neonize_events.map_message(event))["payload"]
    assert payload["chat_id"] == GROUP and payload["from"] == ALICE and payload["body"] == "hello all"
    assert "chat_lid" not in payload and "from_lid" not in payload


def test_lid_sender_in_direct_chat_resolves_phone_number_and_keeps_lid():
    event = message(E.Message(conversation="hi"), chat=ALICE_LID, sender=ALICE_LID, sender_alt=ALICE)
    payload = one(neonize_events.map_message(event))["payload"]
    assert payload["chat_id"] == ALICE and payload["chat_lid"] == ALICE_LID
    assert payload["from"] == ALICE and payload["from_lid"] == ALICE_LID


def test_lid_sender_in_group_without_known_phone_number_stays_lid():
    event = message(E.Message(conversation="hi"), chat=GROUP, sender=ALICE_LID, group=True)
    payload = one(neonize_events.map_message(event))["payload"]
    assert payload["chat_id"] == GROUP and payload["from"] == ALICE_LID and payload["from_lid"] == ALICE_LID


def test_sent_from_the_phone_uses_recipient_alt_for_the_chat():
    event = message(
        E.Message(conversation="on my way"), chat=ALICE_LID, sender=DEVICE, from_me=True, recipient_alt=ALICE
    )
    payload = one(neonize_events.map_message(event))["payload"]
    assert payload["is_from_me"] is True and payload["chat_id"] == ALICE and payload["chat_lid"] == ALICE_LID
    assert payload["from"] == DEVICE


def test_device_part_of_sender_is_dropped():
    event = message(E.Message(conversation="hi"), sender_device=7)
    assert one(neonize_events.map_message(event))["payload"]["from"] == ALICE


def test_reply_adds_replied_to_id_and_quoted_body():
    context = E.ContextInfo(
        stanzaID="3EB0ORIGINAL", participant=ALICE, quotedMessage=E.Message(conversation="Hello, how are you?")
    )
    content = E.Message(extendedTextMessage=E.ExtendedTextMessage(text="great, thanks", contextInfo=context))
    payload = one(neonize_events.map_message(message(content)))["payload"]
    assert payload["body"] == "great, thanks"
    assert payload["replied_to_id"] == "3EB0ORIGINAL" and payload["quoted_body"] == "Hello, how are you?"


def test_reply_to_an_image_quotes_its_caption():
    quoted = E.Message(imageMessage=E.ImageMessage(caption="the photo"))
    context = E.ContextInfo(stanzaID="3EB0IMG", quotedMessage=quoted)
    content = E.Message(extendedTextMessage=E.ExtendedTextMessage(text="nice", contextInfo=context))
    payload = one(neonize_events.map_message(message(content)))["payload"]
    assert payload["quoted_body"] == "the photo"


def test_image_with_caption_has_body_and_media_object():
    image = E.ImageMessage(
        URL="https://mmg.whatsapp.net/x",
        mimetype="image/jpeg",
        caption="Check this out!",
        fileLength=1234,
        directPath="/v/t62/x",
        mediaKey=b"k" * 32,
        fileSHA256=b"s" * 32,
        fileEncSHA256=b"e" * 32,
    )
    payload = one(neonize_events.map_message(message(E.Message(imageMessage=image))))["payload"]
    assert payload["body"] == "Check this out!"
    assert payload["image"] == {
        "url": "https://mmg.whatsapp.net/x",
        "mime_type": "image/jpeg",
        "caption": "Check this out!",
        "file_length": 1234,
        "direct_path": "/v/t62/x",
        "media_key": base64.b64encode(b"k" * 32).decode(),
        "file_sha256": base64.b64encode(b"s" * 32).decode(),
        "file_enc_sha256": base64.b64encode(b"e" * 32).decode(),
    }


def test_media_without_caption_has_no_body():
    audio = E.AudioMessage(URL="https://mmg.whatsapp.net/a", mimetype="audio/ogg; codecs=opus", seconds=7, PTT=True)
    payload = one(neonize_events.map_message(message(E.Message(audioMessage=audio))))["payload"]
    assert "body" not in payload
    assert payload["audio"] == {
        "url": "https://mmg.whatsapp.net/a",
        "mime_type": "audio/ogg; codecs=opus",
        "seconds": 7,
        "ptt": True,
    }


def test_document_with_caption_wrapper_is_unwrapped():
    doc = E.DocumentMessage(
        URL="https://mmg.whatsapp.net/d", fileName="report.pdf", mimetype="application/pdf", caption="Monthly report"
    )
    content = E.Message(documentWithCaptionMessage=E.FutureProofMessage(message=E.Message(documentMessage=doc)))
    payload = one(neonize_events.map_message(message(content)))["payload"]
    assert payload["body"] == "Monthly report"
    assert (
        payload["document"]["filename"] == "report.pdf" and payload["document"]["url"] == "https://mmg.whatsapp.net/d"
    )


def test_view_once_image_and_forwarded_text():
    inner = E.Message(imageMessage=E.ImageMessage(URL="https://x", mimetype="image/jpeg"))
    content = E.Message(viewOnceMessageV2=E.FutureProofMessage(message=inner))
    payload = one(neonize_events.map_message(message(content)))["payload"]
    assert payload["view_once"] is True and payload["image"]["url"] == "https://x"

    forwarded = E.Message(
        extendedTextMessage=E.ExtendedTextMessage(text="fwd", contextInfo=E.ContextInfo(isForwarded=True))
    )
    assert one(neonize_events.map_message(message(forwarded)))["payload"]["forwarded"] is True


def test_sticker_video_note_location_and_contact():
    sticker = one(neonize_events.map_message(message(E.Message(stickerMessage=E.StickerMessage(URL="https://s")))))
    assert sticker["payload"]["sticker"] == {"url": "https://s"}
    note = one(neonize_events.map_message(message(E.Message(ptvMessage=E.VideoMessage(URL="https://v", seconds=3)))))
    assert note["payload"]["video_note"] == {"url": "https://v", "seconds": 3}
    loc = E.LocationMessage(degreesLatitude=-6.2088, degreesLongitude=106.8456, name="Jakarta")
    located = one(neonize_events.map_message(message(E.Message(locationMessage=loc))))["payload"]
    assert located["location"] == {"degreesLatitude": -6.2088, "degreesLongitude": 106.8456, "name": "Jakarta"}
    card = E.ContactMessage(displayName="3Care", vcard="BEGIN:VCARD\nEND:VCARD")
    assert one(neonize_events.map_message(message(E.Message(contactMessage=card))))["payload"]["contact"] == {
        "displayName": "3Care",
        "vcard": "BEGIN:VCARD\nEND:VCARD",
    }


def test_ephemeral_wrapper_is_unwrapped():
    content = E.Message(ephemeralMessage=E.FutureProofMessage(message=E.Message(conversation="vanishing")))
    assert one(neonize_events.map_message(message(content)))["payload"]["body"] == "vanishing"


def test_plumbing_and_other_protocol_messages_make_no_event():
    key_share = E.Message(senderKeyDistributionMessage=E.SenderKeyDistributionMessage(groupID=GROUP))
    assert neonize_events.map_message(message(key_share)) == []
    history = E.Message(protocolMessage=E.ProtocolMessage(type=E.ProtocolMessage.HISTORY_SYNC_NOTIFICATION))
    assert neonize_events.map_message(message(history)) == []


# reaction / revoked / edited -------------------------------------------------------------


def test_reaction():
    react = E.ReactionMessage(key=C.MessageKey(remoteJID=ALICE, fromMe=True, ID="3EB0TARGET"), text="👍")
    body = one(neonize_events.map_message(message(E.Message(reactionMessage=react), id="88760C69D1F35FEB")))
    assert body["event"] == "message.reaction"
    assert body["payload"] == {
        "id": "88760C69D1F35FEB",
        "chat_id": ALICE,
        "from": ALICE,
        "sender_display_name": "Alice",
        "from_name": "Alice",
        "timestamp": ISO,
        "is_from_me": False,
        "reaction": "👍",
        "reacted_message_id": "3EB0TARGET",
    }


def test_revoked():
    protocol = E.ProtocolMessage(
        type=E.ProtocolMessage.REVOKE, key=C.MessageKey(remoteJID=ALICE, fromMe=False, ID="94D1")
    )
    body = one(neonize_events.map_message(message(E.Message(protocolMessage=protocol), id="F406")))
    assert body["event"] == "message.revoked"
    assert body["payload"]["revoked_message_id"] == "94D1" and body["payload"]["revoked_from_me"] is False
    assert body["payload"]["revoked_chat"] == ALICE and body["payload"]["id"] == "F406"


def test_edited_through_the_edited_message_wrapper():
    protocol = E.ProtocolMessage(
        type=E.ProtocolMessage.MESSAGE_EDIT,
        key=C.MessageKey(remoteJID=ALICE, ID="94D1"),
        editedMessage=E.Message(conversation="Updated message text"),
    )
    content = E.Message(editedMessage=E.FutureProofMessage(message=E.Message(protocolMessage=protocol)))
    body = one(neonize_events.map_message(message(content, id="D627")))
    assert body["event"] == "message.edited"
    assert body["payload"]["original_message_id"] == "94D1" and body["payload"]["body"] == "Updated message text"


# receipt ----------------------------------------------------------------------------------


def test_read_receipt_in_group():
    receipt = N.Receipt(
        MessageSource=source(chat=GROUP, sender=ALICE, group=True),
        MessageIDs=["3EB001", "3EB002"],
        Timestamp=TS,
        Type=N.Receipt.READ,
    )
    body = one(neonize_events.map_receipt(receipt))
    assert body["event"] == "message.ack" and body["timestamp"] == ISO
    assert body["payload"] == {
        "ids": ["3EB001", "3EB002"],
        "chat_id": GROUP,
        "from": ALICE,
        "sender_display_name": "15551234567",
        "receipt_type": "read",
        "receipt_type_description": "the user opened the chat and saw the message.",
    }


def test_delivered_receipt_from_lid_sender():
    receipt = N.Receipt(
        MessageSource=source(chat=ALICE_LID, sender=ALICE_LID, sender_alt=ALICE),
        MessageIDs=["X"],
        Timestamp=TS,
        Type=N.Receipt.DELIVERED,
    )
    payload = one(neonize_events.map_receipt(receipt))["payload"]
    assert payload["receipt_type"] == "delivered" and payload["from"] == ALICE and payload["from_lid"] == ALICE_LID


def test_receipts_from_secondary_devices_are_skipped():
    receipt = N.Receipt(MessageSource=source(sender_device=3), MessageIDs=["X"], Timestamp=TS, Type=N.Receipt.READ)
    assert neonize_events.map_receipt(receipt) == []


# group participants / call offer --------------------------------------------------------


def test_group_info_with_join_and_leave_gives_two_events():
    bob = "15559876543@s.whatsapp.net"
    info = N.GroupInfoEvent(
        JID=jid(GROUP),
        Timestamp=TS,
        Join=[jid(ALICE), jid(bob, 2)],
        Leave=[jid(ALICE_LID)],
        Notify="",
        PrevParticipantsVersionID="",
        ParticipantVersionID="",
        JoinReason="",
    )
    bodies = body_of(neonize_events.map_group_info(info))
    assert [b["event"] for b in bodies] == ["group.participants", "group.participants"]
    assert bodies[0]["payload"] == {"chat_id": GROUP, "type": "join", "jids": [ALICE, bob]}
    assert bodies[1]["payload"] == {"chat_id": GROUP, "type": "leave", "jids": [ALICE_LID]}
    assert bodies[0]["timestamp"] == ISO and bodies[0]["id"] != bodies[1]["id"]


def test_group_info_without_participant_changes_gives_nothing():
    info = N.GroupInfoEvent(
        JID=jid(GROUP), Timestamp=TS, Notify="", PrevParticipantsVersionID="", ParticipantVersionID="", JoinReason=""
    )
    info.Name.Name = "renamed"
    assert neonize_events.map_group_info(info) == []


def joined_group(group: str, *, reason: str = "", name: str = "", version: str = "") -> N.JoinedGroup:
    """As goneonize's EncodeJoinedGroup builds it: Type is a copy of Reason, no Sender."""
    info = N.GroupInfo(JID=jid(group), ParticipantVersionID=version, GroupCreated=float(TS))
    info.GroupName.Name = name
    info.Participants.add(JID=jid(ALICE_LID), LID=jid(ALICE_LID), PhoneNumber=jid(ALICE), IsAdmin=True)
    return N.JoinedGroup(Reason=reason, Type=reason, CreateKey="", GroupInfo=info)


def test_joined_group_through_an_invite_names_the_group_and_the_account():
    [event] = neonize_events.map_joined_group(joined_group(GROUP, reason="invite", name="Team", version="v7"))
    [body] = body_of([event])
    assert body["event"] == "group.joined" and body["timestamp"].endswith("Z")  # the session's clock
    assert body["payload"] == {
        "chat_id": GROUP,
        "type": "join",
        "jids": [DEVICE],
        "reason": "invite",
        "group_name": "Team",
    }
    assert event.source_key == f"group:{GROUP}:joined:v7"  # the same join redelivered is the same id


def test_joined_group_when_added_without_a_name_or_version():
    [event] = neonize_events.map_joined_group(joined_group(GROUP))
    assert event.payload == {"chat_id": GROUP, "type": "join", "jids": [], "reason": ""}
    assert event.source_key.startswith(f"group:{GROUP}:joined:")
    assert neonize_events.map_joined_group(N.JoinedGroup(Reason="", Type="", CreateKey="")) == []
    assert neonize_events.map_joined_group(joined_group(ALICE)) == []  # never a direct chat


def test_call_offer():
    meta = N.BasicCallMeta(
        callID="ABC123DEF456", timestamp=TS, callCreator=jid(ALICE, 5), callCreatorAlt=jid(ALICE_LID)
    )
    getattr(meta, "from").CopyFrom(jid(ALICE, 5))
    offer = N.CallOffer(
        basicCallMeta=meta, callRemoteMeta=N.CallRemoteMeta(remotePlatform="android", remoteVersion="2.24.1.5")
    )
    body = one(neonize_events.map_call_offer(offer))
    assert body["event"] == "call.offer" and body["timestamp"] == ISO
    assert body["payload"] == {
        "call_id": "ABC123DEF456",
        "from": ALICE,
        "from_lid": ALICE_LID,
        "sender_display_name": ALICE.split("@")[0],  # go-whatsapp's label; no contact lookup here
        "auto_rejected": False,
        "remote_platform": "android",
        "remote_version": "2.24.1.5",
    }


def test_a_call_from_a_group_has_no_group_jid():
    """neonize passes on no group for a call; wagw no longer guesses one from "from"."""
    meta = N.BasicCallMeta(callID="C2", timestamp=TS, callCreator=jid(ALICE), callCreatorAlt=jid(ALICE_LID))
    getattr(meta, "from").CopyFrom(jid(GROUP))
    offer = N.CallOffer(basicCallMeta=meta, callRemoteMeta=N.CallRemoteMeta(remotePlatform="", remoteVersion=""))
    payload = one(neonize_events.map_call_offer(offer))["payload"]
    assert "group_jid" not in payload and payload["from"] == ALICE


def test_played_self_receipts_arrive_as_server_error_and_mean_played_self():
    """goneonize's EncodeReceipts writes whatsmeow's "played-self" as SERVER_ERROR."""
    receipt = N.Receipt(MessageSource=source(), MessageIDs=["X"], Timestamp=TS, Type=N.Receipt.SERVER_ERROR)
    assert one(neonize_events.map_receipt(receipt))["payload"]["receipt_type"] == "played-self"


# polls, other kinds, status updates ---------------------------------------------------------


@pytest.mark.parametrize("field", ["pollCreationMessage", "pollCreationMessageV2", "pollCreationMessageV3"])
def test_a_poll(field):
    poll = E.PollCreationMessage(
        name="Lunch?",
        options=[E.PollCreationMessage.Option(optionName="Pizza"), E.PollCreationMessage.Option(optionName="Sushi")],
        selectableOptionsCount=0,
    )
    payload = one(neonize_events.map_message(message(E.Message(**{field: poll}))))["payload"]
    assert payload["poll"] == {"question": "Lunch?", "options": ["Pizza", "Sushi"], "max_answers": 0}
    assert "body" not in payload and "unsupported" not in payload


def test_a_poll_vote_names_its_poll():
    vote = E.PollUpdateMessage(pollCreationMessageKey=C.MessageKey(ID="3EB0POLL"))
    payload = one(neonize_events.map_message(message(E.Message(pollUpdateMessage=vote))))["payload"]
    assert payload["poll_vote"] == {"poll_id": "3EB0POLL"}


def test_shared_contacts_and_live_locations():
    contacts = E.ContactsArrayMessage(
        contacts=[E.ContactMessage(displayName="Alice", vcard="BEGIN:VCARD"), E.ContactMessage(displayName="Bob")]
    )
    payload = one(neonize_events.map_message(message(E.Message(contactsArrayMessage=contacts))))["payload"]
    assert payload["contacts_array"] == [
        {"displayName": "Alice", "vcard": "BEGIN:VCARD"},
        {"displayName": "Bob", "vcard": ""},
    ]
    live = E.LiveLocationMessage(degreesLatitude=-6.2, degreesLongitude=106.8)
    payload = one(neonize_events.map_message(message(E.Message(liveLocationMessage=live))))["payload"]
    assert payload["live_location"] == {"degreesLatitude": -6.2, "degreesLongitude": 106.8}


def test_a_kind_wagw_does_not_map_is_labelled_not_empty():
    content = E.Message(eventMessage=E.EventMessage(name="Party"))
    payload = one(neonize_events.map_message(message(content)))["payload"]
    assert payload["unsupported"] == "eventMessage" and "body" not in payload


def test_status_updates_are_not_events():
    event = message(E.Message(conversation="my story"), chat="status@broadcast", sender=ALICE)
    assert neonize_events.map_message(event) == []
    receipt = N.Receipt(
        MessageSource=source(chat="status@broadcast"), MessageIDs=["X"], Timestamp=TS, Type=N.Receipt.READ
    )
    assert neonize_events.map_receipt(receipt) == []


# stability and parity with the fake -------------------------------------------------------


def test_a_presence_from_a_lid_without_its_phone_number_stays_lid():
    """As for messages: `from` is the LID itself when WhatsApp gave no phone number."""
    presence = N.ChatPresence(MessageSource=source(GROUP, ALICE_LID, group=True), State=2, Media=1)
    payload = one(neonize_events.map_chat_presence(presence))["payload"]
    assert (payload["from"], payload["from_lid"], payload["state"], payload["media"]) == (
        ALICE_LID,
        ALICE_LID,
        "paused",
        "",
    )
    assert payload["is_group"] is True and payload["chat_id"] == GROUP


@pytest.mark.parametrize(("role", "name"), [(1, "subscriber"), (2, "guest"), (3, "admin"), (4, "owner")])
def test_newsletter_roles(role, name):
    left = N.NewsletterLeave(ID=jid("120363123456789@newsletter"), Role=role)
    assert one(neonize_events.map_newsletter_leave(left))["payload"]["role"] == name


def test_a_live_update_without_posts_is_no_event():
    update = N.NewsletterLiveUpdate(JID=jid("120363123456789@newsletter"), TIME=TS)
    assert neonize_events.map_newsletter_update(update) == []


def test_an_ad_referral_takes_only_what_whatsapp_set():
    ad = E.ContextInfo.ExternalAdReplyInfo(
        ctwaClid="CLID", title="Farm", body="", mediaType=E.ContextInfo.ExternalAdReplyInfo.VIDEO, adType=1
    )
    text = E.ExtendedTextMessage(text="hello", contextInfo=E.ContextInfo(externalAdReply=ad))
    payload = one(neonize_events.map_message(message(E.Message(extendedTextMessage=text))))["payload"]
    assert payload["referral"] == {"ctwa_clid": "CLID", "ad_title": "Farm", "media_type": "VIDEO", "ad_type": "CAWC"}
    assert payload["body"] == "hello"


def test_same_event_twice_has_the_same_id_and_body():
    first = build_body(neonize_events.map_message(message(E.Message(conversation="hi")))[0], DEVICE)
    again = build_body(neonize_events.map_message(message(E.Message(conversation="hi")))[0], DEVICE)
    other = build_body(neonize_events.map_message(message(E.Message(conversation="hi"), id="OTHER"))[0], DEVICE)
    assert first == again and first[0] != other[0]


@pytest.mark.parametrize(
    ("proto_event", "fake"),
    [
        (
            lambda: neonize_events.map_message(message(E.Message(conversation="hi")))[0],
            {
                "type": "message",
                "id": "3EB0C127D7BACC83D6A1",
                "chat": ALICE,
                "sender": ALICE,
                "push_name": "Alice",
                "text": "hi",
                "timestamp": TS,
            },
        ),
        (
            lambda: neonize_events.map_message(
                message(E.Message(reactionMessage=E.ReactionMessage(key=C.MessageKey(ID="T1"), text="❤")), id="R1")
            )[0],
            {
                "type": "reaction",
                "id": "R1",
                "chat": ALICE,
                "sender": ALICE,
                "push_name": "Alice",
                "target_id": "T1",
                "emoji": "❤",
                "timestamp": TS,
            },
        ),
        (
            lambda: neonize_events.map_receipt(
                N.Receipt(MessageSource=source(), MessageIDs=["A", "B"], Timestamp=TS, Type=N.Receipt.READ)
            )[0],
            {
                "type": "receipt",
                "ids": ["A", "B"],
                "chat": ALICE,
                "sender": ALICE,
                "receipt_type": "read",
                "timestamp": TS,
            },
        ),
        (
            lambda: neonize_events.map_message(
                message(E.Message(conversation="hi"), chat=ALICE_LID, sender=ALICE_LID, sender_alt=ALICE)
            )[0],
            {
                "type": "message",
                "id": "3EB0C127D7BACC83D6A1",
                "chat": ALICE_LID,
                "sender": ALICE_LID,
                "sender_alt": ALICE,
                "chat_alt": ALICE,
                "push_name": "Alice",
                "text": "hi",
                "timestamp": TS,
            },
        ),
    ],
    ids=["message", "reaction", "receipt", "lid-message"],
)
def test_fake_backend_maps_the_same_event_to_the_same_json(proto_event, fake):
    assert build_body(to_event(fake), DEVICE) == build_body(proto_event(), DEVICE)


def test_the_go_library_was_not_loaded_into_the_test_process():
    assert "neonize.client" not in sys.modules and "neonize" not in sys.modules
