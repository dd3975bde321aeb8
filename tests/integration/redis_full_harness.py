"""A real embedded redis-server with the smallest ceiling wagw allows, filled to it as an app
with Redis access could: tests of what wagw does when Redis refuses writes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from redis import Redis
from redis.exceptions import OutOfMemoryError

from tests.conftest import short_tempdir
from wagw.supervisor.embedded_redis import start_standalone

SMALL_MB = 64  # WAGW_REDIS_MAX_MEMORY_MB's minimum
JUNK = "junk:"


@contextmanager
def small_redis() -> Iterator[tuple[str, Redis]]:
    """(url, client) of a fresh embedded redis-server with a 64 MB ceiling; stopped after."""
    import shutil

    data_dir = short_tempdir("wagw-full-")
    proc, server = start_standalone(data_dir, max_memory_mb=SMALL_MB)
    conn = Redis.from_url(server.url, socket_timeout=10)
    try:
        yield server.url, conn
    finally:
        conn.close()
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


def fill(conn: Redis, prefix: str = JUNK, pin: bool = True) -> int:
    """Write incompressible junk until Redis refuses even a tiny write; the number of keys.

    Redis's used memory breathes as client buffers come and go (a 1 MiB write's query buffer
    is freed a moment later), so a full Redis takes a small write now and then; `pin` lowers
    the ceiling 8 MiB below what is used, so that it refuses every write until free()."""
    count = 0
    for size in (1 << 20, 1 << 14, 1 << 10, 64):
        try:
            while True:
                conn.set(f"{prefix}{count}", os.urandom(size))
                count += 1
        except OutOfMemoryError:
            pass
    if pin:
        used = int(conn.info("memory")["used_memory"])
        conn.config_set("maxmemory", used - (8 << 20))
    return count


def is_full(conn: Redis) -> bool:
    try:
        conn.set("wagw-test:probe", "x")
    except OutOfMemoryError:
        return True
    conn.delete("wagw-test:probe")
    return False


def free(conn: Redis, prefix: str = JUNK) -> int:
    """Delete the junk and put the ceiling back; how many keys."""
    conn.config_set("maxmemory", f"{SMALL_MB}mb")
    found = list(conn.scan_iter(match=prefix + "*", count=1000))
    for start in range(0, len(found), 500):
        conn.delete(*found[start : start + 500])
    return len(found)


def stays(predicate: Callable[[], object], seconds: float, what: str, interval: float = 0.05) -> None:
    """Assert predicate() holds at every look for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert predicate(), f"{what} stopped holding"
        time.sleep(interval)
