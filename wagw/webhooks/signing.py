"""Webhook signatures (SPEC "Headers on every delivery").

Two headers sign the same raw body bytes:

- `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256(secret, body), exactly what
  go-whatsapp-web-multidevice sends, so its consumers verify wagw's webhooks unchanged.
- `X-Wagw-Signature: t=<unix>,v1=<hex>`: HMAC-SHA256(secret, "<t>.<body>"). Binding the time
  lets a receiver reject a captured request replayed later (see `verify_wagw_signature`).

The verify functions are what a Python receiver needs; docs/webhooks.md shows them.

A third MAC never leaves wagw: the *seal* on each delivery job. The session (which holds the
secret) seals (endpoint id, event id, body) when it enqueues; a webhook worker signs and sends
only a job whose seal matches. Whoever can write jobs to Redis cannot have wagw sign a body of
their choosing (docs/security.md). Its key is derived from the secret for this one use, so a
seal is never a valid webhook signature and the other way round.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import lru_cache

from wagw import __version__

USER_AGENT = f"wagw/{__version__}"
# How old a replay-safe signature may be before a receiver should refuse it.
DEFAULT_TOLERANCE = 300


_SEAL_PURPOSE = b"wagw delivery job seal, v1"


def _hex_hmac(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def hub_signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + _hex_hmac(secret, body)


def wagw_signature(secret: bytes, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1=" + _hex_hmac(secret, b"%d." % timestamp + body)


def delivery_headers(
    secret: bytes, body: bytes, event_id: str, attempt: int, now: float | None = None, *, account: str = "default"
) -> dict[str, str]:
    """Every header of one delivery attempt; signed afresh per attempt (a new `t`)."""
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Hub-Signature-256": hub_signature(secret, body),
        "X-Wagw-Signature": wagw_signature(secret, body, timestamp),
        "X-Wagw-Event-Id": event_id,
        "X-Wagw-Attempt": str(attempt),
        "X-Wagw-Account": account,
    }


def verify_hub_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """go-whatsapp-web-multidevice's check: HMAC-SHA256 of the raw body, `sha256=` prefix."""
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(_hex_hmac(secret, body), header.removeprefix("sha256="))


def verify_wagw_signature(
    secret: bytes, body: bytes, header: str | None, tolerance: float = DEFAULT_TOLERANCE, now: float | None = None
) -> bool:
    """Check `X-Wagw-Signature` and that its time is within `tolerance` seconds of now."""
    if not header:
        return False
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = _hex_hmac(secret, b"%d." % timestamp + body)
    # Several v1 values let a sender sign with an old and a new secret during a rotation.
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))


@lru_cache(maxsize=4)
def seal_key(secret: bytes) -> bytes:
    """The key that seals delivery jobs, derived from the webhook secret."""
    return hmac.new(secret, _SEAL_PURPOSE, hashlib.sha256).digest()


def seal(key: bytes, endpoint_id: str, event_id: str, body: str, download: str | None = None) -> str:
    """The seal of one delivery job (lengths first, so no two argument lists read the same).

    `download` is the id of the download_media job whose outcome the delivery's body follows
    (WAGW_MEDIA_AUTO_DOWNLOAD, docs/webhooks.md): sealed too, behind a prefix no seal without
    it can start with (those start with a digit), so it can be neither added, removed nor
    changed."""
    head = f"{len(endpoint_id)}:{endpoint_id}{len(event_id)}:{event_id}"
    if download is not None:
        head = f"d{len(download)}:{download}" + head
    return hmac.new(key, head.encode() + body.encode(), hashlib.sha256).hexdigest()[:32]


def seal_matches(
    key: bytes, endpoint_id: str, event_id: str, body: str, given: object, download: str | None = None
) -> bool:
    return isinstance(given, str) and hmac.compare_digest(seal(key, endpoint_id, event_id, body, download), given)


def sealed(key: bytes, args: object) -> bool:
    """True when a delivery job's arguments are (endpoint_id, event_id, body, seal), or those
    and a download job id, with a seal that matches: the session made this job."""
    if not isinstance(args, list | tuple) or len(args) not in (4, 5):
        return False
    endpoint_id, event_id, body, given = args[:4]
    download = args[4] if len(args) == 5 else None
    if download is not None and not isinstance(download, str):
        return False
    return all(isinstance(a, str) for a in (endpoint_id, event_id, body)) and seal_matches(
        key, endpoint_id, event_id, body, given, download
    )
