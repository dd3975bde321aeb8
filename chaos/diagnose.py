"""Where an undelivered event's delivery job is, when a run does not drain in time.

Reads RQ's own structures for queue "webhooks" (the queue, the intermediate list between
queue and worker, the started / scheduled / failed registries), finds the deliver jobs whose
body carries one of the given WhatsApp message ids, and says where each one sits, with the
worker that holds it and whether that worker is still registered.
"""

from __future__ import annotations

import json
import time

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

MAX_REPORTED = 10


def _ids(conn: Redis, queue: Queue) -> dict[str, str]:
    """job id -> where it is."""
    where: dict[str, str] = {}
    for job_id in conn.lrange(queue.key, 0, -1):
        where[job_id.decode()] = "queued"
    for job_id in conn.lrange(queue.intermediate_queue_key, 0, -1):
        where[job_id.decode()] = "intermediate (taken from the queue, not started)"
    for member in conn.zrange(StartedJobRegistry(queue=queue).key, 0, -1):
        where[member.decode().split(":", 1)[0]] = "started:" + member.decode()
    now = time.time()
    for job_id, due in conn.zrange(ScheduledJobRegistry(queue=queue).key, 0, -1, withscores=True):
        # How far off: a delivery parked minutes out and one the scheduler is not moving differ.
        where[job_id.decode()] = f"scheduled, due in {due - now:.1f} s"
    for job_id in FailedJobRegistry(queue=queue).get_job_ids():
        where[job_id] = "failed"
    return where


def undelivered_jobs(conn: Redis, payload_ids: set[str], endpoint_ids: list[str]) -> list[dict]:
    queue = Queue("webhooks", connection=conn, serializer=JSONSerializer)
    where = _ids(conn, queue)
    found: list[dict] = []
    ids = list(where)
    for start in range(0, len(ids), 500):
        for job in Job.fetch_many(ids[start : start + 500], connection=conn, serializer=JSONSerializer):
            if job is None or len(found) >= MAX_REPORTED:
                continue
            try:
                endpoint, event_id, body = job.args[:3]
                payload_id = json.loads(body).get("payload", {}).get("id")
            except (ValueError, TypeError, AttributeError):
                continue
            if payload_id not in payload_ids or endpoint not in endpoint_ids:
                continue
            place = where[job.id]
            entry = {
                "payload_id": payload_id,
                "event_id": event_id,
                "endpoint": endpoint,
                "job_id": job.id,
                "where": place,
                "status": str(job.get_status(refresh=False)),
                "retries_left": job.retries_left,
                "attempts": job.number_of_retries,
            }
            if place.startswith("started:"):
                member = place.split(":", 1)[1]
                worker = conn.hget(f"rq:execution:{member}", "worker_name")
                entry["worker"] = worker.decode() if worker else None
                entry["worker_registered"] = bool(worker) and bool(conn.exists(f"rq:worker:{worker.decode()}"))
                entry["lease_score"] = conn.zscore(StartedJobRegistry(queue=queue).key, member)
            found.append(entry)
    missing = payload_ids - {f["payload_id"] for f in found}
    if missing and len(found) < MAX_REPORTED:
        found.append({"payload_ids_without_any_delivery_job": sorted(missing)[:MAX_REPORTED]})
    return found


def where_jobs_are(conn: Redis, queue_name: str, job_ids: list[str]) -> dict[str, str]:
    """For jobs that did not end: where each one sits in RQ's structures (or "nowhere")."""
    queue = Queue(queue_name, connection=conn, serializer=JSONSerializer)
    where = _ids(conn, queue)
    return {job_id: where.get(job_id, "nowhere") for job_id in job_ids}


def failed_deliveries_by_endpoint(conn: Redis, endpoints: dict[str, str]) -> dict[str, int]:
    """Deliveries left in RQ's failed registry (replayable), per endpoint name (`endpoints`:
    endpoint id -> name)."""
    queue = Queue("webhooks", connection=conn, serializer=JSONSerializer)
    ids = FailedJobRegistry(queue=queue).get_job_ids()
    counts = dict.fromkeys(endpoints.values(), 0)
    for start in range(0, len(ids), 500):
        for job in Job.fetch_many(ids[start : start + 500], connection=conn, serializer=JSONSerializer):
            endpoint = job.args[0] if job is not None and job.args else None
            if endpoint in endpoints:
                counts[endpoints[endpoint]] += 1
    return counts
