"""LID-first inbound events, as phones send them today, on neonize's real code: the session's
lookup is whatsmeow's own LID store (the real Go GetPNFromLID on the real sqlite store, with
its cache), and the fake backend's store gives the same bodies.

WhatsApp names people by LID (`…@lid`): a direct message comes from the LID with the phone
number as whatsmeow's SenderAlt (the stanza's sender_pn), a message sent from the phone into
a LID chat carries RecipientAlt, group messages and group changes may name LIDs only, and
whatsmeow stores every pair it is given before dispatching (scenarios.learn_lids stands for
the pairs a group notification, history sync or user query gave it).
"""

from __future__ import annotations

import json
import statistics
import threading

import pytest

from chaos.polling import wait_for
from tests.conformance.names import ACCOUNT, ALICE, ALICE_LID, BOB, DEVICE, GROUP
from wagw import keys
from wagw.events import build_body
from wagw.events.lids import with_phone_numbers
from wagw.whatsapp.fake import FakeBackend

DEVICE_ID = f"{ACCOUNT}@s.whatsapp.net"
OWN_LID = "100000000000001@lid"  # this account's LID (whatsmeow stores it when it connects)
BOB_LID = "187723411239009@lid"
STRANGER_LID = "99887766554433@lid"  # no pair anywhere
TS = 1_764_412_200
# What the store knows before the session connects (as whatsmeow would from earlier traffic).
PAIRS = [[ALICE_LID, ALICE], [BOB_LID, BOB], [OWN_LID, DEVICE_ID]]


@pytest.fixture(scope="module")
def lids(child, tmp_path_factory, redis_server):
    data_dir = tmp_path_factory.mktemp("lids")
    store = str(data_dir / "devices" / "session.sqlite3")
    child.call("reset")
    child.call("make_store", path=store, devices=[[DEVICE, "wagw", ""]])
    child.call("learn_lids", store=store, pairs=PAIRS)
    connected = child.call("connect", data_dir=str(data_dir), role="session", redis_url=redis_server.url, inbound=True)
    assert connected["connected"], connected
    return child


def deliver(go, *specs: dict) -> list[dict]:
    delivered = go.call("deliver", specs=[{"unix": TS, **spec} for spec in specs])
    assert not delivered["stub_errors"] and delivered["connected"], delivered
    return [json.loads(body)["payload"] for body in delivered["events"]]


def text(id: str, sender: str, body: str = "hi", **fields) -> dict:
    return {"kind": "message", "id": id, "sender": sender, "message": {"conversation": body}, **fields}


# The store --------------------------------------------------------------------------------------
def test_the_lookup_is_whatsmeows_own_store(lids):
    found = lids.call("lookups", lids=[ALICE_LID, "251556368777322:3@lid", STRANGER_LID, ALICE])
    assert found == {ALICE_LID: ALICE, "251556368777322:3@lid": ALICE, STRANGER_LID: None, ALICE: None}


def test_the_lookup_keeps_the_session_fast(lids):
    """The figure: whatsmeow's store answers through neonize in microseconds (a sqlite read the
    first time, its cache after), and a whole event's lookups add about as much."""
    timed = lids.call(
        "time_lookups", known=[ALICE_LID, BOB_LID], unknown=[f"{10**14 + n}@lid" for n in range(50)], rounds=200
    )
    first, cached, event = (statistics.median(timed[k]) for k in ("first", "cached", "event"))
    p99 = timed["cached"][int(len(timed["cached"]) * 0.99)]
    print(
        f"\nLID lookup on whatsmeow's store: first {first:.1f} µs, cached {cached:.1f} µs (p99 {p99:.1f} µs);"
        f" one message's resolution {event:.1f} µs (medians)"
    )
    assert first < 2000 and cached < 500 and event < 2000  # far below a webhook's cost


# Events as phones send them ---------------------------------------------------------------------
def test_a_direct_message_from_a_lid_and_what_its_pair_then_resolves(lids):
    """sender_pn arrives as SenderAlt and whatsmeow stores the pair before dispatching: the
    receipt and the typing indicator that name the LID alone resolve from the store."""
    dave, dave_lid = "15550004444@s.whatsapp.net", "211122223333444@lid"
    message, receipt, typing = deliver(
        lids,
        text("3EB0L1", dave_lid, sender_alt=dave, push_name="Dave"),
        {"kind": "receipt", "type": "read", "ids": ["3EB0L0"], "chat": dave_lid, "sender": dave_lid},
        {"kind": "chat_presence", "sender": dave_lid, "state": "composing"},
    )
    assert (message["chat_id"], message["chat_lid"], message["from"], message["from_lid"]) == (
        dave,
        dave_lid,
        dave,
        dave_lid,
    )
    assert (receipt["chat_id"], receipt["chat_lid"], receipt["from"], receipt["from_lid"]) == (
        dave,
        dave_lid,
        dave,
        dave_lid,
    )
    assert (typing["chat_id"], typing["from"], typing["sender_display_name"]) == (dave, dave, "15550004444")
    assert not any("unresolved_lids" in body for body in (message, receipt, typing))


def test_a_message_sent_from_the_phone_into_a_lid_chat(lids):
    """From this account's own LID, to a LID chat whose number is RecipientAlt."""
    eve, eve_lid = "15550005555@s.whatsapp.net", "311122223333444@lid"
    [body] = deliver(lids, text("3EB0L2", OWN_LID, chat=eve_lid, recipient_alt=eve, from_me=True))
    assert (body["chat_id"], body["chat_lid"], body["from"], body["from_lid"]) == (eve, eve_lid, DEVICE_ID, OWN_LID)
    assert body["is_from_me"] is True
    assert lids.call("lookups", lids=[eve_lid]) == {eve_lid: eve}  # stored from RecipientAlt


def test_a_group_message_from_a_lid_without_its_number(lids):
    known, unknown = deliver(
        lids, text("3EB0L3", BOB_LID, chat=GROUP), text("3EB0L4", STRANGER_LID, chat=GROUP, push_name="Zed")
    )
    assert (known["chat_id"], known["from"], known["from_lid"]) == (GROUP, BOB, BOB_LID)
    assert "unresolved_lids" not in known
    assert (unknown["from"], unknown["from_lid"], unknown["sender_display_name"]) == (STRANGER_LID, STRANGER_LID, "Zed")
    assert unknown["unresolved_lids"] == [STRANGER_LID]  # said, never guessed


def test_a_group_change_that_names_only_lids(lids):
    joined, promoted = deliver(
        lids,
        {
            "kind": "group_change",
            "group": GROUP,
            "join": [ALICE_LID, STRANGER_LID],
            "promote": [BOB_LID],
            "by": BOB_LID,
        },
    )
    assert joined == {
        "chat_id": GROUP,
        "type": "join",
        "jids": [ALICE, STRANGER_LID],
        "jids_lid": [ALICE_LID, STRANGER_LID],
        "by": BOB,
        "by_lid": BOB_LID,
        "unresolved_lids": [STRANGER_LID],
    }
    assert (promoted["type"], promoted["jids"], promoted["jids_lid"]) == ("promote", [BOB], [BOB_LID])


def test_mentions_are_rewritten_and_an_unknown_one_is_said(lids):
    content = {
        "extendedTextMessage": {
            "text": "hi @251556368777322 and @99887766554433",
            "contextInfo": {"mentionedJID": [ALICE_LID, STRANGER_LID]},
        }
    }
    [body] = deliver(lids, {"kind": "message", "id": "3EB0L5", "chat": GROUP, "sender": BOB_LID, "message": content})
    assert body["body"] == "hi @15551234567 and @99887766554433"
    assert body["unresolved_lids"] == [STRANGER_LID]


def test_a_call_from_a_lid_without_its_number(lids):
    [body] = deliver(lids, {"kind": "call_offer", "call_id": "C9", "caller": ALICE_LID, "caller_alt": None})
    assert (body["from"], body["from_lid"], body["sender_display_name"]) == (ALICE, ALICE_LID, "15551234567")


# The fake gives the same bodies -----------------------------------------------------------------
FRANK, FRANK_LID = "15550006666@s.whatsapp.net", "411122223333444@lid"
GRACE, GRACE_LID = "15550007777@s.whatsapp.net", "511122223333444@lid"
MENTIONS = "hi @251556368777322 and @99887766554433"
# (id, the fake's control messages, whatsmeow's events): each row's own LIDs for what it teaches.
ROWS = [
    (
        "a-direct-message-teaches-the-store",
        [
            {
                "type": "message",
                "id": "3EB0P1",
                "sender": FRANK_LID,
                "sender_alt": FRANK,
                "push_name": "F",
                "text": "hi",
            },
            {"type": "receipt", "ids": ["3EB0P0"], "sender": FRANK_LID, "receipt_type": "read"},
            {"type": "chat_presence", "sender": FRANK_LID, "state": "paused"},
        ],
        [
            text("3EB0P1", FRANK_LID, sender_alt=FRANK, push_name="F"),
            {"kind": "receipt", "type": "read", "ids": ["3EB0P0"], "chat": FRANK_LID, "sender": FRANK_LID},
            {"kind": "chat_presence", "sender": FRANK_LID, "state": "paused"},
        ],
    ),
    (
        "from-the-phone-into-a-lid-chat",
        [
            {
                "type": "message",
                "id": "3EB0P2",
                "chat": GRACE_LID,
                "chat_alt": GRACE,
                "sender": OWN_LID,
                "is_from_me": True,
                "text": "hi",
            },
            {"type": "message", "id": "3EB0P3", "sender": GRACE_LID, "text": "back"},
        ],
        [
            text("3EB0P2", OWN_LID, chat=GRACE_LID, recipient_alt=GRACE, from_me=True),
            text("3EB0P3", GRACE_LID, body="back"),
        ],
    ),
    (
        "group-messages-from-lids",
        [
            {"type": "message", "id": "3EB0P4", "chat": GROUP, "sender": BOB_LID, "text": "hi"},
            {"type": "message", "id": "3EB0P5", "chat": GROUP, "sender": STRANGER_LID, "text": "hi"},
        ],
        [text("3EB0P4", BOB_LID, chat=GROUP), text("3EB0P5", STRANGER_LID, chat=GROUP)],
    ),
    (
        "a-group-change-naming-only-lids",
        [
            {
                "type": "group_participants",
                "chat": GROUP,
                "change": "join",
                "jids": [ALICE_LID, STRANGER_LID],
                "by": BOB_LID,
            },
            {"type": "group_participants", "chat": GROUP, "change": "demote", "jids": [BOB_LID], "by": BOB_LID},
        ],
        [
            {
                "kind": "group_change",
                "group": GROUP,
                "join": [ALICE_LID, STRANGER_LID],
                "demote": [BOB_LID],
                "by": BOB_LID,
            }
        ],
    ),
    (
        "mentions",
        [
            {
                "type": "message",
                "id": "3EB0P6",
                "chat": GROUP,
                "sender": BOB_LID,
                "text": MENTIONS,
                "mentions": [ALICE_LID, STRANGER_LID],
            }
        ],
        [
            {
                "kind": "message",
                "id": "3EB0P6",
                "chat": GROUP,
                "sender": BOB_LID,
                "message": {
                    "extendedTextMessage": {
                        "text": MENTIONS,
                        "contextInfo": {"mentionedJID": [ALICE_LID, STRANGER_LID]},
                    }
                },
            }
        ],
    ),
    (
        "a-call-from-a-lid",
        [{"type": "call_offer", "call_id": "C10", "sender": ALICE_LID, "platform": "android", "version": "2.24.1.5"}],
        [{"kind": "call_offer", "call_id": "C10", "caller": ALICE_LID, "caller_alt": None}],
    ),
]
CLOCKED = {"chat_presence"}  # no time from WhatsApp: each backend stamps its own clock


def comparable(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in ("id", "timestamp")} if body["event"] in CLOCKED else body


def fake_bodies(settings, redis_conn, controls: list[dict]) -> list[dict]:
    """The fake backend's bodies for these control messages, through its own inbound path:
    its store taught PAIRS first (lid_pair), each event resolved as the session does."""
    backend = FakeBackend(settings, "session")
    bodies: list[dict] = []
    lock = threading.Lock()

    def handler(event) -> None:
        with lock:
            bodies.append(json.loads(build_body(with_phone_numbers(event, backend.pn_for_lid), DEVICE_ID)[1]))

    teach = [{"type": "lid_pair", "lid": lid, "pn": pn} for lid, pn in PAIRS]
    redis_conn.rpush(keys.FAKE_INBOUND, *[json.dumps(c) for c in teach + [{"timestamp": TS, **c} for c in controls]])
    backend.start(handler)
    wait_for(
        # The fake routes the shared list onto the account's own before it takes from it.
        lambda: (
            not any(
                redis_conn.llen(key) for key in (keys.FAKE_INBOUND, f"{keys.FAKE_INBOUND}:default", keys.FAKE_PENDING)
            )
        ),
        timeout=10,
        what="the fake to take every control message",
    )
    backend.stop()
    backend.wait()
    assert not redis_conn.llen(keys.FAKE_REJECTED), redis_conn.lrange(keys.FAKE_REJECTED, 0, -1)
    return bodies


@pytest.mark.parametrize(("controls", "specs"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_the_fake_gives_the_same_bodies(lids, settings, redis_conn, controls, specs):
    real = lids.call("deliver", specs=[{"unix": TS, **spec} for spec in specs])
    assert not real["stub_errors"] and real["connected"], real
    neonize = [comparable(json.loads(body)) for body in real["events"]]
    fake = [comparable(body) for body in fake_bodies(settings, redis_conn, controls)]
    assert neonize and fake == neonize
    assert any("_lid" in json.dumps(body["payload"]) for body in neonize)  # LIDs were in play


# Jobs take either form ---------------------------------------------------------------------------
# (id, op, kwargs, what both backends must agree on): a LID wherever a person is named.
JOBS = [
    ("send-to-a-lid", "send_text", {"to": ALICE_LID, "text": "hi"}, lambda r: (sorted(r), r["to"])),
    (
        "reply-quoting-a-lid",
        "send_text",
        {"to": GROUP, "text": "hi", "reply_to": "3EB0AA", "reply_to_sender": ALICE_LID},
        lambda r: r["to"],
    ),
    ("react-in-a-lid-chat", "react", {"chat": ALICE_LID, "message_id": "3EB0AA", "emoji": "👍"}, lambda r: r["chat"]),
    (
        "revoke-own-by-lid",
        "revoke",
        {"chat": ALICE_LID, "message_id": "3EB0AA", "sender": OWN_LID},
        lambda r: (r["chat"], r["sender"]),
    ),
    ("revoke-others-by-lid", "revoke", {"chat": ALICE_LID, "message_id": "3EB0AA", "sender": ALICE_LID}, lambda r: r),
    ("mark-read-in-a-lid-chat", "mark_read", {"chat": ALICE_LID, "ids": ["3EB0AA"]}, lambda r: r),
    ("avatar-of-a-lid", "fetch_avatar", {"jid": ALICE_LID}, lambda r: (r["jid"], r["type"])),
    (
        "add-lids-to-a-group",
        "group_participants",
        {"jid": GROUP, "action": "add", "participants": [ALICE_LID]},
        lambda r: (r["action"], [p["jid"] for p in r["participants"]]),
    ),
]


def agreed(found: dict, view) -> dict:
    if "error" in found:
        return {"error": found["error"], "permanent": found["permanent"]}
    return {"result": view(found["result"])}


@pytest.mark.parametrize(("op", "kwargs", "view"), [row[1:] for row in JOBS], ids=[row[0] for row in JOBS])
def test_a_job_naming_a_lid_gives_the_same_result(lids, settings, redis_conn, op, kwargs, view):
    from tests.conformance.jobpath import outcome, run_job

    fake = FakeBackend(settings, "session")
    fake.lids.put(OWN_LID.partition("@")[0], ACCOUNT)  # the fake learns its own pair as whatsmeow does
    got_fake = outcome(lambda: run_job(settings, fake, op, kwargs))
    got_real = lids.call("job", op=op, kwargs=kwargs)
    assert not got_real.pop("stub_errors")
    assert agreed(got_fake, view) == agreed(got_real, view), (got_fake, got_real)


def test_a_lid_target_reaches_whatsmeow_as_given(lids):
    """whatsmeow sends a direct message to the LID itself (and one to a number to that
    number's LID, from its store or WhatsApp: send.go SendMessage); wagw hands either over
    unchanged."""
    lids.call("job", op="send_text", kwargs={"to": ALICE_LID, "text": "hi"})
    assert lids.call("calls", entry="SendMessage")[-1]["to"] == ALICE_LID


def test_revoking_the_accounts_own_message_by_its_lid_keys_it_as_its_own(lids):
    """The account's LID (from an event's from_lid) names the account, as in whatsmeow's
    BuildMessageKey: the revoke is of this account's message, not refused as another's."""
    found = lids.call("job", op="revoke", kwargs={"chat": ALICE_LID, "message_id": "3EB0AB", "sender": OWN_LID})
    assert "result" in found, found
    key = lids.call("calls", entry="SendMessage")[-1]["message"]["protocolMessage"]["key"]
    assert key["fromMe"] is True and "participant" not in key and key["ID"] == "3EB0AB"
