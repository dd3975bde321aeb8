"""Device status for `wagw status`: a hash per device role, refreshed as a heartbeat.

Fields: paired ("1"/"0"), connected ("1"/"0"), jid, state, updated (unix time), pid. A live
process refreshes it every HEARTBEAT seconds with a TTL of TTL seconds, so a dead process
simply disappears. A state that needs the operator (unpaired, logged out, replaced) is
written without a TTL: it stays visible after the process has stopped for good.
"""

from __future__ import annotations

import os
import time

from redis import Redis

from wagw import keys

HEARTBEAT = 2.0
TTL = 10
OPERATOR_STATES = frozenset({"unpaired", "logged_out", "stream_replaced"})


def publish(conn: Redis, role: str, *, state: str, paired: bool, connected: bool, jid: str | None,
            extra: dict[str, str | int | float] | None = None) -> None:
    key = keys.DEVICE_STATUS.format(role=role)
    fields = {
        "paired": "1" if paired else "0",
        "connected": "1" if connected else "0",
        "jid": jid or "",
        "state": state,
        "updated": f"{time.time():.3f}",
        "pid": str(os.getpid()),
        **{k: str(v) for k, v in (extra or {}).items()},
    }
    with conn.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping=fields)
        if state in OPERATOR_STATES:
            pipe.persist(key)
        else:
            pipe.expire(key, TTL)
        pipe.execute()


def clear(conn: Redis, role: str) -> None:
    conn.delete(keys.DEVICE_STATUS.format(role=role))
