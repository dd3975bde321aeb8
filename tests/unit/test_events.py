"""wagw's event model: ids, bodies and the fake backend's control messages (pure logic)."""

from __future__ import annotations

import json
import time

import pytest

from chaos.polling import wait_for
from wagw import events
from wagw.whatsapp.fake_inbound import Malformed, fake_media, fake_media_bytes, to_event

DEVICE = "15550001111@s.whatsapp.net"
NEWSLETTER = "120363123456789@newsletter"
ALICE = "15551234567@s.whatsapp.net"
GROUP = "120363402106123456@g.us"


def test_event_id_is_stable_and_depends_on_device_and_source():
    first = events.event_id(DEVICE, "message:a:1")
    assert first == events.event_id(DEVICE, "message:a:1")
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != events.event_id(DEVICE, "message:a:2")
    assert first != events.event_id("15550002222@s.whatsapp.net", "message:a:1")


def test_spec_example_body():
    event = to_event(
        {
            "type": "message",
            "id": "3EB0C127D7BACC83D6A1",
            "chat": ALICE,
            "sender": ALICE,
            "push_name": "Alice",
            "text": "hi",
            "timestamp": 1764412200,
        }
    )
    eid, raw = events.build_body(event, DEVICE)
    assert " " not in raw.replace("Alice", "").replace('"hi"', "")  # compact separators
    assert json.loads(raw) == {
        "event": "message",
        "device_id": DEVICE,
        "account": "default",
        "id": eid,
        "timestamp": "2025-11-29T10:30:00Z",
        "payload": {
            "id": "3EB0C127D7BACC83D6A1",
            "chat_id": ALICE,
            "from": ALICE,
            "sender_display_name": "Alice",
            "from_name": "Alice",
            "timestamp": "2025-11-29T10:30:00Z",
            "is_from_me": False,
            "body": "hi",
        },
    }


def test_body_keeps_non_ascii_as_utf8():
    event = to_event({"type": "reaction", "id": "R", "sender": ALICE, "target_id": "T", "emoji": "👍", "timestamp": 1})
    assert "👍" in events.build_body(event, DEVICE)[1]


def test_redelivered_fake_message_without_timestamp_keeps_its_id():
    data = {"type": "message", "id": "M1", "sender": ALICE, "text": "x"}
    assert events.build_body(to_event(data), DEVICE)[0] == events.build_body(to_event(data), DEVICE)[0]


def test_receipt_id_ignores_time_and_id_order():
    a = events.receipt(ids=["B", "A"], chat=ALICE, sender=ALICE, receipt_type="read", timestamp=1)
    b = events.receipt(ids=["A", "B"], chat=ALICE, sender=ALICE, receipt_type="read", timestamp=2)
    c = events.receipt(ids=["A", "B"], chat=ALICE, sender=ALICE, receipt_type="", timestamp=2)
    assert a.source_key == b.source_key != c.source_key
    assert c.payload["receipt_type"] == "delivered"


@pytest.mark.parametrize(
    ("jid", "expected"),
    [
        ("1555:12@s.whatsapp.net", "1555@s.whatsapp.net"),
        ("1555.0:3@s.whatsapp.net", "1555@s.whatsapp.net"),
        ("2515:4@lid", "2515@lid"),
        ("120363@g.us", "120363@g.us"),
        ("", ""),
        (None, None),
    ],
)
def test_non_ad(jid, expected):
    assert events.non_ad(jid) == expected


def test_fake_message_with_everything():
    event = to_event(
        {
            "type": "message",
            "id": "M",
            "chat": "120363@g.us",
            "sender": "2515@lid",
            "sender_alt": ALICE,
            "text": "see",
            "reply_to": "Q1",
            "quoted_text": "orig",
            "forwarded": True,
            "view_once": True,
            "media": {"kind": "image", "url": "https://x", "mimetype": "image/png"},
            "timestamp": 5,
        }
    )
    assert event.event == "message"
    assert event.payload == {
        "id": "M",
        "chat_id": "120363@g.us",
        "from": ALICE,
        "from_lid": "2515@lid",
        "sender_display_name": "15551234567",
        "timestamp": "1970-01-01T00:00:05Z",
        "is_from_me": False,
        "body": "see",
        "replied_to_id": "Q1",
        "quoted_body": "orig",
        "view_once": True,
        "forwarded": True,
        "image": {"mime_type": "image/png", **fake_media("M", "image")},
        "media": {
            "kind": "image",
            "mime_type": "image/png",
            **{k: v for k, v in fake_media("M", "image").items() if k != "url"},
        },
    }


def test_fake_media_caption_becomes_body():
    event = to_event({"type": "message", "id": "M", "sender": ALICE, "media": {"kind": "video", "caption": "c"}})
    assert event.payload["body"] == "c" and event.payload["video"] == {"caption": "c", **fake_media("M", "video")}


def test_fake_other_event_types():
    revoked = to_event({"type": "revoked", "id": "X", "sender": ALICE, "target_id": "T"})
    assert revoked.event == "message.revoked" and revoked.payload["revoked_message_id"] == "T"
    assert revoked.payload["revoked_chat"] == ALICE
    edited = to_event({"type": "edited", "id": "X", "sender": ALICE, "target_id": "T", "text": "new"})
    assert edited.event == "message.edited" and edited.payload["original_message_id"] == "T"
    group = to_event(
        {"type": "group_participants", "chat": "1@g.us", "change": "promote", "jids": [ALICE], "timestamp": 1}
    )
    assert group.event == "group.participants" and group.payload == {
        "chat_id": "1@g.us",
        "type": "promote",
        "jids": [ALICE],
    }
    call = to_event({"type": "call_offer", "call_id": "C1", "sender": ALICE, "platform": "ios"})
    assert call.event == "call.offer" and call.payload["remote_platform"] == "ios"
    assert {e.event for e in (revoked, edited, group, call)} <= set(events.EVENT_NAMES)


def test_fake_chat_presence_and_newsletter_types():
    typing = to_event({"type": "chat_presence", "sender": ALICE, "state": "composing", "media": "audio"})
    assert typing.event == "chat_presence" and typing.payload == {
        "from": ALICE,
        "sender_display_name": ALICE.split("@")[0],
        "chat_id": ALICE,
        "state": "composing",
        "media": "audio",
        "is_group": False,
    }
    left = to_event({"type": "newsletter_left", "newsletter_id": NEWSLETTER})
    assert (left.event, left.payload) == ("newsletter.left", {"newsletter_id": NEWSLETTER, "role": "subscriber"})
    update = to_event(
        {
            "type": "newsletter_message",
            "newsletter_id": NEWSLETTER,
            "messages": [{"server_id": 7, "views_count": 0, "reaction_counts": {}}],
            "timestamp": 1764412200,
        }
    )
    assert update.payload == {"newsletter_id": NEWSLETTER, "messages": [{"server_id": 7}]}
    assert update.timestamp == "2025-11-29T10:30:00Z"
    assert {e.event for e in (typing, left, update)} <= set(events.EVENT_NAMES)


def test_presence_typed_again_later_is_a_new_event_but_the_same_update_is_not():
    """Presence has no id from WhatsApp: its key holds the time to the millisecond, so typing
    again a second later is not dropped as a duplicate. A live update has WhatsApp's time."""
    typing = {"type": "chat_presence", "sender": ALICE, "state": "composing"}
    first, later = (to_event(typing | {"timestamp": t}) for t in (1764412200.0, 1764412201.0))
    assert first.source_key != later.source_key
    update = {"type": "newsletter_message", "newsletter_id": NEWSLETTER, "messages": [{"server_id": 7}]}
    assert to_event(update | {"timestamp": 5}).source_key == to_event(update | {"timestamp": 5}).source_key


def test_group_joined_body_names_the_account_and_its_id_holds_the_participant_version():
    """go-whatsapp's group.joined: chat_id, type "join", jids = the account itself (which only
    the body knows), reason, group_name when known; the time is the session's."""
    event = to_event({"type": "group_joined", "chat": GROUP, "reason": "invite", "group_name": "Team", "version": "v7"})
    assert event.event == "group.joined" and event.source_key == f"group:{GROUP}:joined:v7"
    eid, body = events.build_body(event, "15550001111:12@s.whatsapp.net", "help-desk")
    doc = json.loads(body)
    assert doc["id"] == eid and doc["account"] == "help-desk" and doc["timestamp"].endswith("Z")
    assert doc["payload"] == {
        "chat_id": GROUP,
        "type": "join",
        "jids": [DEVICE],
        "reason": "invite",
        "group_name": "Team",
    }
    assert event.payload["jids"] == []  # the event itself is unchanged
    added = to_event({"type": "group_joined", "chat": GROUP, "timestamp": 1764412200})
    assert added.timestamp == "2025-11-29T10:30:00Z"
    assert added.payload == {"chat_id": GROUP, "type": "join", "jids": [], "reason": ""}
    assert json.loads(events.build_body(added, None)[1])["payload"]["jids"] == []
    # The same join seen again (same participant version) is the same event, whenever it is seen.
    again = events.group_joined(chat=GROUP, version="v7", timestamp=5)
    assert again.source_key == events.group_joined(chat=GROUP + "", version="v7", timestamp=9).source_key
    with pytest.raises(ValueError, match="not a group JID"):
        events.group_joined(chat=ALICE)


@pytest.mark.parametrize(
    "data",
    [
        {"type": "chat_presence", "sender": ALICE, "state": "composing"},
        {"type": "newsletter_joined", "newsletter_id": NEWSLETTER, "name": "Tech"},
        {"type": "newsletter_left", "newsletter_id": NEWSLETTER},
        {"type": "newsletter_mute", "newsletter_id": NEWSLETTER, "mute": "on"},
        {"type": "newsletter_message", "newsletter_id": NEWSLETTER, "messages": [{"server_id": 7}]},
        {"type": "group_joined", "chat": GROUP, "reason": "invite"},
    ],
)
def test_a_clock_stamped_fake_event_handed_over_again_keeps_its_id(data):
    """Without a "timestamp" the fake stamps its clock, but the id comes from the control
    message: the same message handed over again after a restart (later) is a duplicate, not a
    new event; a different one is a new event."""
    seen_at = time.time()
    first = to_event(data)
    wait_for(lambda: time.time() > seen_at + 0.002, timeout=1, interval=0.001, what="a later clock")
    again = to_event(json.loads(json.dumps(data)))
    assert again.payload == first.payload
    assert again.source_key == first.source_key
    assert to_event(data | {"extra": 1}).source_key != first.source_key


def test_fake_message_content_kinds():
    vcard = "BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nTEL;type=CELL;waid=15557654321:+1 555\n 765 4321\nEND:VCARD"
    event = to_event(
        {
            "type": "message",
            "id": "M",
            "sender": ALICE,
            "location": {"latitude": -6.2088, "longitude": 106.8456, "name": "Jakarta"},
            "live_location": {"latitude": 1, "longitude": 2.5},
            "contact": {"name": "Bob", "vcard": vcard},
            "contacts": [{"name": "Bob", "vcard": vcard}, {"name": "Nobody", "vcard": "BEGIN:VCARD\nEND:VCARD"}],
            "poll_vote": {"poll_id": "3EB0P1"},
        }
    )
    payload = event.payload
    assert payload["location"] == {"degreesLatitude": -6.2088, "degreesLongitude": 106.8456, "name": "Jakarta"}
    assert payload["live_location"] == {"degreesLatitude": 1.0, "degreesLongitude": 2.5}
    bob = {"displayName": "Bob", "vcard": vcard, "phone_number": "+1 555765 4321"}  # folded TEL line joined
    assert payload["contact"] == bob
    assert payload["contacts_array"] == [bob, {"displayName": "Nobody", "vcard": "BEGIN:VCARD\nEND:VCARD"}]
    assert payload["poll_vote"] == {"poll_id": "3EB0P1"}
    assert "body" not in payload


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([], "not a JSON object"),
        ({"type": "message", "sender": ALICE}, "missing 'id'"),
        ({"type": "message", "id": "M"}, "missing 'sender'"),
        ({"type": "message", "id": 5, "sender": ALICE}, "'id' must be a string"),
        ({"type": "message", "id": "M", "sender": ALICE, "timestamp": "noon"}, "unix seconds"),
        # Values JSON allows that no time can be made of, and a type that is not a string:
        # each is refused, never an exception that would end the fake's inbound loop.
        ({"type": "message", "id": "M", "sender": ALICE, "timestamp": float("inf")}, "unix seconds"),
        ({"type": "message", "id": "M", "sender": ALICE, "timestamp": float("nan")}, "unix seconds"),
        ({"type": "chat_presence", "sender": ALICE, "state": "paused", "timestamp": 1e20}, "unix seconds"),
        ({"type": ["message"], "id": "M", "sender": ALICE}, "unknown type"),
        ({"type": {"message": 1}}, "unknown type"),
        ({"type": "message", "id": "M", "sender": ALICE, "media": {"kind": "hologram"}}, "media.kind"),
        ({"type": "receipt", "sender": ALICE, "ids": []}, "non-empty list"),
        ({"type": "group_participants", "chat": "1@g.us", "change": "kick", "jids": [ALICE]}, "'change'"),
        ({"type": "warp"}, "unknown type"),
        ({"type": "chat_presence", "sender": ALICE, "state": "recording"}, "'state' must be one of"),
        ({"type": "chat_presence", "sender": ALICE, "state": "composing", "media": "video"}, "'media' must be one of"),
        ({"type": "chat_presence", "state": "paused"}, "missing 'sender'"),
        ({"type": "newsletter_joined", "newsletter_id": ALICE}, "channel JID"),
        ({"type": "newsletter_left", "newsletter_id": NEWSLETTER, "role": "king"}, "'role' must be one of"),
        ({"type": "newsletter_mute", "newsletter_id": NEWSLETTER}, "'mute' must be one of"),
        ({"type": "newsletter_message", "newsletter_id": NEWSLETTER, "messages": []}, "non-empty list"),
        ({"type": "newsletter_message", "newsletter_id": NEWSLETTER, "messages": [{}]}, "server_id"),
        (
            {
                "type": "newsletter_message",
                "newsletter_id": NEWSLETTER,
                "messages": [{"server_id": 1, "views_count": -1}],
            },
            "'views_count' must be a whole number",
        ),
        (
            {
                "type": "newsletter_message",
                "newsletter_id": NEWSLETTER,
                "messages": [{"server_id": 1, "reaction_counts": {"x": "many"}}],
            },
            "reaction_counts",
        ),
        ({"type": "message", "id": "M", "sender": ALICE, "location": {"latitude": 91, "longitude": 0}}, "latitude"),
        ({"type": "message", "id": "M", "sender": ALICE, "location": {"latitude": True, "longitude": 0}}, "latitude"),
        ({"type": "message", "id": "M", "sender": ALICE, "live_location": "here"}, "'live_location' must be an object"),
        ({"type": "message", "id": "M", "sender": ALICE, "contact": {"name": "Bob"}}, "missing 'vcard'"),
        ({"type": "message", "id": "M", "sender": ALICE, "contacts": []}, "'contacts' must be a non-empty list"),
        ({"type": "message", "id": "M", "sender": ALICE, "poll_vote": {}}, "missing 'poll_id'"),
        ({"type": "message", "id": "M", "sender": ALICE, "referral": {"ad_type": "TV"}}, "'referral.ad_type'"),
        ({"type": "message", "id": "M", "sender": ALICE, "referral": {"ctwa_clid": 5}}, "'ctwa_clid' must be a string"),
        ({"type": "message", "id": "M", "sender": ALICE, "referral": {"ref\n": "x"}}, r"unknown fields: 'ref\\n'"),
        ({"type": "message", "id": "M", "sender": ALICE, "referral": {"source_url": ""}}, "'referral' is empty"),
        ({"type": "group_joined"}, "missing 'chat'"),
        ({"type": "group_joined", "chat": ALICE}, r"'chat' must be a group JID"),
        ({"type": "group_joined", "chat": GROUP, "reason": "kidnapped"}, "'reason' must be one of"),
        ({"type": "group_joined", "chat": GROUP, "group_name": 7}, "'group_name' must be a string"),
        ({"type": "group_joined", "chat": GROUP, "version": ["v1"]}, "'version' must be a string"),
        ({"type": "message_deleted", "id": "M", "sender": ALICE}, "never passes whatsmeow's DeleteForMe"),
        ({"type": "label_edit", "label_id": "9"}, "never passes whatsmeow's LabelEdit"),
        ({"type": "label_association", "label_id": "9"}, "never passes whatsmeow's LabelAssociationChat"),
    ],
)
def test_malformed_fake_messages_say_why(data, reason):
    with pytest.raises(Malformed, match=reason):
        to_event(data)


def test_fake_media_is_deterministic_and_its_bytes_match_file_sha256():
    import base64
    import hashlib

    event = to_event({"type": "message", "id": "M9", "sender": ALICE, "media": {"kind": "document"}})
    again = to_event({"type": "message", "id": "M9", "sender": ALICE, "media": {"kind": "document"}})
    media = event.payload["media"]
    assert media == again.payload["media"]
    assert set(media) == {"kind", *events.DOWNLOAD_FIELDS} - {"mime_type"}
    data = fake_media_bytes(base64.b64decode(media["media_key"]), media["file_length"])
    assert len(data) == media["file_length"]
    assert base64.b64encode(hashlib.sha256(data).digest()).decode() == media["file_sha256"]
    assert media["direct_path"].startswith("/v/t62.fake/")


def test_media_object_carries_only_what_download_needs():
    obj = {
        "url": "https://mmg.whatsapp.net/v/x.enc?oh=1",
        "mime_type": "audio/ogg; codecs=opus",
        "caption": "hi",
        "seconds": 3,
        "direct_path": "/v/x.enc?oh=1",
        "media_key": "k",
        "file_sha256": "p",
        "file_enc_sha256": "e",
        "file_length": 9,
    }
    event = events.message(id="X", chat=ALICE, sender=ALICE, timestamp=1, media=("audio", obj))
    assert event.payload["media"] == {
        "kind": "audio",
        "mime_type": "audio/ogg; codecs=opus",
        "direct_path": "/v/x.enc?oh=1",
        "media_key": "k",
        "file_sha256": "p",
        "file_enc_sha256": "e",
        "file_length": 9,
    }
    # Nothing to download without a direct path and key: no media object.
    bare = events.message(id="X", chat=ALICE, sender=ALICE, timestamp=1, media=("audio", {"caption": "c"}))
    assert "media" not in bare.payload
    no_hash = events.message(
        id="X", chat=ALICE, sender=ALICE, timestamp=1, media=("audio", {**obj, "file_enc_sha256": None})
    )
    assert "media" not in no_hash.payload and no_hash.payload["audio"]["direct_path"] == "/v/x.enc?oh=1"
    # Nor without the plaintext hash: whatsmeow checks the file against it (download_media).
    no_plain = events.message(
        id="X", chat=ALICE, sender=ALICE, timestamp=1, media=("audio", {**obj, "file_sha256": None})
    )
    assert "media" not in no_plain.payload
