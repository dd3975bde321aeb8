"""reject_call declines a call with its creator exactly as the offer named it (LID or number).

whatsmeow's RejectCall (call.go) puts the JID it is given in the rejection's `call-creator`;
WhatsApp matches the rejection to the offer by it. The call.offer body gives the number in
`from` and the LID in `from_lid`, so an app passes either: the job must still decline with
the one the offer used, which the session noted (wagw.calls)."""

from __future__ import annotations

import pytest

from tests.conformance.names import ALICE, ALICE_LID
from tests.conformance.roles import FakeAccount, NeonizeAccount


@pytest.fixture
def neonize(go, data_dir, redis_url, redis_conn):
    return NeonizeAccount(go, data_dir, redis_url)


def offer(call_id: str, creator: str, alt: str) -> dict:
    return {"kind": "call_offer", "call_id": call_id, "caller": creator, "caller_alt": alt}


def declined(go) -> list[str]:
    return [call["caller"] for call in go.call("calls", entry="RejectCall")]


@pytest.mark.parametrize(
    ("creator", "alt", "given"),
    [(ALICE_LID, ALICE, ALICE), (ALICE, ALICE_LID, ALICE_LID), (ALICE_LID, ALICE, ALICE_LID)],
    ids=["lid-offer-rejected-by-number", "number-offer-rejected-by-lid", "as-given"],
)
def test_the_rejection_names_the_offers_creator(neonize, creator, alt, given):
    [body] = neonize.deliver(offer("C0FFEE01", creator, alt))
    assert body["payload"]["call_id"] == "C0FFEE01"
    done = neonize.job("reject_call", call_id="C0FFEE01", caller=given)
    assert done == {"result": {"call_id": "C0FFEE01", "caller": creator}}
    assert declined(neonize.go) == [creator]


def test_a_call_the_session_did_not_see_is_declined_with_the_caller_given(neonize):
    assert neonize.job("reject_call", call_id="UNSEEN01", caller=ALICE)["result"]["caller"] == ALICE
    assert declined(neonize.go) == [ALICE]


def test_another_persons_jid_is_not_replaced(neonize):
    neonize.deliver(offer("C0FFEE02", ALICE_LID, ALICE))
    other = "15557654321@s.whatsapp.net"
    assert neonize.job("reject_call", call_id="C0FFEE02", caller=other)["result"]["caller"] == other


def test_the_fake_declines_with_the_same_creator(settings, redis_conn, neonize):
    """Parity: the fake's session notes the offer's creator too, and its reject_call uses it."""
    neonize.deliver(offer("C0FFEE03", ALICE_LID, ALICE))
    real = neonize.job("reject_call", call_id="C0FFEE03", caller=ALICE)
    fake = FakeAccount(settings, redis_conn)
    fake.deliver({"type": "call_offer", "call_id": "C0FFEE04", "sender": ALICE_LID, "sender_alt": ALICE})
    simulated = fake.job("reject_call", call_id="C0FFEE04", caller=ALICE)
    assert simulated["result"]["caller"] == real["result"]["caller"] == ALICE_LID
    assert [args["caller"] for args in fake.sent("reject_call")] == declined(neonize.go) == [ALICE_LID]
