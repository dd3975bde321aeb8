"""Whom a message mentions is what the caller says (`mentions`), never read from its text.

Given a str, neonize's send_message (and its image and document builders, given a caption)
reads `@` followed by 5 to 16 digits, or `@0`, as a mention of that "number", and for each
`@<digits>@g.us` asks WhatsApp for that group's info (client.py: _parse_mention,
_parse_group_mention): `@0` mentioned nobody real, a price such as `@123456` mentioned a
stranger, and a group id in the text cost a network call per send. A reply carries the
mentions too, and the quoted text when the caller gives it."""

from __future__ import annotations

import base64

import pytest

from tests.conformance.names import ALICE, ALICE_LID, BOB, GROUP
from tests.conformance.roles import FakeAccount
from tests.conformance.test_outbound import PDF, job, png, sent_messages, worker  # noqa: F401

TRICKY = f"call @0 or @123456 about @{GROUP} and @15551234567"


def test_text_is_never_read_for_mentions(worker):  # noqa: F811
    job(worker, "send_text", to=GROUP, text=TRICKY)
    [(_, message)] = sent_messages(worker)
    assert message == {"conversation": TRICKY}
    assert worker.call("calls", entry="GetGroupInfo") == []


def test_the_mentions_given_are_the_mentions_sent(worker):  # noqa: F811
    text = "@15551234567 and @251556368777322, see you at 5"
    job(worker, "send_text", to=GROUP, text=text, mentions=["+1 555 123 4567", ALICE_LID, BOB])
    [(_, message)] = sent_messages(worker)
    sent = message["extendedTextMessage"]
    assert sent["text"] == text
    assert sent["contextInfo"] == {"mentionedJID": [ALICE, ALICE_LID, BOB]}
    assert worker.call("calls", entry="GetGroupInfo") == []


def test_a_reply_carries_its_mentions_and_the_quoted_text(worker):  # noqa: F811
    job(
        worker,
        "send_text",
        to=GROUP,
        text="@15551234567 yes",
        reply_to="3EB0BBBB",
        reply_to_sender=ALICE,
        reply_to_text="Lunch at 12?",
        mentions=[ALICE],
    )
    [(_, message)] = sent_messages(worker)
    assert message["extendedTextMessage"]["contextInfo"] == {
        "stanzaID": "3EB0BBBB",
        "participant": ALICE,
        "quotedMessage": {"conversation": "Lunch at 12?"},
        "mentionedJID": [ALICE],
    }


@pytest.mark.parametrize(
    ("op", "kwargs", "field"),
    [
        ("send_image", {"image": "PNG"}, "imageMessage"),
        ("send_file", {"file": base64.b64encode(PDF).decode(), "filename": "a.pdf"}, "documentMessage"),
    ],
    ids=["image", "file"],
)
def test_a_caption_is_never_read_for_mentions(worker, op, kwargs, field):  # noqa: F811
    kwargs = {key: png() if value == "PNG" else value for key, value in kwargs.items()}
    job(worker, op, to=GROUP, caption=TRICKY, **kwargs)
    [(_, message)] = sent_messages(worker)
    assert message[field]["caption"] == TRICKY and "contextInfo" not in message[field]
    assert worker.call("calls", entry="GetGroupInfo") == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mentions": [GROUP]}, f"mentions: '{GROUP}' is not a user"),
        ({"mentions": ["not a number"]}, "mentions: 'not a number' is neither a JID nor a phone number"),
        ({"reply_to_text": "hi"}, "reply_to_text is only meaningful with reply_to"),
        ({"mentions": [ALICE] * 101}, "mentions: List should have at most 100 items"),
    ],
    ids=["a-group", "not-an-address", "quote-without-reply", "too-many"],
)
def test_bad_mentions_fail_at_once_on_both_backends(worker, settings, redis_conn, kwargs, message):  # noqa: F811
    failed = job(worker, "send_text", to=GROUP, text="hi", **kwargs)
    assert failed["error"] == "InvalidArguments" and failed["permanent"] and message in failed["message"], failed
    fake = FakeAccount(settings, redis_conn).job("send_text", to=GROUP, text="hi", **kwargs)
    assert (fake["error"], fake["message"]) == ("InvalidArguments", failed["message"])
    assert sent_messages(worker) == []


def test_the_fake_records_the_same_mentions_and_quote(worker, settings, redis_conn):  # noqa: F811
    kwargs = {
        "to": GROUP,
        "text": "@15551234567 yes",
        "reply_to": "3EB0BBBB",
        "reply_to_sender": ALICE,
        "reply_to_text": "Lunch?",
        "mentions": [ALICE, ALICE],
    }
    job(worker, "send_text", **kwargs)
    [(_, message)] = sent_messages(worker)
    context = message["extendedTextMessage"]["contextInfo"]
    fake = FakeAccount(settings, redis_conn)
    assert "result" in fake.job("send_text", **kwargs)
    [recorded] = fake.sent("send_text")
    assert recorded["mentions"] == context["mentionedJID"] == [ALICE]
    assert recorded["reply_to_text"] == context["quotedMessage"]["conversation"] == "Lunch?"
