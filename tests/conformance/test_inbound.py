"""Inbound events encoded as goneonize encodes whatsmeow's events, dispatched through neonize's
own Event.execute (a real ctypes callback) into the session's handler: the JSON wagw makes,
and what happens when goneonize cannot encode an event at all."""

from __future__ import annotations

import json

import pytest

from tests.conformance.names import ALICE, ALICE_LID, DEVICE, GROUP
from wagw.whatsapp.neonize_events import MAPPERS as MAPPED

TS = 1_764_412_200  # 2025-11-29T10:30:00Z
ISO = "2025-11-29T10:30:00Z"


@pytest.fixture
def session(go, data_dir, redis_url):
    """wagw's NeonizeBackend for the session role, its handler collecting event bodies."""
    go.call("make_store", path=str(data_dir / "devices" / "session.sqlite3"), devices=[[DEVICE, "wagw", ""]])
    connected = go.call("connect", data_dir=str(data_dir), role="session", redis_url=redis_url, inbound=True)
    assert connected["connected"] and set(MAPPED) <= set(connected["registered"]), connected
    return go


def deliver(go, *specs: dict) -> dict:
    delivered = go.call("deliver", specs=list(specs))
    assert not delivered["stub_errors"], delivered["stub_errors"]
    delivered["bodies"] = [json.loads(body) for body in delivered.pop("events")]
    return delivered


def text(id: str, body: str = "hi", **fields) -> dict:
    return {"kind": "message", "id": id, "sender": ALICE, "message": {"conversation": body}, "unix": TS, **fields}


# Messages -------------------------------------------------------------------------------------
def test_a_group_message_from_a_lid_sender_with_its_phone_alias(session):
    delivered = deliver(session, text("3EB0A1", chat=GROUP, sender=ALICE_LID, sender_alt=ALICE, push_name="Alice"))
    [body] = delivered["bodies"]
    assert body["event"] == "message" and body["timestamp"] == ISO  # goneonize sends milliseconds
    payload = body["payload"]
    assert (payload["chat_id"], payload["from"], payload["from_lid"]) == (GROUP, ALICE, ALICE_LID)
    assert payload["body"] == "hi" and payload["from_name"] == "Alice"
    assert "chat_lid" not in payload  # empty (not unset) JIDs from Go are "absent"


def test_a_poll_has_the_poll_shape(session):
    """Finding 10: a poll was a `message` with no body."""
    poll = {
        "name": "Lunch?",
        "options": [{"optionName": "Pizza"}, {"optionName": "Sushi"}],
        "selectableOptionsCount": 1,
    }
    [body] = deliver(session, text("3EB0P1", message={"pollCreationMessageV3": poll}))["bodies"]
    assert body["payload"]["poll"] == {"question": "Lunch?", "options": ["Pizza", "Sushi"], "max_answers": 1}
    assert "body" not in body["payload"]


def test_a_message_kind_wagw_does_not_map_is_labelled(session):
    """Finding 10: an unknown kind is labelled with its WhatsApp name, not an empty message."""
    invite = {"groupJID": GROUP, "inviteCode": "AbCd", "groupName": "Team"}
    [body] = deliver(session, text("3EB0U1", message={"groupInviteMessage": invite}))["bodies"]
    assert body["event"] == "message" and body["payload"]["unsupported"] == "groupInviteMessage"


def test_status_updates_are_not_events(session):
    """Finding 10: status@broadcast (stories) is filtered, messages and their receipts."""
    delivered = deliver(
        session,
        text("3EB0S1", chat="status@broadcast", body="my story"),
        {"kind": "receipt", "type": "read", "ids": ["3EB0S0"], "chat": "status@broadcast", "sender": ALICE},
        text("3EB0S2", body="a real message"),
    )
    assert [b["payload"]["id"] for b in delivered["bodies"]] == ["3EB0S2"]


# Receipts, groups, calls ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("whatsmeow_type", "receipt_type"),
    [("", "delivered"), ("read", "read"), ("played", "played"), ("played-self", "played-self")],
)
def test_receipts(session, whatsmeow_type, receipt_type):
    """goneonize writes "played-self" as SERVER_ERROR: it must still read as played-self."""
    spec = {"kind": "receipt", "type": whatsmeow_type, "ids": ["3EB0R1"], "chat": ALICE, "sender": ALICE, "unix": TS}
    [body] = deliver(session, spec)["bodies"]
    assert body["event"] == "message.ack" and body["timestamp"] == ISO  # receipts come in seconds
    assert (body["payload"]["ids"], body["payload"]["receipt_type"]) == (["3EB0R1"], receipt_type)


def test_group_participants(session):
    spec = {"kind": "group_join", "group": GROUP, "members": [ALICE], "by": "15550002222@s.whatsapp.net", "unix": TS}
    [body] = deliver(session, spec)["bodies"]
    assert body["payload"] == {"chat_id": GROUP, "type": "join", "jids": [ALICE], "by": "15550002222@s.whatsapp.net"}


def test_a_call_offer_never_carries_a_group(session):
    """Finding 4: neonize's BasicCallMeta has no group JID, so even a group call has none."""
    spec = {"kind": "call_offer", "call_id": "C1", "caller": ALICE_LID, "caller_alt": ALICE, "group": GROUP, "unix": TS}
    [body] = deliver(session, spec)["bodies"]
    assert body["payload"] == {
        "call_id": "C1",
        "from": ALICE,
        "from_lid": ALICE_LID,
        "sender_display_name": ALICE.split("@")[0],  # go-whatsapp's label; no contact lookup here
        "auto_rejected": False,
        "remote_platform": "android",
        "remote_version": "2.24.1.5",
    }


# Chat presence and newsletters -------------------------------------------------------------------
NEWSLETTER = "120363123456789@newsletter"


@pytest.mark.parametrize(
    ("state", "media", "chat"),
    [("composing", "", ALICE), ("composing", "audio", ALICE), ("paused", "", GROUP)],
)
def test_chat_presence(session, state, media, chat):
    """Typing, recording and stopping; in a group the LID sender's phone number is `from`."""
    spec = {"kind": "chat_presence", "chat": chat, "sender": ALICE_LID, "sender_alt": ALICE, "state": state}
    [body] = deliver(session, spec | {"media": media})["bodies"]
    assert body["event"] == "chat_presence" and body["timestamp"]  # WhatsApp gives no time: the session's
    assert body["payload"] == {
        "from": ALICE,
        "from_lid": ALICE_LID,
        "sender_display_name": ALICE.split("@")[0],
        "chat_id": chat,
        "state": state,
        "media": media,
        "is_group": chat == GROUP,
    }


def test_joined_group_through_an_invite_and_when_added(session):
    """goneonize's EncodeJoinedGroup: the group's info, whatsmeow's Reason (copied into Type)
    and no sender. go-whatsapp's group.joined: the group, type "join", the account itself as
    `jids`, the reason, the group's name when it has one; the time is the session's."""
    delivered = deliver(
        session,
        {"kind": "joined_group", "group": GROUP, "name": "Team", "reason": "invite", "version": "v7"},
        {"kind": "joined_group", "group": GROUP, "version": "v8"},
    )
    invited, added = delivered["bodies"]
    me = DEVICE.split(":")[0] + "@s.whatsapp.net"
    assert (invited["event"], invited["device_id"]) == ("group.joined", me)
    assert invited["payload"] == {
        "chat_id": GROUP,
        "type": "join",
        "jids": [me],
        "reason": "invite",
        "group_name": "Team",
    }
    assert added["payload"] == {"chat_id": GROUP, "type": "join", "jids": [me], "reason": ""}
    assert invited["timestamp"].endswith("Z") and invited["id"] != added["id"]
    # The same join handed over again (same participant version) is the same event.
    again = deliver(session, {"kind": "joined_group", "group": GROUP, "reason": "invite", "version": "v7"})
    assert again["bodies"][0]["id"] == invited["id"]


def test_newsletter_joined_left_and_muted(session):
    delivered = deliver(
        session,
        {"kind": "newsletter_join", "newsletter": NEWSLETTER, "name": "Tech News", "description": "Daily"},
        {"kind": "newsletter_mute", "newsletter": NEWSLETTER, "mute": "on"},
        {"kind": "newsletter_leave", "newsletter": NEWSLETTER, "role": "subscriber"},
    )
    assert [(b["event"], b["payload"]) for b in delivered["bodies"]] == [
        ("newsletter.joined", {"newsletter_id": NEWSLETTER, "name": "Tech News", "description": "Daily"}),
        ("newsletter.mute", {"newsletter_id": NEWSLETTER, "mute": "on"}),
        ("newsletter.left", {"newsletter_id": NEWSLETTER, "role": "subscriber"}),
    ]


def test_a_newsletter_without_a_description_leaves_it_out(session):
    [body] = deliver(session, {"kind": "newsletter_join", "newsletter": NEWSLETTER, "name": "Tech"})["bodies"]
    assert body["payload"] == {"newsletter_id": NEWSLETTER, "name": "Tech"}


def test_a_newsletter_live_update(session):
    """goneonize passes on server id, views and reactions (in Go's map order); not the post's
    message id, type or time. Reactions come out sorted, so the same update is the same body."""
    posts = [{"server_id": 123, "views_count": 1500, "reactions": {"👍": 50, "❤️": 25}}, {"server_id": 124}]
    [body] = deliver(session, {"kind": "newsletter_live_update", "newsletter": NEWSLETTER, "posts": posts})["bodies"]
    assert body["event"] == "newsletter.message" and body["timestamp"] == ISO
    assert body["payload"] == {
        "newsletter_id": NEWSLETTER,
        "messages": [
            {"server_id": 123, "views_count": 1500, "reaction_counts": {"❤️": 25, "👍": 50}},
            {"server_id": 124},
        ],
    }


def test_a_channel_post_itself_is_a_message(session):
    """whatsmeow hands a followed channel's post over as a Message from `…@newsletter`; like
    go-whatsapp, wagw sends it as a `message` (newsletter.message is the live update)."""
    [body] = deliver(session, text("3EB0N1", body="news", sender=NEWSLETTER))["bodies"]
    assert (body["event"], body["payload"]["chat_id"], body["payload"]["body"]) == ("message", NEWSLETTER, "news")


# Events goneonize cannot encode -----------------------------------------------------------------
def test_an_unencodable_receipt_is_dropped_and_the_session_lives_on(session):
    """Finding 5: whatsmeow's "server-error" receipt has no value in goneonize's encoder; its
    Marshal fails, which ends neonize's event loop and connect(). wagw logs it, drops the
    event, reconnects in-process and keeps delivering."""
    before = deliver(session, text("3EB0B1", body="before"))
    dropped = deliver(
        session, {"kind": "receipt", "type": "server-error", "ids": ["3EB0B1"], "chat": ALICE, "sender": ALICE}
    )
    assert dropped["connected"] and not dropped["ended"] and dropped["connects"] == before["connects"] + 1, dropped
    assert any("could not pass on a Receipt event" in line for line in dropped["logs"]), dropped["logs"]
    after = deliver(session, text("3EB0B2", body="after"))
    assert [b["payload"]["body"] for b in before["bodies"] + after["bodies"]] == ["before", "after"]


def test_an_unencodable_temporary_ban_still_ends_as_a_temporary_ban(session):
    """Finding 5: ban code 105 has no value in goneonize's encoder: still a ban (exit 83)."""
    deliver(session, {"kind": "temporary_ban", "code": 105})
    ended = session.call("wait_end")
    assert (ended["error"], ended["exit_code"]) == ("TemporaryBan", 83), ended


@pytest.mark.parametrize("reason", [413, 414, 415, 418])
def test_an_unencodable_connect_failure_says_what_happened(session, reason):
    """Finding 5: connect-failure reasons goneonize cannot encode end the connection as a
    connect failure (exit 75, restart with backoff) with a message saying so."""
    deliver(session, {"kind": "connect_failure", "reason": reason})
    ended = session.call("wait_end")
    assert (ended["error"], ended["exit_code"]) == ("ConnectFailure", 75), ended
    assert "WhatsApp refused the connection with a reason neonize cannot pass on" in ended["message"]


@pytest.mark.parametrize(
    ("spec", "error", "exit_code"),
    [
        ({"kind": "temporary_ban", "code": 101}, "TemporaryBan", 83),
        ({"kind": "connect_failure", "reason": 503}, "ConnectFailure", 75),
        ({"kind": "connect_failure", "reason": 401}, "LoggedOut", 81),
    ],
)
def test_encodable_connection_events_end_the_connection_as_before(session, spec, error, exit_code):
    deliver(session, spec)
    ended = session.call("wait_end")
    assert (ended["error"], ended["exit_code"]) == (error, exit_code), ended
