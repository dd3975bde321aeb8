"""Device status for `wagw status`: a hash per device role, refreshed as a heartbeat.

Fields every role writes: paired ("1"/"0"), connected ("1"/"0"), jid, state (a DeviceState),
updated (unix time). The session adds pid, events, duplicates and last_event; a wa-worker slot
adds worker_pid, host_pid and last_exit. A live process refreshes it every HEARTBEAT seconds
with a TTL of TTL seconds, so a dead process simply disappears. A state that needs the
operator (unpaired, logged out, replaced) is written without a TTL: it stays visible after
the process has stopped for good, until `wagw pair` clears it.

Both writers, the session and the wa-workers (for their native hosts), go through publish().
While Redis refuses writes, a live process keeps its last heartbeat alive (keep_alive());
stalled() tells readers.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import TYPE_CHECKING

from wagw import keys
from wagw.redisconn import HashFields, as_text, hash_text
from wagw.whatsapp.backend import BackendError, ConnectFailure, LoggedOut, NotPaired, StreamReplaced, TemporaryBan

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from redis import Redis

HEARTBEAT = 2.0
TTL = 10


class DeviceState(StrEnum):
    """Every state a device role can report. Public (`wagw status --json`): docs/operations.md."""

    STARTING = "starting"  # its process is up, the backend is loading
    CONNECTING = "connecting"
    CONNECTED = "connected"
    UNPAIRED = "unpaired"  # no keys: `wagw pair`
    LOGGED_OUT = "logged_out"  # the phone removed the device: `wagw pair --force`
    STREAM_REPLACED = "stream_replaced"  # another client connected with the same keys
    TEMPORARY_BAN = "temporary_ban"
    # Not connected, and wagw tries again by itself: network trouble, a native host between
    # respawns, or (read side) no heartbeat at all.
    OFFLINE = "offline"
    FAILED = "failed"  # an unexpected error: the log has it
    STOPPING = "stopping"
    STOPPED = "stopped"


OPERATOR_STATES = frozenset({DeviceState.UNPAIRED, DeviceState.LOGGED_OUT, DeviceState.STREAM_REPLACED})

_ERROR_STATES: dict[type[BackendError], DeviceState] = {
    NotPaired: DeviceState.UNPAIRED,
    LoggedOut: DeviceState.LOGGED_OUT,
    StreamReplaced: DeviceState.STREAM_REPLACED,
    TemporaryBan: DeviceState.TEMPORARY_BAN,
    ConnectFailure: DeviceState.OFFLINE,
}


_EXIT_STATES: dict[int, DeviceState] = {int(kind.exit_code): state for kind, state in _ERROR_STATES.items()}


def state_after(error: BaseException) -> DeviceState:
    """The state a backend error leaves its device in (the same for the session and a host)."""
    return next((state for kind, state in _ERROR_STATES.items() if isinstance(error, kind)), DeviceState.FAILED)


def state_after_exit(code: int | None) -> DeviceState | None:
    """The state a process that exited with `code` left its device in: the state of the backend
    error whose exit code it is (81: logged out), or None for any other exit."""
    return _EXIT_STATES.get(code) if code is not None else None


def exit_leaving(state: str) -> int | None:
    """The exit code of the backend error that leaves a device in `state`, or None."""
    return next((code for code, left in _EXIT_STATES.items() if left == state), None)


def publish(
    conn: Redis,
    role: str,
    *,
    state: DeviceState,
    paired: bool | None,
    connected: bool,
    jid: str | None,
    extra: Mapping[str, str | int | float] | None = None,
) -> None:
    """Write one heartbeat of `role`; `paired` None (not known yet) is written as "0"."""
    key = keys.DEVICE_STATUS.format(role=role)
    fields: HashFields = {
        "paired": "1" if paired else "0",
        "connected": "1" if connected else "0",
        "jid": jid or "",
        "state": state.value,
        "updated": f"{time.time():.3f}",
        **{k: str(v) for k, v in (extra or {}).items()},
    }
    with conn.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping=fields)
        if state in OPERATOR_STATES:
            pipe.persist(key)
        else:
            pipe.expire(key, TTL)
        pipe.execute()


def keep_alive(conn: Redis, role: str) -> None:
    """Keep `role`'s last heartbeat from expiring while its writes are refused (Redis full or
    read-only: EXPIRE is still allowed there). Its `updated` then grows older than TTL, which
    no expiring heartbeat can: readers take that as "alive, cannot write" (stalled())."""
    conn.expire(keys.DEVICE_STATUS.format(role=role), TTL)


def stalled(fields: Mapping[str, str], now: float | None = None) -> bool:
    """A heartbeat kept alive without being refreshed: its process runs, but Redis refuses
    its writes (a session is then holding an event: docs/session.md)."""
    try:
        updated = float(fields.get("updated", ""))
    except ValueError:
        return False
    return (time.time() if now is None else now) - updated > TTL


def read(conn: Redis, role: str) -> dict[str, str]:
    """The last heartbeat of `role`; empty when its process stopped reporting."""
    return hash_text(conn.hgetall(keys.DEVICE_STATUS.format(role=role)))


def clear(conn: Redis, role: str) -> None:
    conn.delete(keys.DEVICE_STATUS.format(role=role))


# Pairing ------------------------------------------------------------------------------------
# `wagw pair` marks the time it linked a role; a running daemon compares that with when the
# process holding the role last started, and gives a process that gave up for want of keys
# (wagw.exitcodes.PAIRING_FIXES) a fresh start, without a restart of anything else.


def record_pairing(conn: Redis, role: str, jid: str, *, at: float | None = None) -> None:
    """`role` was just linked as `jid`: record the JID and the time, and drop a stale
    unpaired/logged-out heartbeat until the device reports again."""
    with conn.pipeline(transaction=True) as pipe:
        pipe.hset(keys.DEVICE_JIDS, role, jid)
        pipe.hset(keys.DEVICE_PAIRED_AT, role, f"{time.time() if at is None else at:.6f}")
        pipe.delete(keys.DEVICE_STATUS.format(role=role))
        pipe.execute()


def paired_at(conn: Redis, roles: Sequence[str]) -> dict[str, float]:
    """When each of `roles` was last linked by `wagw pair` (unix time); never: absent."""
    if not roles:
        return {}
    values = conn.hmget(keys.DEVICE_PAIRED_AT, list(roles))
    found: dict[str, float] = {}
    for role, raw in zip(roles, values, strict=True):
        try:
            found[role] = float(as_text(raw) or "")
        except ValueError:
            continue
    return found


def paired_since(conn: Redis, role: str, since: float) -> bool:
    """Was `role` linked after `since` (unix time)? Then a process started before it has not
    seen the new keys."""
    return paired_at(conn, [role]).get(role, float("-inf")) > since
