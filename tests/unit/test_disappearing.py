"""wagw.disappearing on the project's Redis: a chat's timer, the newest word winning."""

from __future__ import annotations

from wagw import disappearing

CHAT, LID = "15551234567@s.whatsapp.net", "251556368777322@lid"


def test_a_chat_never_heard_of_has_no_timer(redis_conn):
    assert disappearing.timer(redis_conn, "default", CHAT) == 0


def test_the_newest_word_wins_under_every_address(redis_conn):
    disappearing.note(redis_conn, "default", [CHAT, LID, None], 604_800, at=1_000)
    assert [disappearing.timer(redis_conn, "default", chat) for chat in (CHAT, LID)] == [604_800, 604_800]
    disappearing.note(redis_conn, "default", [CHAT], 86_400, at=999)  # older: ignored
    assert disappearing.timer(redis_conn, "default", CHAT) == 604_800
    disappearing.note(redis_conn, "default", [CHAT], 0, at=1_001)  # switched off later
    assert disappearing.timer(redis_conn, "default", CHAT) == 0
    assert disappearing.timer(redis_conn, "default", LID) == 604_800


def test_accounts_keep_their_own_timers(redis_conn):
    disappearing.note(redis_conn, "sales", [CHAT], 86_400)
    assert disappearing.timer(redis_conn, "sales", CHAT) == 86_400
    assert disappearing.timer(redis_conn, "default", CHAT) == 0


def test_what_no_message_can_carry_is_not_noted(redis_conn):
    disappearing.note(redis_conn, "default", [CHAT], 2**32, at=5)
    disappearing.note(redis_conn, "default", [CHAT], -1, at=6)
    disappearing.note(redis_conn, "default", [], 86_400)
    assert redis_conn.hgetall("wagw:disappearing:default") == {}
