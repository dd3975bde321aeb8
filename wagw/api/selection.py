"""Which account a request is for: the `X-Device-Id` header or the `device_id` query (an
account name, or the JID of one of its linked devices as `wagw pair` recorded it in
wagw:devices), else the only account. The error names and status codes are
go-whatsapp-web-multidevice's: DEVICE_ID_REQUIRED (400), DEVICE_NOT_FOUND (404)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from wagw import accounts, keys
from wagw.api.envelope import ApiError

if TYPE_CHECKING:
    from redis.asyncio import Redis as AsyncRedis

    from wagw.accounts import Account, Roster
    from wagw.config import Settings

DEVICE_HEADER = "X-Device-Id"
DEVICE_QUERY = "device_id"
RECHECK = 1.0  # seconds between two looks at the accounts file


class LiveRoster:
    """The roster, loaded again when `wagw accounts add|remove` changed its file (looked at
    no more than once a second), so an added account is served without a restart."""

    def __init__(self, settings: Settings, roster: Roster | None = None) -> None:
        self.settings = settings
        self.path = accounts.overlay_path(settings)
        self._stamp = self._read_stamp()
        self._roster = roster or accounts.Roster.load(settings)
        self._checked = time.monotonic()

    def _read_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def get(self) -> Roster:
        if time.monotonic() - self._checked >= RECHECK:
            self.reload()
        return self._roster

    def reload(self) -> Roster:
        """Look at the file now: after this process changed it, its next answer must show it."""
        self._checked = time.monotonic()
        stamp = self._read_stamp()
        if stamp != self._stamp:
            try:
                self._roster = accounts.Roster.load(self.settings)
                self._stamp = stamp
            except ValueError:
                pass  # a hand edit broke the file: keep serving the accounts known so far
        return self._roster


def _user_of(jid: str) -> tuple[str, str]:
    """("15551234567", "s.whatsapp.net") out of "15551234567:12@s.whatsapp.net"."""
    user, _, server = jid.strip().lower().partition("@")
    return user.partition(":")[0], server


async def device_owner(conn: AsyncRedis, roster: Roster, device_id: str) -> Account | None:
    """The account whose linked device has this JID (any of its roles), or None."""
    wanted = _user_of(device_id)
    paired = await conn.hgetall(keys.DEVICE_JIDS)
    for raw_role, raw_jid in paired.items():
        role = raw_role.decode() if isinstance(raw_role, bytes) else raw_role
        jid = raw_jid.decode() if isinstance(raw_jid, bytes) else raw_jid
        if _user_of(jid) == wanted:
            owner = roster.of_role(role)
            if owner is not None:
                return owner
    return None


async def select_account(conn: AsyncRedis, roster: Roster, device_id: str | None) -> Account:
    """The account `device_id` names (None or empty: the only one), or ApiError."""
    configured = roster.configured
    given = (device_id or "").strip()
    if not given:
        if len(configured) == 1:
            return configured[0]
        raise ApiError(
            400,
            "DEVICE_ID_REQUIRED",
            f"device_id is required via {DEVICE_HEADER} header or {DEVICE_QUERY} query "
            f"(accounts: {', '.join(a.name for a in configured)})",
        )
    for account in configured:
        if account.name == given:
            return account
    if "@" in given:
        owner = await device_owner(conn, roster, given)
        if owner is not None:
            return owner
    raise ApiError(
        404,
        "DEVICE_NOT_FOUND",
        f"device not found: {DEVICE_HEADER} names no account and no linked device's JID (see `wagw accounts list`)",
        {"device_id": given[:128]},
    )
