"""Pairing, logging out and reconnecting an account's devices from a process that must not do
it itself: the HTTP API never loads neonize, so it asks, through Redis, the `wagw run` that
runs the account.

- The API pushes a Request onto the account's list (wagw:device-requests:<account>); the
  supervisor running that account takes it within a second (wagw.supervisor.devicerequests)
  and runs `wagw pair` for the role (pair), logs the account's devices out (logout), or
  restarts its session (reconnect). A request nobody took within REQUEST_TTL is dropped.
- A pairing the API asked for is published by its `wagw pair --publish ID` in
  wagw:pairing:<role>: the QR code as WhatsApp gives it (the API draws the PNG) or the
  pairing code, then the outcome. Its TTL is short, and the QR code goes once the pairing ends:
  while it is valid it links a device.

Everything read here was written by whoever can write to Redis: requests and published
states are checked field by field, and what does not fit is dropped, never acted on.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from wagw import keys
from wagw.accounts import NAME, is_role, name_of_role
from wagw.addresses import MAX_ADDRESS, normalize_phone
from wagw.redisconn import HashFields, hash_text

if TYPE_CHECKING:
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis

PAIR, LOGOUT, RECONNECT = "pair", "logout", "reconnect"
ACTIONS = frozenset({PAIR, LOGOUT, RECONNECT})
REQUEST_TTL = 60.0  # seconds a request waits for a supervisor to take it
REQUESTS_KEPT = 100  # per account: a flood of requests cannot grow the list past it
TAKEN_PER_LOOK = 20
PAIRING_TTL = 300  # seconds a published pairing state lives without an update
ID = re.compile(r"[0-9a-f]{32}")

# States of a published pairing; the first two are "under way".
STARTING, QR, CODE, PAIRED, ALREADY_PAIRED, FAILED = "starting", "qr", "code", "paired", "already_paired", "failed"
STATES = frozenset({STARTING, QR, CODE, PAIRED, ALREADY_PAIRED, FAILED})
ENDED = frozenset({PAIRED, ALREADY_PAIRED, FAILED})


@dataclass(frozen=True)
class Request:
    id: str
    action: str
    account: str
    role: str | None = None  # pair: the device role to link
    phone: str | None = None  # pair: a pairing code for this number instead of a QR code
    at: float = 0.0  # unix time it was made

    @classmethod
    def new(cls, action: str, account: str, role: str | None = None, phone: str | None = None) -> Request:
        return cls(secrets.token_hex(16), action, account, role, phone, time.time())

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, raw: bytes | str) -> Request | None:
        """The request `raw` holds, or None when it is not one the API would have made."""
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict) or set(data) != {"id", "action", "account", "role", "phone", "at"}:
            return None
        id_, action, account, role, phone, at = (data[k] for k in ("id", "action", "account", "role", "phone", "at"))
        if not (isinstance(id_, str) and ID.fullmatch(id_) and action in ACTIONS):
            return None
        if not (isinstance(account, str) and NAME.fullmatch(account)) or not isinstance(at, int | float):
            return None
        if action == PAIR and not (isinstance(role, str) and is_role(role) and name_of_role(role) == account):
            return None
        if action != PAIR and role is not None:
            return None
        if phone is not None and not (action == PAIR and isinstance(phone, str) and _normalized_phone(phone)):
            return None
        return cls(id_, action, account, role, phone, float(at))

    @property
    def stale(self) -> bool:
        return not 0 <= time.time() - self.at <= REQUEST_TTL


def _normalized_phone(phone: str) -> bool:
    """Whether `phone` is E.164 digits as wagw.addresses.normalize_phone gives them (what the API sends)."""
    try:
        return len(phone) <= MAX_ADDRESS and normalize_phone(phone) == phone
    except ValueError:
        return False


async def submit(aconn: AsyncRedis, request: Request) -> None:
    """Hand `request` to the supervisor that runs its account."""
    key = keys.DEVICE_REQUESTS.format(account=request.account)
    async with aconn.pipeline(transaction=True) as pipe:
        pipe.rpush(key, request.encode())
        pipe.ltrim(key, -REQUESTS_KEPT, -1)
        pipe.expire(key, int(REQUEST_TTL * 2))
        await pipe.execute()


def take(conn: Redis, account: str) -> tuple[list[Request], int]:
    """The account's waiting requests (at most TAKEN_PER_LOOK), and how many entries were
    dropped: not a request, another account's, or older than REQUEST_TTL."""
    key = keys.DEVICE_REQUESTS.format(account=account)
    raw = conn.lpop(key, TAKEN_PER_LOOK) or []
    taken: list[Request] = []
    dropped = 0
    for entry in raw:
        request = Request.decode(entry) if isinstance(entry, bytes | str) else None
        if request is None or request.account != account or request.stale:
            dropped += 1
        else:
            taken.append(request)
    return taken, dropped


# Published pairings -------------------------------------------------------------------------


def publish(conn: Redis, role: str, pairing_id: str, state: str, **fields: str | float | None) -> None:
    """What the pairing `pairing_id` of `role` is at now (written by `wagw pair --publish`).
    An ended pairing keeps no QR code or pairing code."""
    key = keys.PAIRING.format(role=role)
    values: HashFields = {"id": pairing_id, "state": state, "updated": f"{time.time():.3f}"}
    values.update({name: str(value) for name, value in fields.items() if value is not None})
    with conn.pipeline(transaction=True) as pipe:
        if state in ENDED or state == STARTING:
            pipe.delete(key)
        pipe.hset(key, mapping=values)
        pipe.expire(key, PAIRING_TTL)
        pipe.execute()


def parse_pairing(fields: dict[str, str]) -> dict[str, Any] | None:
    """A published pairing as the API shows it, or None when the hash is no pairing."""
    if not ID.fullmatch(fields.get("id", "")) or fields.get("state") not in STATES:
        return None
    try:
        expires = float(fields["expires"]) if "expires" in fields else None
    except ValueError:
        return None
    if expires is not None and not math.isfinite(expires):
        return None
    return {
        "id": fields["id"],
        "state": fields["state"],
        "qr": fields.get("qr") if fields["state"] == QR else None,
        "code": fields.get("code") if fields["state"] == CODE else None,
        "expires": expires,
        "jid": fields.get("jid"),
        "error": fields.get("error"),
    }


async def pairing_of(aconn: AsyncRedis, role: str) -> dict[str, Any] | None:
    return parse_pairing(hash_text(await aconn.hgetall(keys.PAIRING.format(role=role))))
