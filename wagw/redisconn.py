"""Redis connections and the one serializer wagw allows."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from redis import Redis
from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT

if TYPE_CHECKING:
    from rq.serializers import JSONSerializer

    from wagw.config import Settings

    SERIALIZER: type[JSONSerializer]

# What HSET takes as its mapping (redis-py's own types; a dict[str, str] is not one of them).
HashFields = dict[FieldT, EncodableT]

# One entry of a Redis stream as wagw's clients (bytes, RESP2) return it: (id, fields).
StreamEntry = tuple[bytes, dict[bytes, bytes]]


def __getattr__(name: str) -> object:
    # JSON only: a pickle in Redis is code execution for whoever can write to it. Looked up on
    # first use: the native host talks to Redis without rq, and need not load it (~1.3 MB).
    if name == "SERIALIZER":
        from rq.serializers import JSONSerializer

        return JSONSerializer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def hash_text(raw: object) -> dict[str, str]:
    """An HGETALL reply as text (wagw's clients return bytes)."""
    assert isinstance(raw, dict)
    return {str(as_text(key)): str(as_text(value)) for key, value in raw.items()}


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


def read_stream(
    conn: Redis, stream: str, after: bytes | str, *, block_ms: int, count: int | None = None
) -> list[StreamEntry]:
    """Entries of one stream after id `after`, oldest first; waits up to `block_ms` for one."""
    # RESP2 reply: [[stream, [(id, fields), …]]], or None when the block timed out.
    reply = cast(
        "list[tuple[bytes, list[StreamEntry]]] | None", conn.xread({stream: after}, block=block_ms, count=count)
    )
    return reply[0][1] if reply else []


def newest_entries(conn: Redis, stream: str, count: int) -> list[StreamEntry]:
    """The last `count` entries of a stream, newest first."""
    return cast("list[StreamEntry]", conn.xrevrange(stream, count=count))


# `wagw status` and the metrics warn from this share of Redis's memory ceiling: past the
# ceiling Redis refuses writes (noeviction), so the daemon stops taking events and jobs.
MEMORY_WARN_RATIO = 0.8


def memory(conn: Redis) -> dict[str, float | int | bool] | None:
    """Redis memory: used and maximum bytes (0: no ceiling), their ratio, and whether to warn.
    None when this Redis does not answer INFO (some managed services restrict it)."""
    try:
        info = conn.info("memory")
    except ResponseError:
        return None
    used, ceiling = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
    ratio = used / ceiling if ceiling else 0.0
    return {
        "used_bytes": used,
        "max_bytes": ceiling,
        "ratio": round(ratio, 4),
        "warn": ratio >= MEMORY_WARN_RATIO,
        "full": bool(ceiling) and used >= ceiling,  # writes that may grow memory are refused
    }
