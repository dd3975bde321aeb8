"""WhatsApp's history sync through neonize's real classes: a waHistorySync.HistorySync proto,
built here as WhatsApp sends it, wrapped as goneonize passes it on (N.HistorySync) and
dispatched through neonize's own Event.execute into the session: `history.sync` events whose
messages are exactly what each message's own `message` event would carry."""

from __future__ import annotations

import json

from tests.conformance.names import ALICE, ALICE_LID, DEVICE, GROUP

TS = 1_764_400_000
ME = DEVICE.replace(":7@", "@")  # the account, as a message sent from the phone names it


def web(id: str, chat: str, text: str, *, from_me: bool = False, unix: int = TS, **fields) -> dict:
    """One waWeb.WebMessageInfo of a conversation (HistorySyncMsg), in proto JSON."""
    info = {"key": {"remoteJID": chat, "fromMe": from_me, "ID": id}, "message": {"conversation": text}}
    return {"message": {**info, "messageTimestamp": unix, **fields}}


def live(id: str, text: str, **fields) -> dict:
    return {"kind": "message", "id": id, "message": {"conversation": text}, "unix": TS, **fields}


def bodies(go, *specs: dict) -> list[dict]:
    delivered = go.call("deliver", specs=list(specs))
    assert not delivered["stub_errors"] and delivered["connected"], delivered
    return [json.loads(body) for body in delivered["events"]]


def test_each_chat_becomes_history_sync_events_of_the_messages_own_payloads(session):
    conversations = [
        {
            "ID": ALICE,
            "lidJID": ALICE_LID,
            "messages": [
                web("3EB0H2", ALICE, "sent from the phone", from_me=True, unix=TS + 60),
                web("3EB0H1", ALICE, "old hi", pushName="Alice"),
                {"message": {"key": {"remoteJID": ALICE, "ID": "3EB0ST"}, "messageStubType": "REVOKE"}},
            ],
        },
        {"ID": GROUP, "messages": [web("3EB0G1", GROUP, "in the group", participant=ALICE)]},
        {"ID": "status@broadcast", "messages": [web("3EB0S1", "status@broadcast", "a story")]},
    ]
    synced = bodies(session, {"kind": "history_sync", "conversations": conversations})
    assert [(b["event"], b["payload"]["chat_id"]) for b in synced] == [("history.sync", ALICE), ("history.sync", GROUP)]
    direct, group = (b["payload"] for b in synced)
    assert direct["chat_lid"] == ALICE_LID and [m["id"] for m in direct["messages"]] == ["3EB0H1", "3EB0H2"]
    assert synced[0]["timestamp"] == "2025-11-29T07:07:40Z"  # its newest message's

    # The same messages arriving live: the history carries exactly their payloads.
    alive = bodies(
        session,
        live("3EB0H1", "old hi", sender=ALICE, sender_alt=ALICE_LID, push_name="Alice"),
        live("3EB0H2", "sent from the phone", chat=ALICE, sender=DEVICE, from_me=True, recipient_alt=ALICE_LID)
        | {"unix": TS + 60},
        live("3EB0G1", "in the group", chat=GROUP, sender=ALICE),
    )
    assert [b["payload"] for b in alive] == [*direct["messages"], *group["messages"]]
    assert direct["messages"][1]["is_from_me"] is True and direct["messages"][1]["from"] == ME


def test_a_long_chat_is_split_and_the_same_chunk_again_is_the_same_event(session):
    many = [web(f"3EB0L{n:03}", ALICE, f"message {n}", unix=TS + n) for n in range(150)]
    spec = {"kind": "history_sync", "conversations": [{"ID": ALICE, "messages": many}]}
    first = bodies(session, spec)
    assert [len(b["payload"]["messages"]) for b in first] == [100, 50]
    assert (
        first[0]["payload"]["messages"][0]["id"] == "3EB0L000"
        and first[1]["payload"]["messages"][-1]["id"] == "3EB0L149"
    )
    # Sent again in a later sync: the same events (the same ids), so the session drops them.
    again = bodies(session, spec | {"sync_type": "ON_DEMAND"})
    assert [b["id"] for b in again] == [b["id"] for b in first]
