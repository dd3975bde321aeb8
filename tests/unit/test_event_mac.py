"""The event MAC (wagw.webhooks.signing): the session's mark on what it appends to `wagw:events`.
Its key is derived from the webhook secret for this one use; it binds the account, the event
id and the body; it is never a delivery signature nor a job seal."""

from __future__ import annotations

import pytest

from wagw.webhooks.signing import (
    event_log_key,
    event_mac,
    event_mac_matches,
    hub_signature,
    seal,
    seal_key,
    wagw_signature,
)

SECRET = b"t0p-secret-for-the-event-log"
BODY = '{"event":"message","id":"e1","account":"default","payload":{"body":"hi"}}'


def mac(secret: bytes = SECRET, account: str = "default", event_id: str = "e1", body: str = BODY) -> str:
    return event_mac(event_log_key(secret), account, event_id, body)


def test_it_matches_what_it_was_made_of_and_nothing_else():
    given = mac()
    assert len(given) == 64 and int(given, 16) >= 0
    assert event_mac_matches(event_log_key(SECRET), "default", "e1", BODY, given)
    others = {
        mac(secret=b"another-secret-of-the-account"),
        mac(account="sales"),
        mac(event_id="e2"),
        mac(body=BODY.replace("hi", "ho")),
        mac(account="default1", event_id=""),  # the lengths keep the fields apart
        mac(account="", event_id="default1"),
    }
    assert given not in others and len(others) == 6


def test_the_key_is_its_own_not_the_secret_nor_the_seal_key():
    assert event_log_key(SECRET) != SECRET and event_log_key(SECRET) != seal_key(SECRET)
    assert event_log_key(SECRET) != event_log_key(b"another-secret-of-the-account")


def test_it_is_never_the_delivery_signature_nor_a_seal_of_the_same_body():
    given = mac()
    assert given != hub_signature(SECRET, BODY.encode()).removeprefix("sha256=")
    assert given not in wagw_signature(SECRET, BODY.encode(), 1_764_400_000)
    assert given[:32] != seal(seal_key(SECRET), "0123456789abcdef", "e1", BODY).rsplit(".", 1)[1]
    # Nor does a delivery signature of the body pass as its MAC.
    signature = hub_signature(SECRET, BODY.encode()).removeprefix("sha256=")
    assert not event_mac_matches(event_log_key(SECRET), "default", "e1", BODY, signature)


@pytest.mark.parametrize("given", [None, "", "ff" * 32, "é" * 64, 12, b"x"])
def test_anything_else_stored_in_its_place_does_not_match(given):
    assert not event_mac_matches(event_log_key(SECRET), "default", "e1", BODY, given)
