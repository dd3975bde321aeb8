"""Jobs whose worker process died mid-job.

RQ leaves such a job in the started registry until its heartbeat lease runs out (10-15
minutes). A job whose worker pid is known dead on this host, or whose worker's heartbeat key
has expired, is expired at once through RQ's own cleanup, so its Retry applies as usual.
"""

from __future__ import annotations

import socket

from redis import Redis
from rq.registry import StartedJobRegistry
from rq.utils import as_text

from wagw.procs import pid_alive
from wagw.redisconn import SERIALIZER


def _worker_dead(conn: Redis, worker_name: str, hostname: str) -> bool:
    pid, host = conn.hmget(f"rq:worker:{worker_name}", "pid", "hostname")
    if pid is None:
        return True  # heartbeat key expired: RQ itself considers the worker gone
    if as_text(host) != hostname:
        return False  # another host's worker: leave it to that host
    return not pid_alive(int(pid))


def reap_orphaned_jobs(conn: Redis, queue_names: list[str], hostname: str | None = None) -> list[str]:
    """Fail or retry (per the job's Retry) every started job whose worker is dead."""
    hostname = hostname or socket.gethostname()
    reaped: list[str] = []
    for queue_name in queue_names:
        registry = StartedJobRegistry(queue_name, connection=conn, serializer=SERIALIZER)
        orphans = []
        for member in conn.zrange(registry.key, 0, -1):
            member = as_text(member)
            worker_name = as_text(conn.hget(f"rq:execution:{member}", "worker_name") or b"")
            if worker_name and _worker_dead(conn, worker_name, hostname):
                orphans.append(member)
        if orphans:
            # Backdate the lease, then let RQ's abandoned-job handling (retry or fail) run.
            conn.zadd(registry.key, {member: 0 for member in orphans}, xx=True)
            registry.cleanup(timestamp=1)
            reaped.extend(member.split(":", 1)[0] for member in orphans)
    return reaped
