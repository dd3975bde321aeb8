"""`wagw webhooks replay [JOB_ID…|--all]`: requeue failed webhook deliveries, and what
`wagw status` shows about them (`failed_deliveries`).

A replayed delivery gets a fresh retry budget (the whole schedule again) and goes to the back
of the queue. Its attempt counter keeps rising, so the receiver sees from X-Wagw-Attempt that
this is not the first try; the event id and body are unchanged, so a receiver that already
processed the event (it can have, if it answered non-2xx after processing) can drop it. A
delivery whose seal is older than a delivery is kept (wagw/webhooks/lifetime.py) is not
requeued: a webhook worker would refuse it. A
delivery queued by a wagw from before endpoint ids names its endpoint by URL; replayed, it
names the endpoint's id instead, so its URL (and any credentials in it) leaves Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rq.exceptions import InvalidJobOperation
from rq.job import Job
from rq.registry import FailedJobRegistry

from wagw import keys, rqcompat
from wagw.exitcodes import ExitCode
from wagw.redisconn import SERIALIZER, connect
from wagw.webhooks import lifetime
from wagw.webhooks.endpoints import configured_endpoints, shown_reference
from wagw.webhooks.enqueue import DELIVERABLE, rq_retry
from wagw.webhooks.signing import opened

if TYPE_CHECKING:
    import argparse

    from redis import Redis

    from wagw.config import Settings


def _registry(conn: Redis) -> FailedJobRegistry:
    return FailedJobRegistry(keys.WEBHOOKS_QUEUE, connection=conn, serializer=SERIALIZER)


def _describe(job: Job, settings: Settings) -> dict:
    try:
        reference, event_id = job.args[:2]
    except Exception:  # not a deliver job, or unreadable
        reference, event_id = None, "?"
    return {
        "job_id": job.id,
        "event_id": event_id,
        "endpoint": shown_reference(settings, reference),
        "attempts": job.meta.get("attempts"),
        "last_status": job.meta.get("last_status"),
        "last_error": job.meta.get("last_error"),
        "failed_at": job.ended_at.isoformat() if job.ended_at else None,
    }


def failed_deliveries(conn: Redis, settings: Settings, limit: int = 10) -> dict:
    """{"count": N, "recent": [newest first: job_id, event_id, endpoint, attempts, last_status,
    last_error, failed_at]} for `wagw status`. The endpoint is its URL without query or
    credentials, from `settings`; the job's own reference when it names no configured one."""
    registry = _registry(conn)
    count = registry.get_job_count(cleanup=False)
    # The failed registry is scored by expiry (failure time + a fixed TTL): highest = newest.
    ids = registry.get_job_ids(0, max(limit, 0) - 1, desc=True, cleanup=False) if limit else []
    jobs = Job.fetch_many(ids, connection=conn, serializer=SERIALIZER)
    return {"count": count, "recent": [_describe(job, settings) for job in jobs if job is not None]}


def replay(conn: Redis, settings: Settings, job_ids: list[str] | None) -> tuple[list[str], list[str], list[str]]:
    """Requeue the given failed deliveries (None: all of them). Returns (requeued, not found,
    too old to send)."""

    registry = _registry(conn)
    timed_since = lifetime.timed_seals_since(settings.data_dir)
    if job_ids is None:
        job_ids = registry.get_job_ids(cleanup=False)
    retry = rq_retry(settings)
    endpoints = configured_endpoints(settings)
    requeued: list[str] = []
    missing: list[str] = []
    expired: list[str] = []
    for job_id in job_ids:
        if job_id not in registry:
            missing.append(job_id)
            continue
        job = Job.fetch(job_id, connection=conn, serializer=SERIALIZER) if Job.exists(job_id, conn) else None
        if job is None:
            registry.remove(job_id)  # its data expired: nothing left to send
            missing.append(job_id)
            continue
        endpoint = endpoints.get(job.args[0]) if job.args and isinstance(job.args[0], str) else None
        seal = None
        if rqcompat.refusal(job, DELIVERABLE) is None and endpoint is not None:
            seal = opened(endpoint.seal_key, job.args)
        if seal is None:
            # Not a delivery the session made (forged, or from a wagw without seals): left where it is.
            missing.append(job_id)
            continue
        if lifetime.refusal(seal, lifetime.expires_at(settings, seal, timed_since)) is not None:
            expired.append(job_id)  # a worker would refuse it: left where it is, until it expires
            continue
        job.retries_left = retry.max
        job.retry_intervals = retry.intervals
        job.meta["replays"] = int(job.meta.get("replays", 0)) + 1
        try:
            registry.requeue(job)  # saves the job (meta included) and enqueues it
        except InvalidJobOperation:  # replayed by someone else meanwhile
            missing.append(job_id)
            continue
        requeued.append(job_id)
    return requeued, missing, expired


def main(settings: Settings, args: argparse.Namespace) -> int:
    ids = list(getattr(args, "job_ids", None) or [])
    replay_all = bool(getattr(args, "all", False))
    if replay_all == bool(ids):
        print("wagw webhooks replay: give JOB_IDs or --all (not both)")
        return ExitCode.USAGE
    conn = connect(settings, socket_timeout=10)
    requeued, missing, expired = replay(conn, settings, None if replay_all else ids)
    for job_id in requeued:
        print(f"requeued {job_id}")
    for job_id in missing:
        print(f"not a failed delivery: {job_id}")
    for job_id in expired:
        print(f"too old to send again (sealed longer ago than a delivery is kept): {job_id}")
    print(f"{len(requeued)} deliver{'y' if len(requeued) == 1 else 'ies'} requeued")
    return ExitCode.FAILURE if missing or expired else ExitCode.OK  # FAILURE: some JOB_IDs were not replayable
