"""An edit from a phone that moved to LIDs, as WhatsApp sends it today: a
`secretEncryptedMessage` (MESSAGE_EDIT) whose payload is encrypted with the original
message's secret. whatsmeow decrypts it only when asked (msgsecret.go
DecryptSecretEncryptedMessage, "Message Edit" key), and goneonize exports no call for that
(main.go exports DecryptPollVote only), so neonize 0.5.2 hands wagw the ciphertext: the body
names the edited message (targetMessageKey) and says that the new text cannot be read."""

from __future__ import annotations

import base64
import json

from tests.conformance.names import ALICE, ALICE_LID
from wagw.events.messages import SECRET_EDIT_UNREADABLE


def secret_edit(target: str, sender: str, **spec) -> dict:
    encrypted = {
        "targetMessageKey": {"ID": target, "remoteJID": sender, "fromMe": False},
        "encPayload": base64.b64encode(b"\x8f" * 48).decode(),
        "encIV": base64.b64encode(b"\x01" * 12).decode(),
        "secretEncType": "MESSAGE_EDIT",
    }
    return {"kind": "message", "sender": sender, "message": {"secretEncryptedMessage": encrypted}, **spec}


def test_a_secret_encrypted_edit_is_an_edit_of_its_target(session):
    spec = secret_edit("3EB0ORIGINAL", ALICE_LID, id="3EB0EDIT1", sender_alt=ALICE)
    delivered = session.call("deliver", specs=[spec])
    assert not delivered["stub_errors"]
    [body] = [json.loads(event) for event in delivered["events"]]
    assert body["event"] == "message.edited", body
    payload = body["payload"]
    assert payload["id"] == "3EB0EDIT1" and payload["original_message_id"] == "3EB0ORIGINAL"
    assert "body" not in payload and payload["body_unreadable"] == SECRET_EDIT_UNREADABLE
    assert "unsupported" not in payload


def test_other_secret_encrypted_kinds_stay_labelled(session):
    spec = secret_edit("3EB0POLL", ALICE, id="3EB0EDIT2")
    spec["message"]["secretEncryptedMessage"]["secretEncType"] = "POLL_EDIT"
    [body] = [json.loads(event) for event in session.call("deliver", specs=[spec])["events"]]
    assert body["event"] == "message" and body["payload"]["unsupported"] == "secretEncryptedMessage"
