"""Per-account API bearer tokens (`wagw accounts token NAME`).

A token is `<account>.<43 random characters>`; Redis keeps only its SHA-256
(wagw:api-token:<account>), so reading Redis gives nobody a token. A new token replaces the
account's previous one. A token logs in for its own account only (wagw.api.auth).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from wagw import keys
from wagw.accounts import NAME

if TYPE_CHECKING:
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis

SECRET_BYTES = 32


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(conn: Redis, account: str) -> str:
    """A new token for `account`, replacing its previous one; shown once, stored as a hash."""
    token = f"{account}.{secrets.token_urlsafe(SECRET_BYTES)}"
    conn.set(keys.API_TOKEN.format(account=account), digest(token))
    return token


def any_issued(conn: Redis) -> bool:
    """Whether some account has a token (so a public address has a way to log in)."""
    return next(iter(conn.scan_iter(keys.API_TOKEN.format(account="*"), count=100)), None) is not None


async def account_of(aconn: AsyncRedis, token: str) -> str | None:
    """The account `token` logs in for, or None; compared in constant time."""
    account, sep, secret = token.partition(".")
    if not sep or not secret or len(token) > 256 or not NAME.fullmatch(account):
        return None
    stored = await aconn.get(keys.API_TOKEN.format(account=account))
    if stored is None:
        return None
    stored_text = stored.decode() if isinstance(stored, bytes) else str(stored)
    return account if hmac.compare_digest(stored_text.encode(), digest(token).encode()) else None
