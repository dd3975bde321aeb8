"""The bodies wagw delivers match go-whatsapp-web-multidevice's documented webhook format
(docs/webhook-payload.md in that repository) field by field, for the message, reply,
reaction and ack examples. The documented examples are transcribed below as data; each is
rebuilt through wagw's own event constructors and the body the session enqueues
(`wagw.events.build_body`), which is the exact string `deliver` signs and sends."""

from __future__ import annotations

import json

import pytest

from wagw import events

# Upstream's `sender_display_name` prefers a saved-contact name from its contact store; wagw's
# session makes no such lookup, so the field is present with its documented type but its
# value comes from the event itself (see test_sender_display_name_falls_back below).
SAME_TYPE_ONLY = {"sender_display_name"}
# wagw's own top-level additions (SPEC): the stable event id, and the time on every event.
WAGW_TOP_LEVEL = {"id", "timestamp", "account"}

TEXT = {
    "event": "message",
    "device_id": "628987654321@s.whatsapp.net",
    "payload": {
        "id": "3EB0C127D7BACC83D6A1",
        "chat_id": "628987654321@s.whatsapp.net",
        "from": "628123456789@s.whatsapp.net",
        "from_lid": "251556368777322@lid",
        "sender_display_name": "Saved Contact",
        "from_name": "John Doe",
        "timestamp": "2023-10-15T10:30:00Z",
        "is_from_me": False,
        "body": "Hello, how are you?",
    },
}
REPLY = {
    "event": "message",
    "device_id": "628987654321@s.whatsapp.net",
    "payload": {
        "id": "3EB0C127D7BACC83D6A2",
        "chat_id": "628987654321@s.whatsapp.net",
        "from": "628123456789@s.whatsapp.net",
        "sender_display_name": "Saved Contact",
        "from_name": "John Doe",
        "timestamp": "2023-10-15T10:35:00Z",
        "is_from_me": False,
        "body": "I'm doing great, thanks!",
        "replied_to_id": "3EB0C127D7BACC83D6A1",
        "quoted_body": "Hello, how are you?",
    },
}
REACTION = {
    "event": "message.reaction",
    "device_id": "628987654321@s.whatsapp.net",
    "payload": {
        "id": "88760C69D1F35FEB239102699AE9XXXX",
        "chat_id": "628987654321@s.whatsapp.net",
        "from": "628123456789@s.whatsapp.net",
        "sender_display_name": "Saved Contact",
        "from_name": "John Doe",
        "timestamp": "2023-10-15T10:40:00Z",
        "is_from_me": False,
        "reaction": "👍",
        "reacted_message_id": "3EB0C127D7BACC83D6A1",
    },
}
ACK_DELIVERED = {
    "event": "message.ack",
    "device_id": "628123456789@s.whatsapp.net",
    "timestamp": "2025-07-18T22:44:20Z",
    "payload": {
        "ids": ["3EB00106E8BE0F407E88EC"],
        "chat_id": "120363402106XXXXX@g.us",
        "from": "6289685XXXXXX@s.whatsapp.net",
        "from_lid": "251556368777322@lid",
        "sender_display_name": "Saved Contact",
        "receipt_type": "delivered",
        "receipt_type_description": (
            "means the message was delivered to the device (but the user might not have noticed)."
        ),
    },
}
ACK_READ = {
    "event": "message.ack",
    "device_id": "628123456789@s.whatsapp.net",
    "timestamp": "2025-07-18T22:44:44Z",
    "payload": {
        "ids": ["3EB00106E8BE0F407E88EC"],
        "chat_id": "120363402106XXXXX@g.us",
        "from": "6289685XXXXXX@s.whatsapp.net",
        "sender_display_name": "Saved Contact",
        "receipt_type": "read",
        "receipt_type_description": "the user opened the chat and saw the message.",
    },
}


def rebuild(documented: dict) -> dict:
    """The same WhatsApp event through wagw: constructor -> body string -> parsed JSON."""
    p = documented["payload"]
    if documented["event"] == "message":
        event = events.message(
            id=p["id"],
            chat=p["chat_id"],
            sender=p["from"],
            sender_alt=p.get("from_lid"),
            push_name=p["from_name"],
            timestamp=p["timestamp"],
            is_from_me=p["is_from_me"],
            body=p["body"],
            replied_to_id=p.get("replied_to_id"),
            quoted_body=p.get("quoted_body"),
        )
    elif documented["event"] == "message.reaction":
        event = events.reaction(
            id=p["id"],
            chat=p["chat_id"],
            sender=p["from"],
            push_name=p["from_name"],
            timestamp=p["timestamp"],
            is_from_me=p["is_from_me"],
            emoji=p["reaction"],
            target_id=p["reacted_message_id"],
        )
    else:
        event = events.receipt(
            ids=p["ids"],
            chat=p["chat_id"],
            sender=p["from"],
            sender_alt=p.get("from_lid"),
            receipt_type=p["receipt_type"],
            timestamp=documented["timestamp"],
        )
    event_id, body = events.build_body(event, documented["device_id"])
    parsed = json.loads(body)
    assert parsed["id"] == event_id
    return parsed


@pytest.mark.parametrize(
    "documented",
    [TEXT, REPLY, REACTION, ACK_DELIVERED, ACK_READ],
    ids=["text", "reply", "reaction", "ack-delivered", "ack-read"],
)
def test_body_matches_the_documented_format_field_by_field(documented):
    ours = rebuild(documented)
    # Top level: the documented fields with the documented values, plus only wagw's own.
    for field in ("event", "device_id", "timestamp"):
        if field in documented:
            assert ours[field] == documented[field], field
    assert set(ours) - set(documented) <= WAGW_TOP_LEVEL | {"payload"}
    # Payload: every documented field, same name, same JSON type, same value...
    expected = documented["payload"]
    for field, value in expected.items():
        assert field in ours["payload"], f"missing payload.{field}"
        assert type(ours["payload"][field]) is type(value), field
        if field not in SAME_TYPE_ONLY:
            assert ours["payload"][field] == value, field
    # ...and nothing a consumer of that format would not expect.
    assert set(ours["payload"]) == set(expected)


def test_message_without_lid_has_no_from_lid():
    documented = json.loads(json.dumps(TEXT))
    del documented["payload"]["from_lid"]
    assert "from_lid" not in rebuild(documented)["payload"]


def test_sender_display_name_falls_back():
    """Push name first, then the sender JID's user part; absent when there is no sender."""
    assert rebuild(TEXT)["payload"]["sender_display_name"] == TEXT["payload"]["from_name"]
    nameless = json.loads(json.dumps(TEXT))
    nameless["payload"]["from_name"] = ""
    assert rebuild(nameless)["payload"]["sender_display_name"] == "628123456789"
