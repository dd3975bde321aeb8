"""Redis connections and the one serializer wagw allows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis import Redis
from rq.serializers import JSONSerializer

if TYPE_CHECKING:
    from wagw.config import Settings

# JSON only: a pickle in Redis is code execution for whoever can write to it.
SERIALIZER = JSONSerializer


def connect(settings: Settings, **kwargs) -> Redis:
    """A client for the configured Redis (or the embedded one's unix socket)."""
    kwargs.setdefault("health_check_interval", 30)
    kwargs.setdefault("socket_connect_timeout", 5)
    return Redis.from_url(settings.effective_redis_url, **kwargs)
