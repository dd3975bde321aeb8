"""wagw's event model: ids, bodies and the fake backend's control messages (pure logic)."""

from __future__ import annotations

import json

import pytest

from wagw import events
from wagw.whatsapp.fake_inbound import Malformed, fake_media, fake_media_bytes, to_event

DEVICE = "15550001111@s.whatsapp.net"
ALICE = "15551234567@s.whatsapp.net"


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


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([], "not a JSON object"),
        ({"type": "message", "sender": ALICE}, "missing 'id'"),
        ({"type": "message", "id": "M"}, "missing 'sender'"),
        ({"type": "message", "id": 5, "sender": ALICE}, "'id' must be a string"),
        ({"type": "message", "id": "M", "sender": ALICE, "timestamp": "noon"}, "unix seconds"),
        ({"type": "message", "id": "M", "sender": ALICE, "media": {"kind": "hologram"}}, "media.kind"),
        ({"type": "receipt", "sender": ALICE, "ids": []}, "non-empty list"),
        ({"type": "group_participants", "chat": "1@g.us", "change": "kick", "jids": [ALICE]}, "'change'"),
        ({"type": "warp"}, "unknown type"),
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
