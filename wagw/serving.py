"""Who serves what on one Redis: the running daemons (each publishes its status, with the
accounts it runs, under a key of its own, kept alive by a TTL heartbeat) and the wa queues
holding jobs that no live worker takes.

Read by `wagw.client` (to refuse an account nobody serves), `wagw status` and `wagw doctor`.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from rq import Queue, Worker

from wagw import keys
from wagw.redisconn import SERIALIZER

if TYPE_CHECKING:
    from redis import Redis

SCAN_COUNT = 1000  # keys per SCAN step: the status keys hide among every job's keys
SERVED_FRESH = 10.0  # seconds the client trusts the accounts it last found served


def daemons(conn: Redis) -> list[dict]:
    """The live status of every `wagw run` on this Redis (one, or one per `--accounts` set)."""
    found = [conn.get(keys.SUPERVISOR_STATUS)]
    pattern = keys.SUPERVISOR_STATUS_OF.format(accounts="*")
    found += [conn.get(key) for key in sorted(conn.scan_iter(match=pattern, count=SCAN_COUNT))]
    return [json.loads(raw) for raw in found if raw]


def served_accounts(conn: Redis) -> set[str]:
    return {name for daemon in daemons(conn) for name in daemon.get("accounts") or []}


_served: dict[int, tuple[float, set[str]]] = {}  # id(connection) -> (when read, accounts)


def refuse_unserved(conn: Redis, account: str) -> None:
    """Raise ValueError naming `account` when daemons run on this Redis and none serves it.

    With no daemon running at all, jobs wait for the next start as on any queue. A served
    account is remembered for a few seconds, so enqueueing costs no SCAN each time.
    """
    read_at, served = _served.get(id(conn), (0.0, set()))
    if account in served and time.monotonic() - read_at < SERVED_FRESH:
        return
    running = daemons(conn)
    served = {name for daemon in running for name in daemon.get("accounts") or []}
    _served[id(conn)] = (time.monotonic(), served)
    if running and account not in served:
        raise ValueError(
            f"no running wagw serves account {account!r} (its queue {keys.WA_QUEUE}.{account} would wait forever); "
            f"served: {', '.join(sorted(served)) or 'none'} — see `wagw accounts list` and `wagw status`"
        )


def live_listeners(conn: Redis, queue: str) -> list[str]:
    """Names of the live rq workers listening to `queue` (a dead one's record has expired)."""
    listening = Worker.all(queue=Queue(queue, connection=conn, serializer=SERIALIZER), serializer=SERIALIZER)
    return sorted(worker.name for worker in listening)


def unserved_queues(conn: Redis) -> list[dict]:
    """The wa queues with jobs waiting that no live worker listens to: `wa.<name>` of an account
    no daemon runs, or of one whose wa-workers are all down."""
    found = []
    for queue in sorted(Queue.all(connection=conn, serializer=SERIALIZER), key=lambda q: q.name):
        if queue.name != keys.WA_QUEUE and not queue.name.startswith(f"{keys.WA_QUEUE}."):
            continue
        if queue.count and not live_listeners(conn, queue.name):
            found.append({"queue": queue.name, "waiting": queue.count})
    return found


def standalone(conn: Redis) -> list[dict]:
    """The live rq workers (wa-workers, webhook workers), for when no `wagw run` supervises
    them: under supervisord (supervisor.conf) or started by hand, each runs on its own."""
    found = Worker.all(connection=conn, serializer=SERIALIZER)
    return sorted(
        ({"name": w.name, "pid": w.pid, "host": w.hostname, "queues": w.queue_names()} for w in found),
        key=lambda entry: entry["name"],
    )
