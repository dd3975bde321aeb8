"""What the session notes for later sends (a call offer's creator, a chat's disappearing
timer) lives in Redis, where any app with access can write. A planted note can make a send
do no more than the app could ask for itself: garbage is no note, never a crash or a
message no WhatsApp client can take."""

from __future__ import annotations

import pytest

from wagw import calls, disappearing, keys
from wagw.whatsapp.fake import FakeBackend

ALICE = "15551234567@s.whatsapp.net"


@pytest.mark.parametrize(
    "planted",
    [b"99999999999:1", b"-5:1", b"\xd9\xa1\xd9\xa2:1", b"week:1", b"", b"4294967296:1"],
    ids=["past-uint32", "negative", "arabic-digits", "a-word", "empty", "just-past"],
)
def test_a_planted_timer_no_message_can_carry_is_no_timer(redis_conn, planted):
    redis_conn.hset(keys.DISAPPEARING.format(account="default"), ALICE, planted)
    assert disappearing.timer(redis_conn, "default", ALICE) == 0


def test_a_planted_timer_a_message_can_carry_is_used(redis_conn):
    """The most it can do: what set_disappearing, which the app may enqueue, does anyway."""
    redis_conn.hset(keys.DISAPPEARING.format(account="default"), ALICE, b"4294967295:1")
    assert disappearing.timer(redis_conn, "default", ALICE) == 2**32 - 1


@pytest.mark.parametrize(
    "creator",
    ["120363000000000001@g.us", "not a jid", "15551234567:3@s.whatsapp.net", "status@broadcast", "x" * 300],
)
def test_a_planted_creator_that_is_no_users_jid_is_not_sent(redis_conn, creator):
    redis_conn.hset(keys.CALL_OFFER.format(account="default", call_id="C1"), mapping={"creator": creator, "alt": ALICE})
    assert calls.caller_to_reject(redis_conn, "default", "C1", ALICE) == ALICE


def test_reject_call_on_the_fake_with_a_planted_note_declines_the_caller_given(settings, redis_conn):
    redis_conn.hset(
        keys.CALL_OFFER.format(account="default", call_id="C2"),
        mapping={"creator": "120363000000000001@g.us", "alt": ALICE},
    )
    assert FakeBackend(settings, "worker-1").reject_call("C2", ALICE) == {"call_id": "C2", "caller": ALICE}
