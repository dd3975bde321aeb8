"""Phone numbers beside LIDs (wagw.events.lids): every address a body can carry comes out as
the phone-number JID when the store knows the pair, the LID beside it; an unknown pair leaves
the LID and lists it; nothing is guessed, and the event's id never changes."""

from __future__ import annotations

import json

import pytest

from wagw import events
from wagw.events import KINDS, UNRESOLVED_LIDS, build_body
from wagw.events.lids import ADDRESS_FIELDS, DISPLAY_NAME, MAX_MENTION_LOOKUPS, TEXT, with_phone_numbers
from wagw.whatsapp.fake_inbound import to_event

ALICE, ALICE_LID = "15551234567@s.whatsapp.net", "251556368777322@lid"
BOB, BOB_LID = "15557654321@s.whatsapp.net", "187723411239009@lid"
STRANGER_LID = "99887766554433@lid"  # no pair known
GROUP = "120363402106000000@g.us"
DEVICE = "15550001111@s.whatsapp.net"
PAIRS = {ALICE_LID: ALICE, BOB_LID: BOB}


class Store:
    """A LID store that counts the questions it is asked."""

    def __init__(self, pairs: dict[str, str]):
        self.pairs = pairs
        self.asked: list[str] = []

    def __call__(self, lid: str) -> str | None:
        self.asked.append(lid)
        return self.pairs.get(lid)


def resolved(control: dict, pairs: dict[str, str] = PAIRS) -> dict:
    event = to_event(control)
    assert event is not None
    return with_phone_numbers(event, Store(pairs)).payload


def test_a_lid_sender_and_chat_become_the_phone_number_with_the_lid_beside():
    payload = resolved({"type": "message", "id": "M1", "sender": ALICE_LID, "text": "hi", "timestamp": 1})
    assert (payload["chat_id"], payload["chat_lid"]) == (ALICE, ALICE_LID)
    assert (payload["from"], payload["from_lid"]) == (ALICE, ALICE_LID)
    assert payload[DISPLAY_NAME] == "15551234567"  # the label follows the number
    assert UNRESOLVED_LIDS not in payload


def test_an_unknown_pair_leaves_the_lid_and_says_so():
    payload = resolved({"type": "message", "id": "M2", "sender": STRANGER_LID, "push_name": "Zed", "text": "hi"})
    assert payload["from"] == payload["from_lid"] == payload["chat_id"] == payload["chat_lid"] == STRANGER_LID
    assert payload[UNRESOLVED_LIDS] == [STRANGER_LID]
    assert payload[DISPLAY_NAME] == "Zed"


def test_a_pair_the_event_itself_carries_needs_no_lookup():
    event = to_event({"type": "message", "id": "M3", "sender": ALICE_LID, "sender_alt": ALICE, "text": "hi"})
    store = Store({})
    payload = with_phone_numbers(event, store).payload
    assert (payload["from"], payload["from_lid"], payload["chat_id"]) == (ALICE, ALICE_LID, ALICE)
    assert store.asked == [] and UNRESOLVED_LIDS not in payload


def test_the_event_id_does_not_depend_on_the_store():
    """A redelivered event is the same event whether or not the pair was known by then."""
    event = to_event({"type": "message", "id": "M4", "sender": ALICE_LID, "text": "hi", "timestamp": 1})
    ids = {build_body(with_phone_numbers(event, Store(pairs)), DEVICE)[0] for pairs in ({}, PAIRS)}
    assert len(ids) == 1


def test_a_group_change_naming_only_lids():
    payload = resolved(
        {
            "type": "group_participants",
            "chat": GROUP,
            "change": "join",
            "jids": [ALICE_LID, STRANGER_LID, "15559876543@s.whatsapp.net"],
            "by": BOB_LID,
            "timestamp": 1,
        }
    )
    assert payload == {
        "chat_id": GROUP,
        "type": "join",
        "jids": [ALICE, STRANGER_LID, "15559876543@s.whatsapp.net"],
        "jids_lid": [ALICE_LID, STRANGER_LID, "15559876543@s.whatsapp.net"],  # named by number: no LID
        "by": BOB,
        "by_lid": BOB_LID,
        UNRESOLVED_LIDS: [STRANGER_LID],
    }


def test_receipts_and_typing_in_a_lid_chat():
    ack = resolved({"type": "receipt", "ids": ["M1"], "sender": ALICE_LID, "receipt_type": "read", "timestamp": 1})
    assert (ack["chat_id"], ack["chat_lid"], ack["from"], ack["from_lid"]) == (ALICE, ALICE_LID, ALICE, ALICE_LID)
    typing = resolved({"type": "chat_presence", "sender": ALICE_LID, "state": "composing", "timestamp": 1})
    assert (typing["chat_id"], typing["chat_lid"], typing["from"]) == (ALICE, ALICE_LID, ALICE)
    in_group = resolved({"type": "chat_presence", "chat": GROUP, "sender": BOB_LID, "state": "paused", "timestamp": 1})
    assert (in_group["chat_id"], in_group["from"], in_group["from_lid"]) == (GROUP, BOB, BOB_LID)
    assert "chat_lid" not in in_group


def test_mentions_in_the_text_are_rewritten_as_go_whatsapp_does():
    text = "hi @251556368777322, @99887766554433 and @2515563687773229 (mail a@251556368777322) @bob"
    payload = resolved(
        {
            "type": "message",
            "id": "M5",
            "chat": GROUP,
            "sender": BOB,
            "text": text,
            "mentions": [ALICE_LID, STRANGER_LID],
        }
    )
    # Whole tags only: a longer number that starts like Alice's LID, an address, a word stay.
    assert payload["body"] == ("hi @15551234567, @99887766554433 and @2515563687773229 (mail a@251556368777322) @bob")
    assert payload[UNRESOLVED_LIDS] == [STRANGER_LID]  # WhatsApp said it is a LID: no pair


def test_a_tag_whatsapp_does_not_list_is_not_called_a_lid():
    """Without WhatsApp's mention list an unknown tag may be a phone number: not listed."""
    payload = resolved({"type": "message", "id": "M6", "sender": BOB, "text": "call @15559876543"})
    assert payload["body"] == "call @15559876543" and UNRESOLVED_LIDS not in payload


def test_an_edit_rewrites_its_mentions_too():
    payload = resolved({"type": "edited", "id": "E1", "sender": BOB, "target_id": "M1", "text": "@251556368777322 ok"})
    assert payload["body"] == "@15551234567 ok"


def test_each_lid_is_asked_once_and_a_flood_of_tags_is_capped():
    tags = " ".join(f"@{10**14 + n}" for n in range(MAX_MENTION_LOOKUPS * 3))
    event = to_event({"type": "message", "id": "M7", "sender": ALICE_LID, "chat": ALICE_LID, "text": tags})
    store = Store(PAIRS)
    with_phone_numbers(event, store)
    assert store.asked.count(ALICE_LID) == 1
    assert len(store.asked) == 1 + MAX_MENTION_LOOKUPS


def test_kinds_that_name_nobody_are_untouched():
    event = to_event({"type": "newsletter_mute", "newsletter_id": "120363123456789@newsletter", "mute": "on"})
    store = Store(PAIRS)
    assert with_phone_numbers(event, store) is event and store.asked == []


def test_the_fake_refuses_a_mention_list_that_is_not_jids():
    with pytest.raises(Exception, match="'mentions' must be a list of JIDs"):
        to_event({"type": "message", "id": "M8", "sender": BOB, "text": "x", "mentions": ["alice"]})


# Every field that can carry a LID, kind by kind ------------------------------------------------
def lid_everywhere() -> dict[str, events.InboundEvent]:
    """One event per kind that can name someone, with a LID in every such field."""
    return {
        events.MESSAGE: events.message(
            id="M", chat=ALICE_LID, sender=ALICE_LID, timestamp=1, body="@187723411239009", mentions=[BOB_LID]
        ),
        events.REACTION: events.reaction(
            id="R", chat=ALICE_LID, sender=ALICE_LID, timestamp=1, emoji="👍", target_id="M"
        ),
        events.REVOKED: events.revoked(
            id="V", chat=ALICE_LID, sender=ALICE_LID, timestamp=1, revoked_message_id="M", revoked_chat=ALICE_LID
        ),
        events.EDITED: events.edited(
            id="E", chat=ALICE_LID, sender=ALICE_LID, timestamp=1, original_message_id="M", body="@187723411239009"
        ),
        events.DELETED: events.message_deleted(
            deleted_message_id="M", chat=ALICE_LID, sender=ALICE_LID, was_from_me=False, timestamp=1
        ),
        events.ACK: events.receipt(ids=["M"], chat=ALICE_LID, sender=ALICE_LID, receipt_type="read", timestamp=1),
        events.CHAT_PRESENCE: events.chat_presence(chat=ALICE_LID, sender=ALICE_LID, state="composing", timestamp=1),
        events.GROUP_PARTICIPANTS: events.group_participants(
            chat=GROUP, change="join", jids=[ALICE_LID, BOB_LID], timestamp=1, sender=BOB_LID
        ),
        events.LABEL_ASSOCIATION: events.label_association(label_id="9", chat=ALICE_LID, labeled=True, timestamp=1),
        events.CALL_OFFER: events.call_offer(call_id="C", sender=ALICE_LID, timestamp=1),
        events.HISTORY_SYNC: events.history_sync(
            chat=ALICE_LID,
            chat_alt=None,
            messages=[events.message(id="H", chat=ALICE_LID, sender=ALICE_LID, timestamp=1, body="@187723411239009")],
        ),
    }


# A group is `…@g.us`, never a LID.
NEVER_A_LID = {(events.GROUP_PARTICIPANTS, "chat_id")}


def lid_fields(kind: str) -> list[str]:
    """The fields of a kind that can carry a LID (the companions `*_lid` and `unresolved_lids`
    always do, by design: they are not counted)."""
    fields = KINDS[kind].fields
    return [f for f in (*ADDRESS_FIELDS, DISPLAY_NAME, TEXT) if f in fields and (kind, f) not in NEVER_A_LID]


def test_every_field_that_can_carry_a_lid_comes_out_as_a_phone_number_when_the_pair_is_known():
    made = lid_everywhere()
    assert set(made) == {name for name, kind in KINDS.items() if UNRESOLVED_LIDS in kind.fields}
    carrying = known = 0
    for name, event in made.items():
        before, after = event.payload, with_phone_numbers(event, Store(PAIRS)).payload
        for field in lid_fields(name):
            carrying += 1
            text = json.dumps(before[field])
            assert "251556368777322" in text or "187723411239009" in text, (name, field, before[field])
            shown = json.dumps(after[field])
            if "251556368777322" not in shown and "187723411239009" not in shown:
                known += 1
        assert UNRESOLVED_LIDS not in after, name
    # The figure: (kind, field) pairs that can carry a LID, and of those, how many come out
    # as phone numbers when the pair is known.
    print(f"\nbody fields that can carry a LID: {carrying}; as phone numbers when the pair is known: {known}")
    assert known == carrying


def test_a_history_syncs_messages_come_out_as_their_own_message_events_would():
    event = lid_everywhere()[events.HISTORY_SYNC]
    [inside] = with_phone_numbers(event, Store(PAIRS)).payload["messages"]
    alone = with_phone_numbers(
        events.message(id="H", chat=ALICE_LID, sender=ALICE_LID, timestamp=1, body="@187723411239009"), Store(PAIRS)
    ).payload
    assert inside == alone and inside["chat_id"] == inside["from"] == ALICE
    unknown = with_phone_numbers(event, Store({})).payload
    assert unknown[UNRESOLVED_LIDS] == [ALICE_LID]
    assert unknown["messages"][0][UNRESOLVED_LIDS] == [ALICE_LID]  # as its own message event says


def test_with_no_pair_known_every_such_field_keeps_its_lid_and_the_body_says_so():
    for name, event in lid_everywhere().items():
        after = with_phone_numbers(event, Store({})).payload
        assert after[UNRESOLVED_LIDS], name
        for lid in after[UNRESOLVED_LIDS]:
            assert lid.endswith("@lid")


# Jobs take either form -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "kwargs", "field"),
    [
        ("send_text", {"to": ALICE_LID, "text": "hi"}, "to"),
        ("send_text", {"to": GROUP, "text": "hi", "reply_to": "M1", "reply_to_sender": ALICE_LID}, "reply_to_sender"),
        ("send_location", {"to": ALICE_LID, "latitude": 1.0, "longitude": 2.0}, "to"),
        ("react", {"chat": ALICE_LID, "message_id": "M1", "emoji": "👍", "sender": ALICE_LID}, "sender"),
        ("revoke", {"chat": ALICE_LID, "message_id": "M1", "sender": ALICE_LID}, "sender"),
        ("edit_message", {"chat": ALICE_LID, "message_id": "M1", "text": "x"}, "chat"),
        ("mark_read", {"chat": ALICE_LID, "ids": ["M1"], "sender": ALICE_LID}, "sender"),
        ("send_chat_presence", {"chat": ALICE_LID, "state": "composing"}, "chat"),
        ("set_disappearing", {"chat": ALICE_LID, "seconds": 86_400}, "chat"),
        ("reject_call", {"call_id": "C1", "caller": ALICE_LID}, "caller"),
        ("fetch_avatar", {"jid": ALICE_LID}, "jid"),
        ("user_info", {"jids": [ALICE_LID]}, "jids"),
        ("create_group", {"name": "x", "participants": [ALICE_LID]}, "participants"),
        ("group_participants", {"jid": GROUP, "action": "add", "participants": [ALICE_LID]}, "participants"),
    ],
)
def test_every_argument_naming_a_person_takes_a_lid_as_given(op, kwargs, field):
    """An app can answer with the `from_lid` it was given: the LID reaches the backend as it is."""
    from wagw import operations

    value = operations.validate(op, (), kwargs).model_dump()[field]
    assert value in (ALICE_LID, [ALICE_LID])
