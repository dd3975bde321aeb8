"""Go entries that work offline run for real on the connection's whatsmeow client and store
(stub_sources.TRACED): what they build is whatsmeow's, not a model's."""

from __future__ import annotations

from tests.conformance.names import ACCOUNT_LID, ALICE, ALICE_LID, GROUP
from tests.conformance.test_outbound import job, sent_messages, worker  # noqa: F401  (the connected worker-1)


def test_a_reaction_to_the_accounts_own_message_named_by_its_lid_is_keyed_as_its_own(worker):  # noqa: F811
    """whatsmeow's BuildMessageKey (send.go) compares the sender with the store's own number
    and its own LID: the account's LID in a group is this account, not a participant."""
    job(worker, "react", chat=GROUP, message_id="3EB0AD", emoji="👍", sender=ACCOUNT_LID)
    [call] = worker.call("calls", entry="BuildReaction")
    assert call["sender"] == ACCOUNT_LID
    [(to, message)] = sent_messages(worker)
    assert to == GROUP
    assert message["reactionMessage"]["key"] == {"remoteJID": GROUP, "fromMe": True, "ID": "3EB0AD"}


def test_a_poll_carries_the_secret_whatsmeow_made(worker):  # noqa: F811
    """BuildPollCreation (msgsecret.go): a fresh 32-byte secret per poll, never the same twice."""
    secrets = []
    for _ in range(2):
        job(worker, "send_poll", to=GROUP, question="Lunch?", options=["Pizza", "Sushi"])
        secrets.append(sent_messages(worker)[-1][1]["messageContextInfo"]["messageSecret"])
    assert len(set(secrets)) == 2


def test_a_number_answered_with_its_lid_is_in_the_lid_store_afterwards(worker):  # noqa: F811
    """user.go IsOnWhatsApp stores each LID WhatsApp answers with beside its number
    (PutManyLIDMappings): the real LID store knows the pair from then on."""
    job(worker, "is_on_whatsapp", phones=["+1 555 123 4567"])
    assert worker.call("lookups", lids=[ALICE_LID]) == {ALICE_LID: ALICE}
