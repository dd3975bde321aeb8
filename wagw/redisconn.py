"""Redis connections and the one serializer wagw allows."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from redis import Redis
from rq.serializers import JSONSerializer

if TYPE_CHECKING:
    from wagw.config import Settings

# One entry of a Redis stream as wagw's clients (bytes, RESP2) return it: (id, fields).
StreamEntry = tuple[bytes, dict[bytes, bytes]]

# JSON only: a pickle in Redis is code execution for whoever can write to it.
SERIALIZER = JSONSerializer


def as_text(value: object) -> str | None:
    """A Redis reply as text (wagw's clients return bytes); None stays None."""
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def connect(settings: Settings, **kwargs) -> Redis:
    """A client for the configured Redis (or the embedded one's unix socket)."""
    kwargs.setdefault("health_check_interval", 30)
    kwargs.setdefault("socket_connect_timeout", 5)
    return Redis.from_url(settings.effective_redis_url, **kwargs)


def read_stream(conn: Redis, stream: str, after: bytes | str, *, block_ms: int, count: int | None = None) -> list[StreamEntry]:
    """Entries of one stream after id `after`, oldest first; waits up to `block_ms` for one."""
    # RESP2 reply: [[stream, [(id, fields), …]]], or None when the block timed out.
    reply = cast("list[tuple[bytes, list[StreamEntry]]] | None", conn.xread({stream: after}, block=block_ms, count=count))
    return reply[0][1] if reply else []


def newest_entries(conn: Redis, stream: str, count: int) -> list[StreamEntry]:
    """The last `count` entries of a stream, newest first."""
    return cast("list[StreamEntry]", conn.xrevrange(stream, count=count))
