"""The room Redis has left for inbound events, and the part of it apps may not take.

Redis never evicts (noeviction): past its ceiling it refuses writes, and the session then
holds inbound events until there is room (docs/session.md). A share of the ceiling,
WAGW_REDIS_RESERVE_PERCENT, is the reserve: what apps made (failed and finished wa jobs)
may not eat into it, and the scheduler sheds that data, oldest first, when they do
(wagw.scheduler.shedder). `wagw status`, the metrics and `wagw doctor` show the headroom
in bytes and as an estimated number of inbound events.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from redis.exceptions import ResponseError

from wagw import accounts, keys
from wagw.redisconn import memory

if TYPE_CHECKING:
    from collections.abc import Mapping

    from redis import Redis

    from wagw.config import Settings

# What an inbound event costs besides its log entry and its deliveries' copies of the body:
# the dedup marker, the deliveries' job fields and queue entries, the metrics sample.
EVENT_OVERHEAD = 1024
# The estimate while the event log is empty: a text message with two endpoints.
DEFAULT_EVENT_BYTES = 4096


@dataclass(frozen=True)
class Headroom:
    used_bytes: int
    max_bytes: int  # the ceiling, maxmemory
    reserve_bytes: int
    event_bytes: int  # an inbound event's estimated cost: its log entry and deliveries

    @property
    def headroom_bytes(self) -> int:
        return max(0, self.max_bytes - self.used_bytes)

    @property
    def headroom_events(self) -> int:
        return self.headroom_bytes // max(1, self.event_bytes)

    @property
    def below_reserve(self) -> bool:
        """Less room than the reserve: app-made data has eaten into it."""
        return self.headroom_bytes < self.reserve_bytes

    @property
    def over_by(self) -> int:
        """Bytes to free for the reserve to be whole again."""
        return max(0, self.reserve_bytes - self.headroom_bytes)

    def short_of(self, slack: float) -> int:
        """Bytes to free for the headroom to be the reserve plus `slack` of it."""
        return max(0, int(self.reserve_bytes * (1 + slack)) - self.headroom_bytes)

    def as_dict(self) -> dict[str, int | bool]:
        return {
            **asdict(self),
            "headroom_bytes": self.headroom_bytes,
            "headroom_events": self.headroom_events,
            "below_reserve": self.below_reserve,
        }


def reserve_bytes(settings: Settings, ceiling: int) -> int:
    return ceiling * settings.redis_reserve_percent // 100


def event_bytes(conn: Redis, settings: Settings) -> int:
    """An inbound event's estimated cost in Redis: the average entry of the event log, once in
    the log and once per delivery (each carries the body), plus the rest (EVENT_OVERHEAD)."""
    try:
        entries = int(conn.xlen(keys.EVENTS_STREAM))
        stream = int(conn.memory_usage(keys.EVENTS_STREAM) or 0) if entries else 0
    except ResponseError:  # MEMORY not allowed for this user, or not a stream
        entries = stream = 0
    entry = stream // entries if entries else 0
    if not entry:
        return DEFAULT_EVENT_BYTES
    configured = accounts.configured(settings)
    deliveries = sum(len(settings.webhook_urls_of(a.name)) for a in configured) / max(1, len(configured))
    return int(entry * (1 + deliveries)) + EVENT_OVERHEAD


def measure(conn: Redis, settings: Settings, mem: Mapping[str, float | int | bool] | None = None) -> Headroom | None:
    """Redis's headroom now (from `mem`, redisconn.memory(), when the caller has it); None
    without a ceiling, or when this Redis does not answer INFO."""
    mem = memory(conn) if mem is None else mem
    if mem is None or not mem["max_bytes"]:
        return None
    ceiling = int(mem["max_bytes"])
    return Headroom(
        used_bytes=int(mem["used_bytes"]),
        max_bytes=ceiling,
        reserve_bytes=reserve_bytes(settings, ceiling),
        event_bytes=event_bytes(conn, settings),
    )
