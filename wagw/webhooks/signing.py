"""Webhook signatures (SPEC "Headers on every delivery").

Two headers sign the same raw body bytes:

- `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256(secret, body), exactly what
  go-whatsapp-web-multidevice sends, so its consumers verify wagw's webhooks unchanged.
- `X-Wagw-Signature: t=<unix>,v1=<hex>`: HMAC-SHA256(secret, "<t>.<body>"). Binding the time
  lets a receiver reject a captured request replayed later (see `verify_wagw_signature`).

The verify functions are what a Python receiver needs; docs/webhooks.md shows them.

A third MAC never leaves wagw: the *seal* on each delivery job. The session (which holds the
secret) seals (endpoint id, event id, body) and the time it sealed them when it enqueues; a
webhook worker signs and sends only a job whose seal matches and is not older than a delivery
is kept (wagw/webhooks/lifetime.py). Whoever can write jobs to Redis cannot have wagw sign a
body of their choosing, nor send a copy of an old job again (docs/security.md). Its key is
derived from the secret for this one use, so a seal is never a valid webhook signature and the
other way round.

Seal versions: `v2.<unix time>.<mac>` (the time under the MAC); a bare 32-digit mac is v1, from
a wagw before the time was sealed, accepted only for a while after the upgrade (lifetime.py).
`r2.<unix time>.<mac>` seals a replay of a stored event (`wagw events replay`): delivered with
`X-Wagw-Replay: 1`; its prefix is under the MAC, so no live seal can be made a replay's, nor
the other way round.

A fourth MAC marks what the session appended to the event log (`wagw:events`): the *event MAC*
over (account, event id, body), with a key of its own derived from the account's secret. The
history store keeps it with the event, and `wagw events replay` seals only an event whose MAC
matches: whoever can append to the stream (or write the store) cannot have a replay sign a body
of their choosing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from functools import lru_cache

from wagw import __version__
from wagw.accounts import DEFAULT

USER_AGENT = f"wagw/{__version__}"
REPLAY_HEADER = "X-Wagw-Replay"
# How old a replay-safe signature may be before a receiver should refuse it.
DEFAULT_TOLERANCE = 300


_SEAL_PURPOSE = b"wagw delivery job seal, v1"
_EVENT_LOG_PURPOSE = b"wagw event log v1"


def _hex_hmac(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def hub_signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + _hex_hmac(secret, body)


def wagw_signature(secret: bytes, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1=" + _hex_hmac(secret, b"%d." % timestamp + body)


def delivery_headers(
    secret: bytes,
    body: bytes,
    event_id: str,
    attempt: int,
    now: float | None = None,
    *,
    account: str = DEFAULT,
    replay: bool = False,
) -> dict[str, str]:
    """Every header of one delivery attempt; signed afresh per attempt (a new `t`)."""
    timestamp = int(time.time() if now is None else now)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Hub-Signature-256": hub_signature(secret, body),
        "X-Wagw-Signature": wagw_signature(secret, body, timestamp),
        "X-Wagw-Event-Id": event_id,
        "X-Wagw-Attempt": str(attempt),
        "X-Wagw-Account": account,
    }
    if replay:  # a stored event delivered again by `wagw events replay`
        headers[REPLAY_HEADER] = "1"
    return headers


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


@lru_cache(maxsize=4)
def event_log_key(secret: bytes) -> bytes:
    """The key of the event MAC, derived from the webhook secret for this one use (never a
    delivery signature's nor a job seal's)."""
    return hmac.new(secret, _EVENT_LOG_PURPOSE, hashlib.sha256).digest()


def event_mac(key: bytes, account: str, event_id: str, body: str) -> str:
    """The MAC of one event as the session appends it to `wagw:events` (hex). Lengths first, so
    no two (account, event id, body) read the same; the account is under it, so accounts that
    share a secret cannot take each other's events."""
    head = f"{len(account)}:{account}{len(event_id)}:{event_id}"
    return _hex_hmac(key, head.encode() + body.encode())


def event_mac_matches(key: bytes, account: str, event_id: str, body: str, given: object) -> bool:
    """Whether `given` is the event MAC of (account, event id, body): the session stored it."""
    if not isinstance(given, str):
        return False
    # As bytes: compare_digest refuses a str that is not ASCII, and `given` is stored text.
    return hmac.compare_digest(event_mac(key, account, event_id, body).encode(), given.encode())


@dataclass(frozen=True)
class Seal:
    """A seal that matched its job's arguments: its version, and (v2) when the session made it."""

    version: int
    sealed_at: int | None  # unix seconds; None for v1, which did not seal its time
    replay: bool = False  # an `r2` seal: a replay of a stored event


_V2 = re.compile(r"(v2|r2)\.([0-9]{1,12})\.([0-9a-f]{32})")


def _mac(key: bytes, endpoint_id: str, event_id: str, body: str, download: str | None, prefix: str = "") -> str:
    """Lengths first, so no two argument lists read the same. `download` (the id of the
    download_media job whose outcome the body follows, WAGW_MEDIA_AUTO_DOWNLOAD) sits behind a
    prefix no seal without it can start with (those start with a digit), so it can be neither
    added, removed nor changed. A v2 `prefix` starts with "v", which no v1 input does."""
    head = f"{len(endpoint_id)}:{endpoint_id}{len(event_id)}:{event_id}"
    if download is not None:
        head = f"d{len(download)}:{download}" + head
    return hmac.new(key, (prefix + head).encode() + body.encode(), hashlib.sha256).hexdigest()[:32]


def seal(
    key: bytes,
    endpoint_id: str,
    event_id: str,
    body: str,
    download: str | None = None,
    *,
    now: float | None = None,
    replay: bool = False,
) -> str:
    """The seal of one delivery job, made now (or at `now`): `v2.<unix time>.<mac>`, or
    `r2.…` for a replay of a stored event."""
    prefix = f"{'r2' if replay else 'v2'}.{int(time.time() if now is None else now)}."
    return prefix + _mac(key, endpoint_id, event_id, body, download, prefix)


def open_seal(
    key: bytes, endpoint_id: str, event_id: str, body: str, given: object, download: str | None = None
) -> Seal | None:
    """The seal `given` if it matches the arguments (any version), else None. Its age is the
    caller's to judge (lifetime.expires_at)."""
    if not isinstance(given, str):
        return None
    v2 = _V2.fullmatch(given)
    if v2 is not None:
        kind, sealed_at, mac = v2.groups()
        prefix = f"{kind}.{sealed_at}."
        expected = _mac(key, endpoint_id, event_id, body, download, prefix)
        return Seal(2, int(sealed_at), kind == "r2") if hmac.compare_digest(expected, mac) else None
    expected = _mac(key, endpoint_id, event_id, body, download)
    return Seal(1, None) if hmac.compare_digest(expected, given) else None


def opened(key: bytes, args: object) -> Seal | None:
    """The seal of a delivery job's arguments, (endpoint_id, event_id, body, seal) or those and a
    download job id, if it matches: the session made this job. None otherwise."""
    if not isinstance(args, list | tuple) or len(args) not in (4, 5):
        return None
    endpoint_id, event_id, body, given = args[:4]
    download = args[4] if len(args) == 5 else None
    if download is not None and not isinstance(download, str):
        return None
    if not all(isinstance(a, str) for a in (endpoint_id, event_id, body)):
        return None
    return open_seal(key, endpoint_id, event_id, body, given, download)


def sealed(key: bytes, args: object) -> bool:
    """True when a delivery job's arguments carry a seal that matches (whatever its age)."""
    return opened(key, args) is not None
