"""Keeps Redis's reserve for inbound events (wagw.headroom): when what apps made has eaten
into it, removes that data, oldest first, until the reserve is whole again (and a little more).

What it removes, in this order: failed wa jobs (the failed registries of `wa` and each
`wa.<account>`), then finished wa jobs (their results). Never inbound events, dedup markers,
deliveries (queued or failed: they are events too), or queued jobs. Every removal is
logged at warning with counts and bytes, never content. It runs in the scheduler, once a
second, with commands Redis allows even when full (reads, ZREM, DEL).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loguru import logger
from rq.registry import FailedJobRegistry, FinishedJobRegistry

from wagw import headroom, metrics, refusals, rqcompat
from wagw.redisconn import SERIALIZER

if TYPE_CHECKING:
    from collections.abc import Sequence

    from redis import Redis
    from rq.registry import BaseRegistry

    from wagw.config import Settings

# Jobs removed per step at most; the headroom is measured again after each.
BATCH = 100
# Once below the reserve, room is made for the reserve and a tenth more: not one job a second.
SLACK = 0.1
# While nothing is left to remove and the reserve is still short, this often a warning.
STUCK_WARN_EVERY = 60.0
SHED = (("failed", FailedJobRegistry), ("finished", FinishedJobRegistry))


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


class Shedder:
    def __init__(self, conn: Redis, settings: Settings) -> None:
        self.conn = conn
        self.settings = settings
        self._stuck = refusals.Every(STUCK_WARN_EVERY)

    def run(self, wa_queues: list[str]) -> dict[str, tuple[int, int]]:
        """One pass: {"failed"|"finished": (jobs, bytes)} removed (empty when the reserve is whole)."""
        room = headroom.measure(self.conn, self.settings)
        if room is None or not room.below_reserve:
            self._stuck.reset()
            return {}
        before = room
        removed: dict[str, tuple[int, int]] = {}
        for kind, registry_class in SHED:
            registries = [registry_class(name, connection=self.conn, serializer=SERIALIZER) for name in wa_queues]
            jobs = freed = 0
            while room is not None and room.short_of(SLACK):
                batch = self._oldest(registries, room.short_of(SLACK))
                if not batch:
                    break
                for index, (job_ids, size) in batch.items():
                    rqcompat.shed(registries[index], job_ids)
                    jobs += len(job_ids)
                    freed += size
                room = headroom.measure(self.conn, self.settings)
            if jobs:
                removed[kind] = (jobs, freed)
                metrics.incr(self.conn, "redis_shed_jobs", jobs, registry=kind)
        self._report(before, room, removed)
        return removed

    def _oldest(self, registries: Sequence[BaseRegistry], needed: int) -> dict[int, tuple[list[str], int]]:
        """The oldest entries across these registries whose records add up to `needed` bytes
        (at most BATCH): {registry index: (job ids, their bytes)}."""
        entries = sorted(
            (score, index, job_id)
            for index, registry in enumerate(registries)
            for job_id, score in rqcompat.ended_entries(registry, BATCH)
        )[:BATCH]
        sizes = rqcompat.record_bytes(self.conn, [job_id for _, _, job_id in entries])
        batch: dict[int, tuple[list[str], int]] = {}
        total = 0
        for (_, index, job_id), size in zip(entries, sizes, strict=True):
            ids, bytes_ = batch.get(index, ([], 0))
            batch[index] = ([*ids, job_id], bytes_ + size)
            total += size
            if total >= needed:
                break
        return batch

    def _report(self, before: headroom.Headroom, after: headroom.Headroom | None, removed: dict) -> None:
        if removed:
            what = " and ".join(f"{jobs} {kind} wa jobs ({_mib(size)})" for kind, (jobs, size) in removed.items())
            logger.warning(
                "Redis headroom {} was below the reserve {}: removed {}, oldest first; headroom now {}",
                _mib(before.headroom_bytes),
                _mib(before.reserve_bytes),
                what,
                _mib(after.headroom_bytes) if after else "unknown",
            )
        if after is not None and after.below_reserve and self._stuck.due():
            logger.warning(
                "Redis headroom {} is below the reserve {} and no failed or finished wa job is left to remove: "
                "queued jobs, deliveries or other data hold the rest (`wagw status`; docs/operations.md)",
                _mib(after.headroom_bytes),
                _mib(after.reserve_bytes),
            )
