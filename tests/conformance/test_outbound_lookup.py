"""Profile, lookup, message-action, presence and chat jobs through neonize's own wrappers and
the ctypes boundary, answered as goneonize/whatsmeow answer (whatsmeow.World)."""

from __future__ import annotations

import time

import pytest

from tests.conformance.names import ACCOUNT, ALICE, ALICE_LID, BOB, ERR_NO_PUSH_NAME, ERR_NOT_CONNECTED, GROUP
from tests.conformance.test_outbound import job, worker  # noqa: F401  (the connected worker-1 fixture)


# my_privacy -----------------------------------------------------------------------------------
def test_my_privacy_reads_whatsmeows_settings(worker):  # noqa: F811
    """goneonize's GetPrivacySettings has no error field; a setting WhatsApp did not send
    ("" in whatsmeow, UNDEFINED in neonize's enum) is null."""
    assert job(worker, "my_privacy") == {
        "result": {
            "group_add": "contacts",
            "last_seen": "contact_blacklist",
            "status": "contacts",
            "profile": "all",
            "read_receipts": "none",
            "call_add": "known",
            "online": None,
        }
    }
    assert len(worker.call("calls", entry="GetPrivacySettings")) == 1


def test_my_privacy_while_disconnected_is_empty_until_whatsapp_answered_once(worker):  # noqa: F811
    """whatsmeow's GetPrivacySettings logs a failed query and returns empty settings (every
    one null here); once WhatsApp answered, its cached answer is given even while disconnected."""
    worker.call("set_world", online=False)
    assert set(job(worker, "my_privacy")["result"].values()) == {None}
    worker.call("set_world", online=True)
    assert job(worker, "my_privacy")["result"]["group_add"] == "contacts"
    worker.call("set_world", online=False)
    assert job(worker, "my_privacy")["result"]["group_add"] == "contacts"


# contacts -------------------------------------------------------------------------------------
def test_contacts_lists_the_device_stores_contacts_sorted(worker):  # noqa: F811
    """goneonize ranges over whatsmeow's map (no order): wagw sorts by JID; `name` is the
    first name that is set, as go-whatsapp-web-multidevice shows it."""
    result = job(worker, "contacts")["result"]
    assert result == {
        "contacts": [
            {
                "jid": ALICE,
                "name": "Alice Liddell",
                "first_name": "Alice",
                "full_name": "Alice Liddell",
                "push_name": "Ali",
                "business_name": None,
            },
            {
                "jid": "15557654321@s.whatsapp.net",
                "name": "Bob",
                "first_name": None,
                "full_name": None,
                "push_name": "Bob",
                "business_name": None,
            },
            {
                "jid": "15559876543@s.whatsapp.net",
                "name": "Carol's Bakery",
                "first_name": None,
                "full_name": None,
                "push_name": None,
                "business_name": "Carol's Bakery",
            },
        ]
    }


def test_contacts_of_an_empty_store_is_an_empty_list(worker):  # noqa: F811
    worker.call("set_world", contacts={})
    assert job(worker, "contacts") == {"result": {"contacts": []}}


def test_a_contact_store_error_fails_with_its_text_and_is_retried(worker):  # noqa: F811
    worker.call("set_world", contacts_unreadable=True)  # the real store's query fails
    failed = job(worker, "contacts")
    assert failed["error"] == "BackendError" and failed["module"] == "wagw.backends.base"
    assert failed["message"] == "contacts failed: no such table: whatsmeow_contacts"
    assert not failed["permanent"]


# react ----------------------------------------------------------------------------------------
def reaction_sent(go) -> tuple[str, dict]:
    [call] = go.call("calls", entry="SendMessage")
    return call["to"], call["message"]["reactionMessage"]


def test_react_in_a_direct_chat_keys_the_other_persons_message(worker):  # noqa: F811
    result = job(worker, "react", chat="+1 555 123 4567", message_id="3EB0AA", emoji="👍")["result"]
    assert result["chat"] == ALICE and result["message_id"] == "3EB0AA" and result["emoji"] == "👍"
    assert result["id"].startswith("3EB0") and result["timestamp"].endswith("Z")
    to, reaction = reaction_sent(worker)
    assert to == ALICE and reaction["text"] == "👍"
    assert reaction["key"] == {"remoteJID": ALICE, "fromMe": False, "ID": "3EB0AA"}


def test_react_in_a_group_names_the_sender_as_participant(worker):  # noqa: F811
    job(worker, "react", chat=GROUP, message_id="3EB0AB", emoji="❤️", sender=BOB)
    to, reaction = reaction_sent(worker)
    assert to == GROUP
    assert reaction["key"] == {"remoteJID": GROUP, "fromMe": False, "ID": "3EB0AB", "participant": BOB}


def test_react_to_an_own_message_and_remove_a_reaction(worker):  # noqa: F811
    """Own message: the sender is this account (device_id in webhook bodies). Empty emoji:
    whatsmeow sends a reaction with empty text, which WhatsApp reads as its removal."""
    result = job(worker, "react", chat=ALICE, message_id="3EB0AC", emoji="", sender=ACCOUNT)["result"]
    assert result["emoji"] == ""
    _, reaction = reaction_sent(worker)
    assert reaction["key"] == {"remoteJID": ALICE, "fromMe": True, "ID": "3EB0AC"}
    assert reaction.get("text", "") == ""


# revoke ---------------------------------------------------------------------------------------
def revoke_sent(go) -> tuple[str, dict]:
    [call] = go.call("calls", entry="SendMessage")
    return call["to"], call["message"]["protocolMessage"]


def test_revoke_an_own_message(worker):  # noqa: F811
    """No sender: this account's own message (neonize compares the sender with get_me())."""
    result = job(worker, "revoke", chat="+1 555 123 4567", message_id="3EB0AA")["result"]
    assert (result["chat"], result["message_id"], result["sender"]) == (ALICE, "3EB0AA", None)
    assert result["id"].startswith("3EB0") and result["timestamp"].endswith("Z")
    to, protocol = revoke_sent(worker)
    assert to == ALICE
    assert protocol == {"type": "REVOKE", "key": {"remoteJID": ALICE, "fromMe": True, "ID": "3EB0AA"}}
    assert len(worker.call("calls", entry="GetMe")) >= 1


def test_revoke_a_members_message_in_a_group_as_admin(worker):  # noqa: F811
    job(worker, "revoke", chat=GROUP, message_id="3EB0AB", sender=BOB)
    to, protocol = revoke_sent(worker)
    assert to == GROUP
    assert protocol["key"] == {"remoteJID": GROUP, "fromMe": False, "ID": "3EB0AB", "participant": BOB}


def test_revoke_with_the_accounts_own_number_as_sender(worker):  # noqa: F811
    job(worker, "revoke", chat=GROUP, message_id="3EB0AC", sender=ACCOUNT)
    assert revoke_sent(worker)[1]["key"] == {"remoteJID": GROUP, "fromMe": True, "ID": "3EB0AC"}


def test_revoking_someone_elses_message_in_a_direct_chat_fails_at_once(worker):  # noqa: F811
    """neonize would key it as the other person's without a participant, which WhatsApp
    ignores: wagw refuses it (not retried) before anything is sent."""
    failed = job(worker, "revoke", chat=ALICE, message_id="3EB0AD", sender=ALICE)
    assert failed["error"] == "InvalidArguments" and failed["permanent"]
    assert "only a group admin can revoke someone else's message" in failed["message"]
    assert worker.call("calls", entry="SendMessage") == []


# edit_message ---------------------------------------------------------------------------------
def test_edit_message_sends_a_message_edit_of_an_own_message(worker):  # noqa: F811
    result = job(worker, "edit_message", chat=GROUP, message_id="3EB0AA", text="fixed typo")["result"]
    assert (result["chat"], result["message_id"], result["text"]) == (GROUP, "3EB0AA", "fixed typo")
    assert result["id"].startswith("3EB0") and result["timestamp"].endswith("Z")
    [call] = worker.call("calls", entry="SendMessage")
    assert call["to"] == GROUP
    protocol = call["message"]["editedMessage"]["message"]["protocolMessage"]
    assert protocol["type"] == "MESSAGE_EDIT"
    assert protocol["key"] == {"remoteJID": GROUP, "fromMe": True, "ID": "3EB0AA"}
    assert protocol["editedMessage"] == {"conversation": "fixed typo"}


# send_presence --------------------------------------------------------------------------------
def test_send_presence(worker):  # noqa: F811
    assert job(worker, "send_presence", presence="available") == {"result": {"presence": "available"}}
    assert job(worker, "send_presence", presence="unavailable") == {"result": {"presence": "unavailable"}}
    assert [c["presence"] for c in worker.call("calls", entry="SendPresence")] == ["available", "unavailable"]


def test_send_presence_before_the_push_name_is_synced_fails_with_whatsmeows_text(worker):  # noqa: F811
    """neonize raises SendPresenceError with the C string's bytes: the message is the text."""
    worker.call("set_world", push_name="")
    failed = job(worker, "send_presence", presence="available")
    assert failed["error"] == "BackendError" and not failed["permanent"]
    assert failed["message"] == f"send_presence failed: {ERR_NO_PUSH_NAME}"


# send_chat_presence ---------------------------------------------------------------------------
def test_send_chat_presence_maps_recording_to_composing_audio(worker):  # noqa: F811
    for state in ("composing", "recording", "paused"):
        assert job(worker, "send_chat_presence", chat="+1 555 123 4567", state=state) == {
            "result": {"chat": ALICE, "state": state}
        }
    sent = [(c["chat"], c["state"], c["media"]) for c in worker.call("calls", entry="SendChatPresence")]
    assert sent == [(ALICE, "composing", ""), (ALICE, "composing", "audio"), (ALICE, "paused", "")]


# set_disappearing -----------------------------------------------------------------------------
def test_set_disappearing_passes_nanoseconds_and_the_setting_time(worker):  # noqa: F811
    """goneonize reads the timer as a time.Duration and the setting time as UnixMilli: the
    chat gets 7 days (not 604 ms) and a setting time of now (not 1970)."""
    before = int(time.time())
    assert job(worker, "set_disappearing", chat="+1 555 123 4567", seconds=604_800) == {
        "result": {"chat": ALICE, "seconds": 604_800}
    }
    assert job(worker, "set_disappearing", chat=GROUP, seconds=0) == {"result": {"chat": GROUP, "seconds": 0}}
    first, second = worker.call("calls", entry="SetDisappearingTimer")
    assert (first["chat"], first["seconds"], second["chat"], second["seconds"]) == (ALICE, 604_800, GROUP, 0)
    assert before - 2 <= first["setting_unix"] <= time.time() + 2


# reject_call ----------------------------------------------------------------------------------
def test_reject_call_names_the_caller_and_the_call(worker):  # noqa: F811
    assert job(worker, "reject_call", call_id="ABC123DEF456", caller="+1 555 123 4567") == {
        "result": {"call_id": "ABC123DEF456", "caller": ALICE}
    }
    assert job(worker, "reject_call", call_id="C0FFEE", caller=ALICE_LID)["result"]["caller"] == ALICE_LID
    calls = [(c["caller"], c["call_id"]) for c in worker.call("calls", entry="RejectCall")]
    assert calls == [(ALICE, "ABC123DEF456"), (ALICE_LID, "C0FFEE")]


def test_reject_call_while_disconnected_fails_with_whatsmeows_text(worker):  # noqa: F811
    worker.call("set_world", online=False)
    failed = job(worker, "reject_call", call_id="ABC123DEF456", caller=ALICE)
    assert failed["error"] == "BackendError" and not failed["permanent"]
    assert failed["message"] == f"reject_call failed: {ERR_NOT_CONNECTED}"


@pytest.mark.parametrize(
    ("op", "kwargs"),
    [
        ("mark_read", {"chat": ALICE, "ids": ["3EB0AA"]}),
        ("send_presence", {"presence": "available"}),
        ("send_chat_presence", {"chat": ALICE, "state": "composing"}),
    ],
)
def test_a_node_sent_while_disconnected_fails_with_whatsmeows_text(worker, op, kwargs):  # noqa: F811
    """MarkRead, SendPresence and SendChatPresence end in sendNode (receipt.go, presence.go),
    which refuses with ErrNotConnected while the websocket is down."""
    worker.call("set_world", online=False)
    failed = job(worker, op, **kwargs)
    assert failed["error"] == "BackendError" and not failed["permanent"], failed
    assert failed["message"] == f"{op} failed: {ERR_NOT_CONNECTED}"


def test_a_send_to_a_device_address_goes_to_the_user_which_whatsmeow_accepts(worker):  # noqa: F811
    """send.go SendMessage refuses a recipient with a device part (ErrRecipientADJID): wagw
    sends to the user (…:3@… without its device)."""
    assert job(worker, "send_text", to="15551234567:3@s.whatsapp.net", text="hi")["result"]["to"] == ALICE
    assert [call["to"] for call in worker.call("calls", entry="SendMessage")] == [ALICE]
