"""How the webhook worker writes RQ's records, batched: the same keys and fields RQ's own
workers write (rq 2.12), issued on the caller's pipeline so a whole batch is one round trip.

tests/integration/test_webhook_delivery.py reads them back through RQ's own API (statuses,
registries, results), and so do rq-dashboard and `wagw status`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rq.job import Job, JobStatus
from rq.results import Result
from rq.utils import utcformat

if TYPE_CHECKING:
    from redis.client import Pipeline
    from rq.executions import Execution
    from rq.queue import Queue
    from rq.registry import ScheduledJobRegistry

# Moves up to ARGV[1] ids from the queue to RQ's intermediate list, atomically per id:
# the same step RQ's own dequeue (LMOVE) takes, for a whole batch in one round trip.
POP_SCRIPT = """
local ids = {}
for i = 1, tonumber(ARGV[1]) do
  local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
  if not id then break end
  ids[#ids + 1] = id
end
return ids
"""


class DeliveryJob(Job):
    """A Job that reuses its registry objects: building one per call costs more than the
    Redis commands it issues when thousands of jobs go through a process each second."""

    _registries: dict = {}

    def _registry(self, kind: str):
        key = (kind, self.origin, id(self.connection))
        registry = self._registries.get(key)
        if registry is None:
            registry = getattr(super(), kind)
            self._registries[key] = registry
        return registry

    @property
    def started_job_registry(self):
        return self._registry("started_job_registry")

    @property
    def finished_job_registry(self):
        return self._registry("finished_job_registry")

    @property
    def failed_job_registry(self):
        return self._registry("failed_job_registry")


def mark_finished(job: Job, execution: Execution, result: dict, ttl: int, worker_name: str, pipe: Pipeline) -> None:
    """What RQ's Job._handle_success and cleanup write, minus what cannot have changed since
    the job was enqueued (its data, and dependency keys a delivery never has)."""
    job._result = result
    job._status = JobStatus.FINISHED
    pipe.hset(job.key, mapping={
        "status": JobStatus.FINISHED.value,
        "ended_at": utcformat(job.ended_at),
        "worker_name": worker_name,
    })
    Result.create(
        job, Result.Type.SUCCESSFUL, ttl, return_value=result, worker_name=worker_name, pipeline=pipe,
        execution_id=execution.id, execution_started_at=execution.created_at, execution_ended_at=job.ended_at,
    )
    job.finished_job_registry.add(job, ttl, pipe)
    pipe.expire(job.key, ttl)


def mark_failed(job: Job, execution: Execution, exc_string: str, worker_name: str, pipe: Pipeline) -> None:
    """RQ's failure path: status, failed registry (the job's failure TTL), a failed Result."""
    job.set_status(JobStatus.FAILED, pipeline=pipe)
    job.save(pipeline=pipe)  # with meta: attempts, last status and error
    job._handle_failure(
        exc_string, pipe, worker_name=worker_name, execution_id=execution.id,
        execution_started_at=execution.created_at, execution_ended_at=job.ended_at,
    )


def schedule(queue: Queue, registry: ScheduledJobRegistry, job: Job, due: int, pipe: Pipeline) -> None:
    """RQ's Queue.schedule_job, entirely on the pipeline (rq's own adds the registry entry
    outside it) and at a whole-second due time."""
    pipe.sadd(queue.redis_queues_keys, queue.key)
    job.set_status(JobStatus.SCHEDULED, pipeline=pipe)
    job.save(pipeline=pipe)
    pipe.zadd(registry.key, {job.id: due})
