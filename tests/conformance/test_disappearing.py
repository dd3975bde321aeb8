"""Sends into a chat with disappearing messages carry its timer (contextInfo.expiration).

whatsmeow adds none and keeps none per chat (tulir/whatsmeow#354: a group's timer is in its
info, a direct chat's only in the messages that set or carry it), so a message wagw sent
stayed in such a chat and the phones marked it "This message will not disappear from the
chat". wagw notes each chat's timer (wagw.disappearing): from set_disappearing, from the
session's inbound messages (a timer change, the timer every message there carries), from a
group's info; the newest word wins."""

from __future__ import annotations

import base64
import time

import pytest

from tests.audiofiles import mp4, ogg_opus
from tests.conformance.names import ALICE, ALICE_LID, BOB, GROUP
from tests.conformance.roles import FakeAccount, NeonizeAccount
from tests.conformance.test_outbound import PDF, png

WEEK, DAY, QUARTER = 604_800, 86_400, 7_776_000


@pytest.fixture
def neonize(go, data_dir, redis_url, redis_conn):
    return NeonizeAccount(go, data_dir, redis_url)


def last_sent(account: NeonizeAccount) -> dict:
    return account.go.call("calls", entry="SendMessage")[-1]["message"]


def timer_of(message: dict) -> int | None:
    """The expiration the message's content carries (None: none)."""
    [content] = [value for key, value in message.items() if key != "messageContextInfo"]
    return content.get("contextInfo", {}).get("expiration") if isinstance(content, dict) else None


SENDS = [
    ("send_text", {"text": "hi"}),
    ("send_image", {"image": "PNG", "caption": "look"}),
    ("send_location", {"latitude": 1.5, "longitude": 2}),
    ("send_contact", {"name": "Bob", "phone": BOB}),
    ("send_link", {"url": "https://example.com/"}),
    ("send_poll", {"question": "Q?", "options": ["a", "b"]}),
    ("send_file", {"file": base64.b64encode(PDF).decode(), "filename": "a.pdf"}),
    ("send_sticker", {"sticker": "PNG"}),
    ("send_video", {"video": base64.b64encode(mp4(3)).decode()}),
    ("send_audio", {"audio": base64.b64encode(ogg_opus(2)).decode(), "ptt": True}),
]


def arguments(kwargs: dict) -> dict:
    return {key: png() if value == "PNG" else value for key, value in kwargs.items()}


def test_every_send_into_a_chat_wagw_set_a_timer_on_carries_it(neonize):
    assert neonize.job("set_disappearing", chat=ALICE, seconds=WEEK)["result"] == {"chat": ALICE, "seconds": WEEK}
    for op, kwargs in SENDS:
        assert "result" in neonize.job(op, to=ALICE, **arguments(kwargs)), op
        assert timer_of(last_sent(neonize)) == WEEK, op
    assert last_sent(neonize).get("audioMessage", {}).get("PTT") is True
    neonize.job("send_text", to=ALICE, text="plain")
    assert last_sent(neonize) == {"extendedTextMessage": {"text": "plain", "contextInfo": {"expiration": WEEK}}}
    neonize.job("set_disappearing", chat=ALICE, seconds=0)
    neonize.job("send_text", to=ALICE, text="kept")
    assert last_sent(neonize) == {"conversation": "kept"}


def test_a_chat_with_no_timer_gets_none(neonize):
    neonize.job("send_text", to=BOB, text="hi")
    assert last_sent(neonize) == {"conversation": "hi"}


def test_a_timer_learned_from_a_message_in_the_chat_under_both_addresses(neonize):
    """A chat whose timer was set before wagw ran: every message there carries it."""
    neonize.deliver(
        {
            "kind": "message",
            "id": "3EB0IN01",
            "sender": ALICE_LID,
            "sender_alt": ALICE,
            "message": {"extendedTextMessage": {"text": "hey", "contextInfo": {"expiration": DAY}}},
        }
    )
    for to in (ALICE, ALICE_LID):
        neonize.job("send_text", to=to, text="hi")
        assert timer_of(last_sent(neonize)) == DAY, to


def test_a_timer_change_counts_and_the_newest_word_wins(neonize):
    now = int(time.time())
    setting = {"protocolMessage": {"type": "EPHEMERAL_SETTING", "ephemeralExpiration": QUARTER}}
    older = {"extendedTextMessage": {"text": "old", "contextInfo": {"expiration": DAY}}}
    off = {"protocolMessage": {"type": "EPHEMERAL_SETTING", "ephemeralExpiration": 0}}
    neonize.deliver({"kind": "message", "id": "3EB0SET1", "sender": BOB, "message": setting, "unix": now - 60})
    neonize.job("send_text", to=BOB, text="hi")
    assert timer_of(last_sent(neonize)) == QUARTER
    # a message from before the change, delivered late (the phone was offline), changes nothing
    neonize.deliver({"kind": "message", "id": "3EB0OLD1", "sender": BOB, "message": older, "unix": now - 120})
    neonize.job("send_text", to=BOB, text="hi")
    assert timer_of(last_sent(neonize)) == QUARTER
    neonize.deliver({"kind": "message", "id": "3EB0OFF1", "sender": BOB, "message": off, "unix": now - 10})
    neonize.job("send_text", to=BOB, text="bye")
    assert last_sent(neonize) == {"conversation": "bye"}


def test_a_groups_timer_is_read_from_its_info(neonize):
    neonize.go.call("set_group_ephemeral", group=GROUP, seconds=WEEK)
    assert neonize.job("group_info", jid=GROUP)["result"]["jid"] == GROUP
    neonize.job("send_poll", to=GROUP, question="Lunch?", options=["Pizza", "Sushi"])
    assert timer_of(last_sent(neonize)) == WEEK


def test_a_group_timer_set_by_wagw_is_carried(neonize):
    neonize.job("set_disappearing", chat=GROUP, seconds=QUARTER)
    neonize.job("send_text", to=GROUP, text="hi all")
    assert timer_of(last_sent(neonize)) == QUARTER


def test_the_fake_carries_the_same_timers(settings, redis_conn, neonize):
    """Parity: the fake notes the same timers (set_disappearing, a message's `expiration`)
    and records the one each send carries."""
    neonize.job("set_disappearing", chat=ALICE, seconds=WEEK)
    neonize.job("send_text", to=ALICE, text="hi")
    real = timer_of(last_sent(neonize))
    redis_conn.flushall()
    fake = FakeAccount(settings, redis_conn)
    fake.job("set_disappearing", chat=ALICE, seconds=WEEK)
    fake.job("send_text", to=ALICE, text="hi")
    fake.job("send_text", to=BOB, text="hi")
    assert [args.get("expiration") for args in fake.sent("send_text")] == [real, None] == [WEEK, None]
    fake.deliver({"type": "message", "id": "3EB0IN02", "sender": ALICE_LID, "sender_alt": ALICE, "text": "hey",
                  "expiration": DAY})  # fmt: skip
    fake.job("send_image", to=ALICE_LID, image=png())
    assert fake.sent("send_image")[-1]["expiration"] == DAY


def test_the_fake_refuses_an_expiration_that_is_no_timer(settings, redis_conn):
    from wagw.whatsapp.fake_inbound import Malformed, to_event

    with pytest.raises(Malformed, match="'expiration' must be a whole number"):
        to_event({"type": "message", "id": "3EB0X", "sender": ALICE, "text": "x", "expiration": "a day"})
