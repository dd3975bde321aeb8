"""Webhook signatures, checked exactly as go-whatsapp-web-multidevice's docs tell its
consumers to (docs/webhook-payload.md there: HMAC-SHA256 of the raw body, hex, `sha256=`
prefix), plus wagw's replay-safe X-Wagw-Signature."""

from __future__ import annotations

import hashlib
import hmac

from wagw.webhooks.signing import (
    delivery_headers,
    hub_signature,
    verify_hub_signature,
    verify_wagw_signature,
    wagw_signature,
)

SECRET = "your-secret-key"
BODY = '{"event":"message","payload":{"body":"héllo 👋"}}'.encode()


def upstream_python_verifier(payload: bytes, signature: str, secret: str) -> bool:
    """The Python verification example from go-whatsapp-web-multidevice's webhook docs."""
    expected_signature = hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()
    received_signature = signature.replace("sha256=", "")
    return hmac.compare_digest(expected_signature, received_signature)


def upstream_node_style_verifier(payload: bytes, signature: str, secret: str) -> bool:
    """The docs' Node.js example, step for step: hex digest, strip the prefix, compare bytes."""
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    received = bytes.fromhex(signature.replace("sha256=", ""))
    return hmac.compare_digest(expected, received)


def test_hub_signature_verifies_as_upstream_consumers_do():
    headers = delivery_headers(SECRET.encode(), BODY, "ev1", 1)
    signature = headers["X-Hub-Signature-256"]
    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64
    assert upstream_python_verifier(BODY, signature, SECRET)
    assert upstream_node_style_verifier(BODY, signature, SECRET)
    assert verify_hub_signature(SECRET.encode(), BODY, signature)


def test_hub_signature_rejects_a_changed_body_or_secret():
    signature = hub_signature(SECRET.encode(), BODY)
    assert not upstream_python_verifier(BODY + b" ", signature, SECRET)
    assert not upstream_python_verifier(BODY, signature, "other")
    assert not verify_hub_signature(SECRET.encode(), BODY.replace(b"h", b"H"), signature)
    assert not verify_hub_signature(SECRET.encode(), BODY, signature.removeprefix("sha256="))
    assert not verify_hub_signature(SECRET.encode(), BODY, None)


def test_replay_safe_signature_binds_the_time():
    header = wagw_signature(SECRET.encode(), BODY, 1_800_000_000)
    t_part, v1_part = header.split(",")
    assert t_part == "t=1800000000"
    expected = hmac.new(SECRET.encode(), b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert v1_part == "v1=" + expected
    assert verify_wagw_signature(SECRET.encode(), BODY, header, now=1_800_000_100)
    # Too old (a captured request replayed later), or from the future.
    assert not verify_wagw_signature(SECRET.encode(), BODY, header, now=1_800_000_301)
    assert not verify_wagw_signature(SECRET.encode(), BODY, header, now=1_799_999_000)
    # Another time with the same v1 does not verify: the time is signed.
    forged = header.replace("t=1800000000", "t=1800000200")
    assert not verify_wagw_signature(SECRET.encode(), BODY, forged, now=1_800_000_200)
    assert not verify_wagw_signature(SECRET.encode(), BODY + b"x", header, now=1_800_000_000)
    assert not verify_wagw_signature(SECRET.encode(), BODY, "garbage", now=1_800_000_000)


def test_several_v1_values_allow_secret_rotation():
    new = wagw_signature(b"new-secret", BODY, 1_800_000_000)
    old = wagw_signature(b"old-secret", BODY, 1_800_000_000).split(",")[1]
    both = f"{new},{old}"
    assert verify_wagw_signature(b"old-secret", BODY, both, now=1_800_000_000)
    assert verify_wagw_signature(b"new-secret", BODY, both, now=1_800_000_000)


def test_every_delivery_header_is_there():
    headers = delivery_headers(b"s", BODY, "0123abcd", 3, now=1_800_000_000.7)
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("wagw/")
    assert headers["X-Wagw-Event-Id"] == "0123abcd"
    assert headers["X-Wagw-Attempt"] == "3"
    assert headers["X-Wagw-Signature"].startswith("t=1800000000,v1=")
    assert verify_wagw_signature(b"s", BODY, headers["X-Wagw-Signature"], now=1_800_000_001)
