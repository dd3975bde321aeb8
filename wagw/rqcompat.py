"""The one module that touches rq's private API and the layout of its Redis records.

wagw writes some of rq's records itself, where rq's generic path costs several times more
(the webhook enqueue on the session's event thread, the batched webhook worker), reads a few
that rq has no API for (the reaper, `client.wait_for`), and reads the ids workers take as rq's
fetch does, minus the exceptions that end a worker (wagw.deadletter). All of that depends on
rq internals that any release may change, so it lives here only:

- rq is pinned to the minor these functions were written and measured against (pyproject.toml);
- tests/unit/test_rqcompat.py and tests/integration/test_rqcompat_contract.py read what each
  function writes back through rq's own API, next to what rq writes itself, and check that
  the private names used here still exist with the same signatures: an rq upgrade that
  changes any of it fails there, naming the internal;
- tests/unit/test_rq_boundary.py fails if any other module in wagw/ or workers/ uses rq's
  private names, internal modules or key layout.

The non-underscore methods of the rq classes wagw subclasses or drives (BaseWorker's
lifecycle in the webhook worker, SimpleWorker's hooks in the wa worker, RQScheduler's steps
in `wagw scheduler`) stay at their call sites; the contract tests pin their signatures too.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from base64 import b64encode
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime as datetime_type
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, cast
from uuid import uuid4

import rq.job
import rq.queue
import rq.registry
import rq.results
from loguru import logger
from redis.exceptions import ResponseError
from rq import worker_registration
from rq.exceptions import DequeueTimeout, DeserializationError
from rq.executions import Execution, ExecutionRegistry
from rq.job import JOB_ID_PATTERN, Job, JobStatus
from rq.queue import Queue
from rq.registry import DeferredJobRegistry, clean_registries
from rq.results import Result
from rq.serializers import resolve_serializer
from rq.suspension import WORKERS_SUSPENDED
from rq.utils import as_text, current_timestamp, get_call_string, utcformat
from rq.utils import now as rq_now
from rq.worker import BaseWorker

from wagw import deadletter, keys
from wagw.config import MIN_JOB_DATA_CAP
from wagw.errors import RefusedJob
from wagw.redisconn import SERIALIZER, HashFields, read_stream

if TYPE_CHECKING:
    from datetime import datetime

    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis
    from redis.asyncio.client import Pipeline as AsyncPipeline
    from redis.client import Pipeline
    from rq import Retry
    from rq.registry import BaseRegistry, ScheduledJobRegistry, StartedJobRegistry

# The INFO line rq's workers log twice per job: on dequeue (BaseWorker.dequeue_job_and_maintain_ttl)
# and "Job OK" (BaseWorker.perform_job).
PER_JOB_LOG_MESSAGE = "Worker %s: %s: %s (%s)"
# The dequeue's line when the worker logs no job descriptions (log_job_description=False).
PER_JOB_LOG_MESSAGE_SHORT = "Worker %s: %s: %s"

# Execution.key: an execution's hash, named by its started-registry entry "<job id>:<execution id>".
_EXECUTION_KEY = "rq:execution:{}"

# Moves up to ARGV[1] ids from the queue to its intermediate list, atomically per id: the
# step rq's own dequeue (Queue.lmove) takes, for a whole batch in one round trip. Each id's
# taker (ARGV[2]) is recorded with it, in the same step.
_TAKE_MANY = """
local ids = {}
for i = 1, tonumber(ARGV[1]) do
  local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
  if not id then break end
  redis.call('HSET', KEYS[3], id, ARGV[2])
  ids[#ids + 1] = id
end
return ids
"""

# _TAKE_MANY, each id's job hash read in the same step (ARGV[3]: rq's job key prefix): id,
# fields, id, fields... (fields false where the key holds no hash).
_TAKE_MANY_READ = """
local taken = {}
for i = 1, tonumber(ARGV[1]) do
  local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
  if not id then break end
  redis.call('HSET', KEYS[3], id, ARGV[2])
  local ok, fields = pcall(redis.call, 'HGETALL', ARGV[3] .. id)
  if not ok then fields = false end  -- read again as rq's fetch would, to say why
  taken[#taken + 1] = id
  taken[#taken + 1] = fields
end
return taken
"""

# The first id of several queues (in their order), moved to that queue's intermediate list
# and recorded as ARGV[1]'s. KEYS: queue, intermediate list, takers of each queue, in turn.
_TAKE_FIRST = """
for i = 1, #KEYS, 3 do
  local id = redis.call('LMOVE', KEYS[i], KEYS[i + 1], 'LEFT', 'RIGHT')
  if id then
    redis.call('HSET', KEYS[i + 2], id, ARGV[1])
    return {KEYS[i], id}
  end
end
return false
"""

# _TAKE_FIRST, each id ticketed in the same step (wagw.sendorder): KEYS[1] the account's ticket
# counter, KEYS[2] its hash id -> ticket (an id taken again keeps its ticket), KEYS[3] its
# sorted set of ids taken and not yet settled by their taker; then the triples. Returns the
# queue, the id and, read in the same step, the job's hash (ARGV[2]: rq's job key prefix).
_TAKE_FIRST_TICKETED = """
for i = 4, #KEYS, 3 do
  local id = redis.call('LMOVE', KEYS[i], KEYS[i + 1], 'LEFT', 'RIGHT')
  if id then
    redis.call('HSET', KEYS[i + 2], id, ARGV[1])
    local ticket = redis.call('HGET', KEYS[2], id)
    if not ticket then
      ticket = redis.call('INCR', KEYS[1])
      redis.call('HSET', KEYS[2], id, ticket)
    end
    redis.call('ZADD', KEYS[3], ticket, id)
    local ok, fields = pcall(redis.call, 'HGETALL', ARGV[2] .. id)
    if not ok then fields = false end  -- not a hash: read as rq's fetch would, to say so
    return {KEYS[i], id, fields}
  end
end
return false
"""

# After a blocking BLMOVE: record the taker, but only if the id is still parked and nobody
# claimed it first. A taker slow enough to lose its id to the rescue must not start it too,
# and if another worker has moved it in again meanwhile, one of the two claims it, not both.
_CLAIM = """
if redis.call('LPOS', KEYS[1], ARGV[1]) and redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 1 then
  return 1
end
return 0
"""

# Requeue only if the id is still in the intermediate list: two rescuers cannot both push it.
_PUT_BACK = """
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('LREM', KEYS[2], 1, ARGV[1]) > 0 then
  redis.call('LPUSH', KEYS[1], ARGV[1])
  return 1
end
return 0
"""

# Move an id that cannot be read as a job from the intermediate list to the dead-letter list
# (capped at ARGV[3] entries), forgetting its taker; only if it is still parked, so two callers
# (its taker and the rescue) record it once.
_SET_ASIDE = """
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[3], ARGV[2])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
return 1
"""

# Remove a started-registry entry that cannot be read, or whose job cannot, and record it in
# the queue's dead-letter list (capped at ARGV[3]); only if it is still there, so two callers
# (the reaper, a worker's maintenance) record it once.
_SET_ASIDE_ENTRY = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
return 1
"""

# The largest pid Linux hands out (PID_MAX_LIMIT); a worker hash naming another is not rq's.
_MAX_PID = 4_194_304

# Drop the taker records of ids no longer parked (rq's own start removes only the id).
_FORGET_GONE = """
for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do
  if not redis.call('LPOS', KEYS[1], id) then redis.call('HDEL', KEYS[2], id) end
end
return 0
"""


def now() -> datetime:
    """The clock rq stamps job times with (rq.utils.now: timezone-aware UTC)."""
    return rq_now()


# ---- enqueueing (the session's event thread) ----------------------------------------------------


def queued_job_fields(
    queue_name: str, *, timeout: int, retry: Retry, result_ttl: int | None = None, failure_ttl: int | None = None
) -> HashFields:
    """The fields Job.to_dict writes for a job queued with these options and no callbacks,
    dependencies, meta or ttl, minus the per-job ones enqueue_calls adds (rq's job hash). A
    ttl left None is not written (rq's default applies)."""
    fields: HashFields = {
        "status": JobStatus.QUEUED.value,
        "success_callback_name": "",
        "failure_callback_name": "",
        "stopped_callback_name": "",
        "started_at": "",
        "ended_at": "",
        "last_heartbeat": "",
        "worker_name": "",
        "group_id": "",
        "retries_left": retry.max,
        "retry_intervals": json.dumps(retry.intervals),
        "origin": queue_name,
        "timeout": timeout,
    }
    if result_ttl is not None:
        fields["result_ttl"] = result_ttl
    if failure_ttl is not None:
        fields["failure_ttl"] = failure_ttl
    return fields


def enqueue_calls(
    pipe: Pipeline, queue_name: str, fields: HashFields, calls: Iterable[tuple[str, tuple, str]]
) -> list[str]:
    """Queue one job per (function path, args, description) on `pipe`, writing what
    Queue.enqueue_many writes: the set of queues, each job's hash (`fields` from
    queued_job_fields, times, Job.data compressed as Job.to_dict does, description) and its
    id on the queue's list, under rq's key names. Returns the job ids."""
    queue_key = Queue.redis_queue_namespace_prefix + queue_name
    pipe.sadd(Queue.redis_queues_keys, queue_key)
    stamp = utcformat(rq_now())
    job_ids = []
    for func, args, description in calls:
        job_id = str(uuid4())
        pipe.hset(
            Job.redis_job_namespace_prefix + job_id,
            mapping={
                **fields,
                "created_at": stamp,
                "enqueued_at": stamp,
                "data": zlib.compress(SERIALIZER.dumps((func, None, args, {}))),
                "description": description,
            },
        )
        pipe.rpush(queue_key, job_id)
        job_ids.append(job_id)
    return job_ids


def job_time_stamp() -> str:
    """Now, as Job.to_dict writes created_at and enqueued_at."""
    return utcformat(rq_now())


def call_description(func: str, kwargs: dict[str, Any]) -> str:
    """A job's default description, as Job.get_call_string writes it (each argument cut at 75)."""
    return get_call_string(func, (), kwargs, max_length=75) or ""


def enqueue_fields(pipe: Pipeline | AsyncPipeline, queue_name: str, job_id: str, fields: HashFields) -> None:
    """Queue one job on `pipe` as Queue.enqueue_call writes it: its queue's key in the set of
    queues, the job's hash (`fields`: Job.to_dict's, status included) and its id at the end of
    the queue's list, under rq's key names (the HTTP API: wagw.api.jobrecord; its contract
    test, tests/unit/test_api_jobrecord.py, compares the writes with Queue.enqueue_call's)."""
    queue_key = Queue.redis_queue_namespace_prefix + queue_name
    pipe.sadd(Queue.redis_queues_keys, queue_key)
    pipe.hset(Job.redis_job_namespace_prefix + job_id, mapping=fields)
    pipe.rpush(queue_key, job_id)


# ---- a job's own fields (the wa worker's defaults) ----------------------------------------------

# How Job.to_dict encodes the attributes save_fields writes.
_FIELD_ENCODINGS: dict[str, Callable[[Any], Any]] = {
    "timeout": lambda value: value,
    "retries_left": lambda value: value,
    "retry_intervals": json.dumps,
    "failure_ttl": lambda value: value,
}


def save_fields(job: Job, names: Iterable[str], pipeline: Pipeline | None = None) -> None:
    """Write just these attributes of the job to its hash, under Job.to_dict's field names and
    encodings (Job.save would rewrite every field, the compressed data included)."""
    conn = pipeline if pipeline is not None else job.connection
    conn.hset(job.key, mapping={name: _FIELD_ENCODINGS[name](getattr(job, name)) for name in names})


# ---- how far a job's data may inflate (every wagw process; docs/security.md) ----------------------

# rq stores a job's data zlib-compressed and inflates it whole whenever it reads the job
# (Job.restore: zlib.decompress, no bound), before any size check: a megabyte can inflate to
# a gigabyte. wagw counts the output first, holding one chunk of it at a time.
_INFLATE_CHUNK = 1 << 16
# Deflate's ceiling: a 258-byte match in two bits of input (RFC 1951). Data this many times
# smaller than the cap cannot reach it, so the common small job costs no extra pass.
_MAX_INFLATE_RATIO = 1032
_data_cap = MIN_JOB_DATA_CAP  # cap_job_data sets each process's own (Settings.job_data_cap)


def inflates_past(data: bytes, cap: int) -> bool:
    """Whether `data`, read as rq reads a job's data (inflated, or as it is when it is no zlib
    stream), is longer than `cap` bytes. Input and output go a chunk at a time, so this holds
    a few chunks whatever the data. A stream cut short counts what it gives before it ends
    (rq inflates all of that before it finds the end missing), to within a match's length."""
    if len(data) * _MAX_INFLATE_RATIO <= cap:
        return False
    inflater = zlib.decompressobj()
    size = 0
    view = memoryview(data)
    try:
        for start in range(0, len(view), _INFLATE_CHUNK):
            pending: bytes | memoryview = view[start : start + _INFLATE_CHUNK]
            while pending and not inflater.eof:
                size += len(inflater.decompress(pending, _INFLATE_CHUNK))
                if size > cap:
                    return True
                pending = inflater.unconsumed_tail
            if inflater.eof:
                break
    except zlib.error:
        return len(data) > cap  # no zlib stream: rq keeps the bytes as they are
    return False


class _BoundedZlib:
    """zlib as rq's job and result modules see it once cap_job_data has run: decompress refuses
    to inflate past the cap, with a zlib.error, on which rq keeps the bytes as they are (they
    then fail to decode, and rq fails the job as it fails any it cannot decode)."""

    error = zlib.error
    compress = staticmethod(zlib.compress)

    @staticmethod
    def decompress(data: bytes, /) -> bytes:
        if inflates_past(data, _data_cap):
            raise zlib.error(f"refused: inflates past {_data_cap} bytes")
        return zlib.decompress(data)


def cap_job_data(cap: int) -> None:
    """From now on, in this process, nothing inflates a job's data past `cap` bytes: read_jobs
    sets such a job's id aside (too_large) before rq reads it, and every read of rq's own (a
    job's data and error in Job.restore, a result's error in Result.restore: the scheduler,
    rq's cleanup, a job fetched by id) goes through _BoundedZlib. Called by every wagw process
    at its start (wagw.cli), with Settings.job_data_cap."""
    global _data_cap
    _data_cap = cap
    rq.job.zlib = _BoundedZlib  # type: ignore[assignment]
    rq.results.zlib = _BoundedZlib  # type: ignore[assignment]


# ---- ids that are not jobs (wagw.deadletter) ------------------------------------------------------

# rq's Job() refuses an id outside JOB_ID_PATTERN with a ValueError that ends a worker's loop
# (Queue.dequeue_any passes on only NoSuchJobError), and a fetch reads "a:b" as job a's
# execution b (parse_job_id): neither is the job the id names. No client makes ids longer.
MAX_JOB_ID = 256
# What Job.restore needs to read a job back (data), and what a worker needs to start it.
_REQUIRED_FIELDS = (b"data", b"origin", b"status")
_PICKLE = b"\x80"  # the PROTO opcode every pickle since protocol 2 starts with
_INFLATED_FIELDS = (b"data", b"exc_info")  # what Job.restore inflates


@dataclass(frozen=True)
class Unreadable:
    """Why an id on a queue cannot be run as a job (a wagw.deadletter reason), and the job when
    only its data is unreadable: a record its enqueuer may be waiting on, failed when set aside."""

    reason: str
    job: Job | None = None


def id_problem(job_id: bytes | str) -> str | None:
    """Why an id found on a queue is no job id rq accepts (a deadletter reason), or None."""
    raw = job_id.encode("utf-8", "surrogateescape") if isinstance(job_id, str) else job_id
    if len(raw) > MAX_JOB_ID:
        return "id_too_long"
    if not JOB_ID_PATTERN.fullmatch(raw.decode("ascii", "replace")):
        return "invalid_id"
    return None


def read_jobs(
    conn: Redis, job_ids: Sequence[bytes | str], job_class: type[Job] | None = None, serializer: Any = None
) -> list[Job | Unreadable]:
    """Each id's job, fetched and decoded as a worker would run it, or why it cannot be: what
    rq's fetch raises for it (Job(), Job.restore, the serializer) becomes an Unreadable here
    instead of an exception that ends the worker. One round trip."""
    job_class = job_class or Job
    problems = [id_problem(job_id) for job_id in job_ids]
    readable = [as_text(job_id) for job_id, problem in zip(job_ids, problems, strict=True) if problem is None]
    with conn.pipeline(transaction=False) as pipe:
        for job_id in readable:
            pipe.hgetall(job_class.key_for(job_id))
        replies = iter(zip(readable, pipe.execute(raise_on_error=False), strict=True))
    found: list[Job | Unreadable] = []
    for problem in problems:
        if problem is not None:
            found.append(Unreadable(problem))
        else:
            job_id, reply = next(replies)
            found.append(_job_from_hash(conn, job_id, reply, job_class, serializer or SERIALIZER))
    return found


def _job_from_hash(conn: Redis, job_id: str, reply: Any, job_class: type[Job], serializer: Any) -> Job | Unreadable:
    if isinstance(reply, ResponseError) and str(reply).startswith("WRONGTYPE"):
        return Unreadable("not_a_hash")
    if isinstance(reply, Exception):
        raise reply
    if not reply:
        return Unreadable("no_job")
    if any(field not in reply for field in _REQUIRED_FIELDS):
        return Unreadable("missing_fields")
    if any(inflates_past(reply.get(field, b""), _data_cap) for field in _INFLATED_FIELDS):
        return Unreadable("too_large")  # left unread: inflating it is the attack
    job = job_class(job_id, connection=conn, serializer=serializer)
    try:
        job.restore(reply)
    except Exception:  # a status, date, number or JSON field rq cannot parse
        return Unreadable("unreadable_fields")
    try:
        call = (job.func_name, job.args, job.kwargs)
    except DeserializationError:
        if job.data.startswith(_PICKLE):
            return Unreadable("pickled", job)
        try:
            json.loads(job.data)
        except (ValueError, RecursionError):  # "[[[[…": nested deeper than the parser goes
            return Unreadable("not_json", job)
        return Unreadable("not_a_call", job)
    if not (isinstance(call[0], str) and isinstance(call[1], list | tuple) and isinstance(call[2], dict)):
        return Unreadable("not_a_call", job)
    return job


def _fail_undecodable(job: Job, why: str, by: str) -> None:
    """Fail a job whose data cannot be decoded, as rq's worker fails it when it tries to run it
    (Job._handle_failure, with rq's DeserializationError)."""
    exc_string = f"{DeserializationError.__module__}.DeserializationError: {why}"
    try:
        with job.connection.pipeline() as pipe:
            job.set_status(JobStatus.FAILED, pipeline=pipe)
            job._handle_failure(exc_string, pipe, worker_name=by)
            pipe.execute()
    except Exception as error:  # its id is set aside already: never end the worker over its record
        logger.warning("job {} could not be marked failed: {}", job.id, type(error).__name__)


# ---- taking, starting and ending jobs (the webhook worker; the reaper's stranded ids) -----------


class IntermediateList:
    """A queue's intermediate list (rq.intermediate_queue): where rq's dequeue parks a job id
    between taking it off the queue and marking the job started. wagw's workers also record
    who took each id (keys.TAKERS), so a rescue can tell a dead taker from a slow one."""

    def __init__(self, queue: Queue) -> None:
        self.connection = queue.connection
        self.queue_name = queue.name
        self.queue_key = queue.key
        self.key = queue.intermediate_queue_key
        self.takers_key = keys.TAKERS.format(queue=queue.name)
        self._take_many = self.connection.register_script(_TAKE_MANY)
        self._take_many_read = self.connection.register_script(_TAKE_MANY_READ)
        self._claim = self.connection.register_script(_CLAIM)
        self._put_back = self.connection.register_script(_PUT_BACK)
        self._forget_gone = self.connection.register_script(_FORGET_GONE)
        self._set_aside = self.connection.register_script(_SET_ASIDE)

    def take(self, count: int, taker: str, wait: float = 0) -> list[str]:
        """Up to `count` ids off the queue in one round trip, recorded as `taker`'s; when there
        are none and `wait` is set, block up to `wait` seconds for one (BLMOVE, as rq's
        Queue.lmove). Anything taken that is no job id goes to the dead-letter list instead."""
        ids = self._take_many(keys=[self.queue_key, self.key, self.takers_key], args=[count, taker])
        if not ids and wait:
            ids = self._wait_one(taker, wait)
        taken = []
        for job_id in ids:
            problem = id_problem(job_id)
            if problem is None:
                taken.append(as_text(job_id))
            else:
                self.set_aside(job_id, Unreadable(problem), taker)
        return taken

    def _wait_one(self, taker: str, wait: float) -> list[bytes]:
        one = self.connection.blmove(self.queue_key, self.key, wait, "LEFT", "RIGHT")  # type: ignore[arg-type]  # fractional seconds are valid
        return [one] if one is not None and self.claim(one, taker) else []  # type: ignore[list-item]

    def take_jobs(
        self, count: int, taker: str, wait: float = 0, job_class: type[Job] | None = None, serializer: Any = None
    ) -> tuple[list[str], list[Job | Unreadable]]:
        """take(), and each id's job as read_jobs reads it, its hash read in the same step
        (one round trip for both where ids were waiting; a blocking take reads after it)."""
        job_class = job_class or Job
        serializer = serializer or SERIALIZER
        taken = self._take_many_read(
            keys=[self.queue_key, self.key, self.takers_key], args=[count, taker, job_class.redis_job_namespace_prefix]
        )
        if not taken and wait:
            taken = [item for one in self._wait_one(taker, wait) for item in (one, None)]  # read below
        ids: list[str] = []
        found: list[Job | Unreadable | None] = []
        for raw_id, pairs in zip(taken[::2], taken[1::2], strict=True):
            problem = id_problem(raw_id)
            if problem is not None:
                self.set_aside(raw_id, Unreadable(problem), taker)
                continue
            job_id = as_text(raw_id)
            ids.append(job_id)
            if pairs is None:
                found.append(None)
            else:
                fields = dict(zip(pairs[::2], pairs[1::2], strict=True))
                found.append(_job_from_hash(self.connection, job_id, fields, job_class, serializer))
        unread = [job_id for job_id, job in zip(ids, found, strict=True) if job is None]
        if unread:  # taken by the blocking wait, or not a hash (read_jobs says so)
            again = iter(read_jobs(self.connection, unread, job_class, serializer))
            found = [job if job is not None else next(again) for job in found]
        return ids, cast("list[Job | Unreadable]", found)

    def claim(self, job_id: bytes | str, taker: str) -> bool:
        """Record `taker` for an id it moved here itself; False if the rescue took it back."""
        return bool(self._claim(keys=[self.key, self.takers_key], args=[job_id, taker]))

    def release(self, job_id: str, pipe: Pipeline) -> None:
        """Drop an id whose job is being started (or is gone), as Worker.prepare_job_execution does."""
        pipe.lrem(self.key, 1, job_id)
        pipe.hdel(self.takers_key, job_id)

    def ids(self) -> list[str]:
        """The ids parked here now (what IntermediateQueue.get_job_ids reads)."""
        return [as_text(i) for i in self.connection.lrange(self.key, 0, -1)]

    def raw_ids(self) -> list[bytes]:
        """The ids parked here now as Redis holds them: any bytes anyone pushed."""
        return self.connection.lrange(self.key, 0, -1)  # type: ignore[return-value]

    def set_aside(self, job_id: bytes | str, unreadable: Unreadable, by: str) -> bool:
        """Move a parked id that cannot be read as a job to the dead-letter list, counted and
        logged, and fail its job if it has one (what rq's worker does to a job whose data it
        cannot decode, so whoever waits on it sees it end); False if it was no longer parked."""
        reason = unreadable.reason
        record = deadletter.entry(self.queue_name, job_id, reason, by)
        dead = keys.DEAD_LETTER.format(queue=self.queue_name)
        moved = bool(self._set_aside(keys=[self.key, self.takers_key, dead], args=[job_id, record, deadletter.KEEP]))
        if not moved:
            return False
        deadletter.recorded(self.connection, self.queue_name, job_id, reason, by)
        if unreadable.job is not None:
            _fail_undecodable(unreadable.job, f"{deadletter.REASONS[reason]} (its id is in {dead})", by)
        return True

    def set_aside_unreadable(self, by: str) -> int:
        """Move every parked id that cannot be read as a job to the dead-letter list: rq's
        cleanup of this list (IntermediateQueue.cleanup, in a worker's maintenance) fetches
        each id and dies on such a one. Returns how many were moved."""
        parked = self.raw_ids()
        moved = 0
        for job_id, job in zip(parked, read_jobs(self.connection, parked), strict=True):
            if isinstance(job, Unreadable):
                moved += self.set_aside(job_id, job, by)
        return moved

    def taker(self, job_id: str) -> str | None:
        """The worker that took `job_id`, if one recorded it."""
        taker = self.connection.hget(self.takers_key, job_id)
        return as_text(taker) if taker else None

    def put_back(self, job_id: str) -> bool:
        """Return an id to the front of the queue if it is still here (a dequeue whose worker
        stopped before starting the job); False if it is not."""
        return bool(self._put_back(keys=[self.queue_key, self.key, self.takers_key], args=[job_id]))

    def forget_gone(self) -> None:
        """Drop the taker records of ids that are no longer parked."""
        self._forget_gone(keys=[self.key, self.takers_key])


class TakerQueue(Queue):
    """A Queue whose dequeue parks every id it takes in that queue's intermediate list and
    records the worker that took it (as IntermediateList.take does), and which returns None
    once the worker is asked to stop. For rq's dequeue of the wa-workers.

    rq parks ids only for a worker of one queue; for several it pops them (BLPOP), and a
    worker stopped between the pop and the job's start loses the job: popped, never
    started, in no list. Here it stays parked with its taker, and the rescue requeues it
    once the taker is gone. Redis has no blocking move from several lists, so this takes
    from all of them at once, then blocks on one (`wa`, where jobs without an account go)
    for at most POLL seconds: a job on another queue waits that long at worst, and a stop
    request is seen within it. Subclassed per worker by taker_queue_class: rq calls
    dequeue_any on the class, with no worker at hand."""

    taker: ClassVar[str] = ""
    POLL: ClassVar[float] = 0.2
    # (id, bytes of its stored data) of the last job whose hash came with its take: the size
    # the job checks (stored_data_bytes), read in the same step.
    taken_data_bytes: ClassVar[tuple[str, int] | None] = None
    # wagw.sendorder: (ticket counter, tickets, pending) keys: every id taken gets a ticket in
    # the step that takes it, so tickets follow the queue's order whichever worker took it.
    ticket_keys: ClassVar[tuple[str, str, str] | None] = None
    _ticketed_scripts: ClassVar[dict[int, Any]] = {}
    # (connection, queue keys) -> their intermediate lists and the take script: built once
    # per worker, not on every dequeue.
    _parked: ClassVar[dict[tuple[int, tuple[str, ...]], tuple[list[IntermediateList], Any]]] = {}

    @staticmethod
    def stopping() -> bool:
        return False

    @classmethod
    def dequeue_any(
        cls,
        queues: Iterable[Queue],
        timeout: int | None,
        connection: Redis,
        job_class: type[Job] | None = None,
        serializer: Any = None,
        death_penalty_class: Any = None,
    ) -> tuple[Job, Queue] | None:
        queues = list(queues)
        job_cls = job_class or Job
        cache_key = (id(connection), tuple(queue.key for queue in queues))
        if cache_key not in cls._parked:
            cls._parked[cache_key] = ([IntermediateList(q) for q in queues], connection.register_script(_TAKE_FIRST))
        parked, take_first = cls._parked[cache_key]
        blocking = next((i for i, q in enumerate(queues) if q.name == keys.WA_QUEUE), 0)
        deadline = None if timeout is None else time.monotonic() + timeout
        all_keys = [key for taken in parked for key in (taken.queue_key, taken.key, taken.takers_key)]
        ticketed = cls.ticket_keys
        if ticketed is not None:
            take_first = cls._ticketed_scripts.get(id(connection))
            if take_first is None:
                take_first = cls._ticketed_scripts[id(connection)] = connection.register_script(_TAKE_FIRST_TICKETED)
        while not cls.stopping():
            if ticketed is None:
                taken = take_first(keys=all_keys, args=[cls.taker])
            else:
                taken = take_first(keys=[*ticketed, *all_keys], args=[cls.taker, Job.redis_job_namespace_prefix])
            if taken:
                index = next(i for i, q in enumerate(queues) if q.key == as_text(taken[0]))
                job_id = taken[1]
            else:
                if deadline is None:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DequeueTimeout(timeout, [q.key for q in queues])
                waiting = parked[blocking]
                if ticketed is not None:  # wait for a job without taking it: takes are ticketed
                    connection.blmove(waiting.queue_key, waiting.queue_key, min(remaining, cls.POLL), "LEFT", "LEFT")  # type: ignore[arg-type]
                    continue
                one = connection.blmove(waiting.queue_key, waiting.key, min(remaining, cls.POLL), "LEFT", "RIGHT")  # type: ignore[arg-type]  # fractional seconds are valid
                # A claim fails if the rescue requeued the id while this worker was held up.
                if one is None or not waiting.claim(one, cls.taker):
                    continue
                index, job_id = blocking, one
            # rq's own fetch here raises for an id it cannot read, and its worker dies of it.
            if taken and ticketed is not None and taken[2] is not None and id_problem(job_id) is None:
                pairs = taken[2]  # its hash came with the take
                fields = dict(zip(pairs[::2], pairs[1::2], strict=True))
                job = _job_from_hash(connection, as_text(job_id), fields, job_cls, serializer or SERIALIZER)
                cls.taken_data_bytes = (as_text(job_id), len(fields.get(b"data", b"")))
            else:
                [job] = read_jobs(connection, [job_id], job_cls, serializer)
            if isinstance(job, Unreadable):
                parked[index].set_aside(job_id, job, cls.taker)
                if ticketed is not None:  # the id as taken: it may not be UTF-8
                    forget_ticket(connection, ticketed, job_id)
                continue
            origin = cls.from_queue_key(
                queues[index].key,
                connection=connection,
                job_class=job_cls,
                serializer=serializer,
                death_penalty_class=death_penalty_class,
            )
            return job, origin
        return None


def forget_ticket(conn: Redis, ticket_keys: tuple[str, str, str], job_id: str | bytes) -> None:
    """Drop a taken id's ticket and pending entry (TakerQueue.ticket_keys): not a job to order.
    One round trip."""
    with conn.pipeline(transaction=False) as pipe:
        forget_ticket_on(pipe, ticket_keys, job_id)
        pipe.execute()


def forget_ticket_on(pipeline: Pipeline, ticket_keys: tuple[str, str, str], job_id: str | bytes) -> None:
    """forget_ticket, queued on `pipeline`."""
    pipeline.hdel(ticket_keys[1], job_id)
    pipeline.zrem(ticket_keys[2], job_id)


# ---- sends waiting off the queue (wagw.sendorder) ------------------------------------------------

# Take a job its worker took (it is in its queue's intermediate list) off to wait: out of the
# list and the takers, status deferred (rq-dashboard lists it under Deferred) with `meta`
# saying why, and into wagw's waiting set at `due` with its info. The caller's guard (Lua,
# KEYS from 7, ARGV from 5) runs first and may return instead, in the same step.
# KEYS: intermediate list, takers, job hash, deferred registry, waiting set, waiting info.
# ARGV: id, due, info, meta (serialized), deferred score.
_PARK = """
{guard}
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('LREM', KEYS[1], 1, ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 'gone'
end
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], 'status', 'deferred', 'meta', ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[6], ARGV[1], ARGV[3])
return 'parked'
"""

# Put a waiting job back at the front of its queue, queued, once: only the caller that removes
# it from the waiting set does. A Lua function, for wagw.sendorder's scripts too: unpark(waiting
# set, waiting info, id, reason it must be waiting for ('' any), then UNPARK_PREFIXES). Info
# values are "<reason>|<queue>|...". Returns 1 requeued, 0 not waiting (or for another
# reason), -1 its job is gone.
UNPARK_FUNCTION = """
local function unpark(waiting, info_key, id, reason, job_prefix, queue_prefix, deferred_prefix, queues_key)
  local info = redis.call('HGET', info_key, id)
  if not info then
    redis.call('ZREM', waiting, id)
    return 0
  end
  local why, queue = string.match(info, '^([^|]*)|([^|]*)')
  if reason ~= '' and why ~= reason then return 0 end
  if redis.call('ZREM', waiting, id) == 0 then return 0 end
  redis.call('HDEL', info_key, id)
  redis.call('ZREM', deferred_prefix .. queue, id)
  local job = job_prefix .. id
  if redis.call('EXISTS', job) == 0 then return -1 end
  redis.call('HSET', job, 'status', 'queued')
  redis.call('SADD', queues_key, queue_prefix .. queue)
  redis.call('LPUSH', queue_prefix .. queue, id)
  return 1
end
"""
# KEYS: waiting set, waiting info, a sorted set whose head to requeue when ARGV[1] is ''.
# ARGV: id, reason, UNPARK_PREFIXES.
_UNPARK = (
    UNPARK_FUNCTION
    + """
local id = ARGV[1]
if id == '' then
  id = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
  if not id then return 0 end
end
return unpark(KEYS[1], KEYS[2], id, ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
"""
)
# The key layout unpark() needs: job hash, queue and deferred registry prefixes, the set of queues.
UNPARK_PREFIXES = (
    Job.redis_job_namespace_prefix,
    Queue.redis_queue_namespace_prefix,
    DeferredJobRegistry.key_template.format(""),
    Queue.redis_queues_keys,
)


def park(
    conn: Redis,
    job: Job,
    queue: Queue,
    *,
    waiting_key: str,
    info_key: str,
    due: float,
    info: str,
    guard: str = "",
    guard_keys: Sequence[str] = (),
    guard_args: Sequence[Any] = (),
) -> str:
    """Take a job this worker took off to wait (_PARK); returns 'parked', 'gone' (its record
    vanished: nothing to wait) or what `guard` returned instead."""
    script = _PARK.format(guard=guard)
    registry = DeferredJobRegistry(queue.name, connection=conn, serializer=queue.serializer)
    reply = conn.eval(
        script,
        6 + len(guard_keys),
        queue.intermediate_queue_key,
        keys.TAKERS.format(queue=queue.name),
        job.key,
        registry.key,
        waiting_key,
        info_key,
        *guard_keys,
        job.id,
        repr(due),
        info,
        job.serializer.dumps(job.meta),
        current_timestamp(),
        *guard_args,
    )
    return as_text(reply) or ""


def unpark(
    conn: Redis | Pipeline, waiting_key: str, info_key: str, job_id: str, reason: str = "", head_of: str = ""
) -> Any:
    """Requeue a waiting job at the front of its queue (_UNPARK); with `job_id` '' the head of
    the sorted set `head_of`. On a pipeline, queued there."""
    return conn.eval(_UNPARK, 3, waiting_key, info_key, head_of or waiting_key, job_id, reason, *UNPARK_PREFIXES)


def job_statuses(conn: Redis, job_ids: Sequence[str]) -> list[str | None]:
    """Each job's status field as rq stores it (None: no job). One round trip."""
    with conn.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(Job.key_for(job_id), "status")
        return [as_text(status) if status is not None else None for status in pipe.execute()]


def save_meta_field(job: Job, pipeline: Pipeline | None = None) -> None:
    """Write the job's meta (Job.save_meta's field and encoding), on `pipeline` when given."""
    conn = pipeline if pipeline is not None else job.connection
    conn.hset(job.key, "meta", job.serializer.dumps(job.meta))


def request_warm_stop(worker: BaseWorker) -> None:
    """What rq's BaseWorker.request_stop records for a warm shutdown (`_stop_requested`, read
    by its work loop between jobs; `_shutdown_requested_date`), without the log line and the
    StopRequested it raises: safe in a signal handler."""
    worker._stop_requested = True
    worker._shutdown_requested_date = now()


# How long rq's command listener (the pubsub thread: stop-job and kill-horse commands) waits
# per read. rq asks for 60 s; redis-py's PubSubWorkerThread.stop() joins the thread, and after
# the UNSUBSCRIBE in rq's teardown the thread can wait that whole minute for a subscription
# that never comes (rq #1613), so an idle worker outlived every stop grace. A command still
# arrives at once: a read returns as soon as a message does.
COMMAND_WAIT = 1.0


class PromptCommandListener:
    """Mixed into wagw's rq workers, before the rq class: BaseWorker.subscribe/unsubscribe with a
    listener that ends within COMMAND_WAIT of a stop, whatever the redis-py version."""

    def subscribe(self) -> None:
        worker = cast(BaseWorker, self)
        worker.pubsub = worker.connection.pubsub()
        worker.pubsub.subscribe(**{worker.pubsub_channel_name: worker.handle_payload})
        worker.pubsub_thread = worker.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=COMMAND_WAIT, daemon=True, exception_handler=worker._pubsub_exception_handler
        )

    def unsubscribe(self) -> None:
        worker = cast(BaseWorker, self)
        thread, pubsub = worker.pubsub_thread, worker.pubsub
        if thread is None or pubsub is None:
            return
        worker.pubsub_thread = None
        # No UNSUBSCRIBE from this thread while the listener reads the same connection: the
        # listener sees the flag within one read and closes the connection itself.
        thread._running.clear()
        thread.join(timeout=COMMAND_WAIT * 3)
        if not thread.is_alive():
            pubsub.close()
        # else: Redis stalled mid-read; the daemon thread ends with the process.


class SetsAsideUnreadable:
    """Mixed into wagw's rq workers, before the rq class: before rq's maintenance of a queue,
    move the parked ids and the started entries past their lease that cannot be read as jobs
    to the dead-letter list. rq's cleanup (BaseWorker.clean_registries -> IntermediateQueue.cleanup,
    StartedJobRegistry.cleanup) fetches each of them, and one it cannot read ends the worker
    at its start and every maintenance after.

    An app can write such an entry between the set-aside and rq's read of it: when rq's
    cleanup then fails and a second set-aside finds something to move, the queue's cleanup is
    tried again (CLEAN_TRIES in all), then left to the next maintenance with a warning. A
    failure with nothing to set aside is no forged entry's doing and is raised."""

    CLEAN_TRIES = 3

    def clean_registries(self) -> None:
        # rq's BaseWorker.clean_registries, queue by queue, with the set-aside and the retry.
        worker = cast(BaseWorker, self)
        for queue in worker.queues:
            if not queue.acquire_maintenance_lock():
                continue  # another worker cleans this queue now
            try:
                worker.log.info("Worker %s: cleaning registries for queue: %s", worker.name, queue.name)
                _clean_queue(worker, queue, self.CLEAN_TRIES)
            finally:
                queue.release_maintenance_lock()
        worker.last_cleaned_at = rq_now()  # type: ignore[assignment]  # rq annotates it as None


def _set_aside_unreadable_of(queue: Queue, by: str) -> int:
    parked = IntermediateList(queue).set_aside_unreadable(by)
    return parked + set_aside_unreadable_started(queue.started_job_registry, by)


def _clean_queue(worker: BaseWorker, queue: Queue, tries: int) -> None:
    for attempt in range(1, tries + 1):
        _set_aside_unreadable_of(queue, worker.name)
        try:
            clean_registries(queue, worker._exc_handlers)
            worker_registration.clean_worker_registry(queue)
            queue.intermediate_queue.cleanup(worker, queue)
            return
        except Exception:
            if not _set_aside_unreadable_of(queue, worker.name):
                raise
            if attempt == tries:
                logger.warning(
                    "queue {}: registries not cleaned: unreadable entries kept arriving during the cleanup"
                    " ({} tries); the next maintenance tries again",
                    queue.name,
                    tries,
                )


def taker_queue_class(
    worker_name: str,
    stopping: Callable[[], bool] | None = None,
    ticket_keys: tuple[str, str, str] | None = None,
) -> type[Queue]:
    attributes: dict[str, Any] = {
        "taker": worker_name,
        "_parked": {},
        "_ticketed_scripts": {},
        "ticket_keys": ticket_keys,
        "taken_data_bytes": None,
    }
    if stopping is not None:
        attributes["stopping"] = staticmethod(stopping)
    return type("TakerQueue", (TakerQueue,), attributes)


class SharedRegistriesJob(Job):
    """A Job that reuses its registry objects: rq builds one each time it reaches for a job's
    registry (Execution.create, Job._handle_failure, ...), which costs more than the Redis
    commands it issues when thousands of jobs go through a process each second."""

    _registries: ClassVar[dict] = {}

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


def start_execution(job: Job, worker_name: str, lease: int, pipe: Pipeline) -> Execution:
    """What a worker writes on `pipe` when it starts a job: an execution (its hash, the job's
    execution registry, a started-registry lease of `lease` seconds; Execution.create) and the
    job's started fields (Job.prepare_for_execution)."""
    execution = Execution.create(job, lease, pipeline=pipe, worker_name=worker_name)
    job.prepare_for_execution(worker_name, pipe)
    return execution


def record_execution(job: Job, worker_name: str, lease: int, pipe: Pipeline) -> Execution:
    """rq's record of a job's execution (Execution.create: its hash, the job's execution
    registry, a started-registry lease of `lease` seconds), on `pipe`."""
    return Execution.create(job, lease, pipeline=pipe, worker_name=worker_name)


def end_execution(execution: Execution, job: Job, pipe: Pipeline) -> None:
    """Drop the execution and its started-registry lease (Execution.delete)."""
    execution.delete(job, pipe)


def renew_leases(executions: Iterable[Execution], registry: StartedJobRegistry, lease: int, pipe: Pipeline) -> None:
    """Extend the started-registry leases of executions still running (Execution.heartbeat)."""
    for execution in executions:
        execution.heartbeat(registry, lease, pipeline=pipe)


def performed_result(job: Job) -> Any:
    """What `job.perform()` returned in this process (rq keeps it on the job until it writes
    the Result); None when the job did not run here."""
    return job._result


def mark_finished(job: Job, execution: Execution, result: dict, ttl: int, worker_name: str, pipe: Pipeline) -> None:
    """What rq's Job._handle_success and cleanup write, minus what cannot have changed since
    the job was enqueued (its data, and dependency keys a delivery never has)."""
    job._result = result
    job._status = JobStatus.FINISHED
    pipe.hset(
        job.key,
        mapping={
            "status": JobStatus.FINISHED.value,
            "ended_at": utcformat(job.ended_at or rq_now()),
            "worker_name": worker_name,
        },
    )
    Result.create(
        job,
        Result.Type.SUCCESSFUL,
        ttl,
        return_value=result,
        worker_name=worker_name,
        pipeline=pipe,
        execution_id=execution.id,
        execution_started_at=execution.created_at,
        execution_ended_at=job.ended_at,
    )
    job.finished_job_registry.add(job, ttl, pipe)
    pipe.expire(job.key, ttl)


def mark_failed(job: Job, execution: Execution, exc_string: str, worker_name: str, pipe: Pipeline) -> None:
    """rq's failure path (Job._handle_failure): status, failed registry (the job's failure
    TTL), a failed Result; the job is saved with its meta first."""
    job.set_status(JobStatus.FAILED, pipeline=pipe)
    job.save(pipeline=pipe)  # with meta: a worker's notes on the attempts
    job._handle_failure(
        exc_string,
        pipe,
        worker_name=worker_name,
        execution_id=execution.id,
        execution_started_at=execution.created_at,
        execution_ended_at=job.ended_at,
    )


# ---- starting and finishing a batch in one script (the webhook worker) --------------------------

# What start_execution writes for each job (Execution.create, Job.prepare_for_execution) and
# what IntermediateList.release drops, for a whole batch: one command sent instead of eight per
# job. Then the caller's reads, in the same atomic step. KEYS: intermediate list, takers,
# started registry. ARGV: worker, lease, the executions registry's score and ttl, the started
# registry's score, the started stamp, the execution's created_at, the key prefixes (job,
# execution, executions registry), the number of jobs, then per job its id and execution id,
# then per read its two keys (one whose existence, one whose value is read).
_START_MANY = """
local worker, lease, registry_score, registry_ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local started_score, stamp, created = ARGV[5], ARGV[6], ARGV[7]
local job_prefix, execution_prefix, executions_prefix = ARGV[8], ARGV[9], ARGV[10]
local jobs = tonumber(ARGV[11])
local at = 12
for _ = 1, jobs do
  local job_id, execution_id = ARGV[at], ARGV[at + 1]
  at = at + 2
  local composite = job_id .. ':' .. execution_id
  redis.call('LREM', KEYS[1], 1, job_id)
  redis.call('HDEL', KEYS[2], job_id)
  local execution = execution_prefix .. composite
  redis.call('HSET', execution, 'id', execution_id, 'created_at', created, 'last_heartbeat', created,
    'worker_name', worker)
  redis.call('EXPIRE', execution, lease)
  local executions = executions_prefix .. job_id
  redis.call('ZADD', executions, registry_score, execution_id)
  redis.call('EXPIRE', executions, registry_ttl)
  redis.call('ZADD', KEYS[3], started_score, composite)
  redis.call('HSET', job_prefix .. job_id, 'last_heartbeat', stamp, 'status', 'started', 'started_at', stamp,
    'worker_name', worker)
end
local read = {}
while at <= #ARGV do
  local value = redis.pcall('GET', ARGV[at + 1])
  if type(value) == 'table' then value = false end  -- not a string: counted as absent
  read[#read + 1] = {redis.call('EXISTS', ARGV[at]), value}
  at = at + 2
end
return read
"""

# What mark_finished and end_execution write for each job, for a whole batch. KEYS: started
# registry, finished registry. ARGV: worker, ttl, the finished registry's score, the result
# type, the key prefixes (job, execution, executions registry, results), then per job its id,
# execution id, ended_at stamp, result (base64 of the serialized value), the execution's
# start and end (unix time), and the caller's mark: a key set to the job's id for a number of
# seconds and a key deleted ('' for none).
_FINISH_MANY = """
local worker, ttl, finished_score, result_type = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local job_prefix, execution_prefix, executions_prefix, results_prefix = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
for at = 9, #ARGV, 9 do
  local job_id, execution_id, ended = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local job = job_prefix .. job_id
  redis.call('HSET', job, 'status', 'finished', 'ended_at', ended, 'worker_name', worker)
  local results = results_prefix .. job_id
  redis.call('XADD', results, 'MAXLEN', '~', '10', '*', 'type', result_type, 'worker_name', worker,
    'return_value', ARGV[at + 3], 'execution_id', execution_id, 'execution_started_at', ARGV[at + 4],
    'execution_ended_at', ARGV[at + 5])
  redis.call('EXPIRE', results, ttl)
  redis.call('ZADD', KEYS[2], finished_score, job_id)
  redis.call('EXPIRE', job, ttl)
  redis.call('DEL', execution_prefix .. job_id .. ':' .. execution_id)
  redis.call('ZREM', KEYS[1], job_id .. ':' .. execution_id)
  redis.call('ZREM', executions_prefix .. job_id, execution_id)
  if ARGV[at + 6] ~= '' then
    redis.call('SET', ARGV[at + 6], job_id, 'EX', ARGV[at + 7])
    redis.call('DEL', ARGV[at + 8])
  end
end
return 0
"""


def _float(value: float) -> str:
    """A float as redis-py sends it (Encoder.encode: repr)."""
    return repr(value)


class BatchScripts:
    """start_many and finish_many of one connection: the scripts registered once."""

    def __init__(self, connection: Redis) -> None:
        self.start = connection.register_script(_START_MANY)
        self.finish = connection.register_script(_FINISH_MANY)


def start_many(
    scripts: BatchScripts,
    taken: IntermediateList,
    jobs: Sequence[Job],
    worker_name: str,
    lease: int,
    reads: Sequence[tuple[str, str]] = (),
) -> tuple[list[Execution], list[tuple[bool, bytes | None]]]:
    """Start `jobs` (taken into `taken`) in one atomic step: for each, what release and
    start_execution write (its id and taker dropped, an execution with a started-registry
    lease of `lease` seconds, the job's started fields; rq's Execution.create and
    Job.prepare_for_execution), then the caller's `reads` (key whose existence, key whose
    value; a value that is no string reads as None). Returns the executions, in the jobs'
    order, and what was read."""
    if not jobs:
        return [], []
    right_now = rq_now()
    stamp = utcformat(right_now)
    created = _float(right_now.timestamp())
    score = current_timestamp()
    executions: list[Execution] = []
    args: list[Any] = [
        worker_name,
        lease,
        score + lease + 60,  # ExecutionRegistry.add
        lease + 60,
        score + lease,  # StartedJobRegistry.add_execution
        stamp,
        created,
        Job.redis_job_namespace_prefix,
        _EXECUTION_KEY.format(""),
        ExecutionRegistry.key_template.format(""),
        len(jobs),
    ]
    for job in jobs:
        execution = Execution(uuid4().hex, job.id, job.connection, worker_name)
        execution.created_at = execution.last_heartbeat = right_now
        executions.append(execution)
        args += (job.id, execution.id)
        job.worker_name = worker_name
        job.last_heartbeat = job.started_at = right_now
        job._status = JobStatus.STARTED
    for exists_key, value_key in reads:
        args += (exists_key, value_key)
    registry = jobs[0].started_job_registry
    replies = scripts.start(keys=[taken.key, taken.takers_key, registry.key], args=args)
    return executions, [(bool(exists), value or None) for exists, value in replies]


class Mark(NamedTuple):
    """Written with a finished job by finish_many: `marker` set to the job's id for `seconds`,
    and `gone` deleted."""

    marker: str
    seconds: int
    gone: str


def finish_many(
    scripts: BatchScripts,
    pipe: Pipeline,
    finished: Sequence[tuple[Job, Execution, dict, Mark | None]],
    ttl: int,
    worker_name: str,
) -> None:
    """On `pipe`: what mark_finished and then end_execution write, for each (job, execution,
    result, mark) of `finished`, as one command, each job's mark (if any) with it. Every job is
    of one queue; `ttl` > 0."""
    if not finished:
        return
    if ttl <= 0:
        raise ValueError("finish_many keeps results for a positive ttl only")
    first = finished[0][0]
    args: list[Any] = [
        worker_name,
        ttl,
        current_timestamp() + ttl,  # FinishedJobRegistry.add
        Result.Type.SUCCESSFUL.value,
        Job.redis_job_namespace_prefix,
        _EXECUTION_KEY.format(""),
        ExecutionRegistry.key_template.format(""),
        Result.get_key(""),
    ]
    # A batch's jobs mostly share their start (one start_many) and end: each time formatted once.
    ends: dict[datetime_type, tuple[str, str]] = {}
    starts: dict[datetime_type, str] = {}
    for job, execution, result, mark in finished:
        job._result = result
        job._status = JobStatus.FINISHED
        ended = job.ended_at or rq_now()
        if (end := ends.get(ended)) is None:
            end = ends[ended] = (utcformat(ended), _float(ended.timestamp()))
        if (start := starts.get(execution.created_at)) is None:
            start = starts[execution.created_at] = _float(execution.created_at.timestamp())
        args += (
            job.id,
            execution.id,
            end[0],
            b64encode(job.serializer.dumps(result)).decode(),  # Result.serialize
            start,
            end[1],
        )
        args += mark if mark is not None else ("", 0, "")
    scripts.finish(keys=[first.started_job_registry.key, first.finished_job_registry.key], args=args, client=pipe)


# ---- one job's success in one script (the wa worker) ----------------------------------------------

# What BaseWorker.handle_job_success writes for a job with no dependents, no Repeat and a
# result TTL > 0 (the worker's counters, Job._handle_success, Job.cleanup, cleanup_execution),
# then the caller's commands, in one atomic step: one round trip where rq's WATCH, SMEMBERS
# and MULTI/EXEC take three. Nothing is written if the job has dependents (rq's own path then
# enqueues them). KEYS: job, dependents, dependencies, worker, started registry, finished
# registry, results, execution, executions registry. ARGV: ttl, working seconds, finished
# score, job id, execution id, then the job's fields and the result's (each a count, then
# name/value words), then the commands (each its length and its words; an embedded script:
# '', its index, its key count, keys, args).
_SUCCEED = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local ttl, job_id, execution_id = ARGV[1], ARGV[4], ARGV[5]
redis.call('HINCRBY', KEYS[4], 'successful_job_count', 1)
redis.call('HINCRBYFLOAT', KEYS[4], 'total_working_time', ARGV[2])
local at = 7
local n = tonumber(ARGV[6])
redis.call('HSET', KEYS[1], unpack(ARGV, at, at + n - 1))
at = at + n
n = tonumber(ARGV[at])
redis.call('XADD', KEYS[7], 'MAXLEN', '~', '10', '*', unpack(ARGV, at + 1, at + n))
at = at + n + 1
redis.call('EXPIRE', KEYS[7], ttl)
redis.call('ZADD', KEYS[6], ARGV[3], job_id)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('HDEL', KEYS[4], 'current_job')
redis.call('DEL', KEYS[8])
redis.call('ZREM', KEYS[5], job_id .. ':' .. execution_id)
redis.call('ZREM', KEYS[9], execution_id)
local replies = {1}
while at <= #ARGV do
  local length = tonumber(ARGV[at])
  local reply
  if ARGV[at + 1] == '' then
    local first, numkeys = at + 4, tonumber(ARGV[at + 3])
    reply = EMBEDDED[tonumber(ARGV[at + 2])]({unpack(ARGV, first, first + numkeys - 1)},
      {unpack(ARGV, first + numkeys, at + length)})
  else
    reply = redis.call(unpack(ARGV, at + 1, at + length))
  end
  replies[#replies + 1] = reply or false
  at = at + length + 1
end
return replies
"""
_succeed_scripts: dict[tuple[int, tuple[str, ...]], Any] = {}


def succeed_alone(
    job: Job, execution: Execution, worker: BaseWorker, ttl: int, commands: Sequence[Sequence[Any]] = ()
) -> list | None:
    """Record the job's success as rq's worker does (handle_job_success, for a job without a
    Repeat, its result kept `ttl` > 0 seconds), then run `commands` (argument lists as a
    pipeline records them; an EVAL runs inside the same script), in one round trip; returns
    their replies. None, with nothing written, if the job has dependents: rq's own path must
    enqueue them."""
    if ttl <= 0 or not job.started_at or not job.ended_at:
        raise ValueError("succeed_alone records a started and ended job whose result is kept")
    fields: list[Any] = ["status", JobStatus.FINISHED.value]
    for name in ("started_at", "ended_at", "last_heartbeat"):  # what Job.save rewrites that can have changed
        stamp = getattr(job, name)
        fields += (name, utcformat(stamp) if stamp else "")
    fields += ("worker_name", worker.name)
    if job.result_ttl is not None:
        fields += ("result_ttl", job.result_ttl)
    result = Result(
        job.id,
        Result.Type.SUCCESSFUL,
        connection=job.connection,
        return_value=job._result,
        worker_name=worker.name,
        serializer=job.serializer,
        execution_id=execution.id,
        execution_started_at=execution.created_at,
        execution_ended_at=job.ended_at,
    )
    result_words = [word for pair in result.serialize().items() for word in pair]
    args: list[Any] = [
        ttl,
        _float((job.ended_at - job.started_at).total_seconds()),  # increment_total_working_time
        current_timestamp() + ttl,  # FinishedJobRegistry.add
        job.id,
        execution.id,
        len(fields),
        *fields,
        len(result_words),
        *result_words,
    ]
    embedded: list[str] = []
    for command in commands:
        if str(command[0]).upper() == "EVAL":
            if command[1] not in embedded:
                embedded.append(command[1])
            args += (len(command), "", embedded.index(command[1]) + 1, *command[2:])
        else:
            args += (len(command), *command)
    cache_key = (id(job.connection), tuple(embedded))
    script = _succeed_scripts.get(cache_key)
    if script is None:
        functions = "".join(
            f"EMBEDDED[{i}] = function(KEYS, ARGV)\n{source}\nend\n" for i, source in enumerate(embedded, 1)
        )
        script = job.connection.register_script("local EMBEDDED = {}\n" + functions + _SUCCEED)
        _succeed_scripts[cache_key] = script
    script_keys = [
        job.key,
        job.dependents_key,
        job.dependencies_key,
        worker.key,
        job.started_job_registry.key,
        job.finished_job_registry.key,
        Result.get_key(job.id),
        _EXECUTION_KEY.format(f"{job.id}:{execution.id}"),
        ExecutionRegistry.key_template.format(job.id),
    ]
    replies = script(keys=script_keys, args=args)
    if not replies:
        return None
    job._status = JobStatus.FINISHED
    return list(replies[1:])


def queue_suspension_check(pipe: Pipeline) -> None:
    """What rq's is_suspended reads (whether `rq suspend` holds the workers), queued on `pipe`:
    a reply of 1 when suspended."""
    pipe.exists(WORKERS_SUSPENDED)


# Job.restore's dates as rq writes them (utcformat): parsed by fromisoformat, 50x cheaper than
# rq's strptime and the same value; anything else still goes to rq's own parser.
_RQ_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
_rq_str_to_date = rq.job.str_to_date
_rq_resolve_serializer = rq.job.resolve_serializer
_resolved: dict[int, Any] = {}


def _str_to_date(date_str: bytes | str) -> datetime:
    text = date_str.decode() if isinstance(date_str, bytes) else date_str
    if isinstance(text, str) and _RQ_STAMP.fullmatch(text):
        return datetime_type.fromisoformat(text)  # "Z" reads as UTC, as rq's utcparse sets it
    return _rq_str_to_date(date_str)


def _resolve_serializer_once(serializer: Any = None) -> Any:
    if serializer is None or isinstance(serializer, str):
        return _rq_resolve_serializer(serializer)
    # The value is the serializer itself (rq checks it and returns it), which keeps its id taken.
    found = _resolved.get(id(serializer))
    if found is None:
        found = _resolved[id(serializer)] = _rq_resolve_serializer(serializer)
    return found


def quicken_rq() -> None:
    """From now on, in this process, rq's Jobs, Queues, registries and Results cost less to build,
    with the same result: rq checks a serializer against its typing Protocol each time it builds
    one (slow before Python 3.12; a worker builds several per job), and parses every date of a
    job it reads with strptime. Here a serializer object is checked once, and dates in rq's own
    format are read with fromisoformat. For the workers, which go through thousands of jobs."""
    rq.job.str_to_date = _str_to_date
    for module in (rq.job, rq.queue, rq.registry, rq.results):
        module.resolve_serializer = _resolve_serializer_once  # type: ignore[attr-defined]


def fail_abandoned(registry: StartedJobRegistry, entry: str, job: Job, exc_string: str) -> None:
    """Fail a started job whose worker is dead with `exc_string`, never retrying it: what
    StartedJobRegistry.cleanup does to an abandoned job without retries left, with wagw's
    message instead of rq's "AbandonedJobError"."""
    with registry.connection.pipeline() as pipe:
        pipe.zrem(registry.key, entry)
        job.set_status(JobStatus.FAILED, pipeline=pipe)
        job._handle_failure(exc_string, pipe, worker_name="")
        pipe.execute()


def schedule(queue: Queue, registry: ScheduledJobRegistry, job: Job, due: int, pipe: Pipeline) -> None:
    """Queue.schedule_job, entirely on `pipe` (rq's own adds the registry entry outside it) and
    at a whole-second due time: the scheduled registry is scored by due timestamp."""
    pipe.sadd(queue.redis_queues_keys, queue.key)
    job.set_status(JobStatus.SCHEDULED, pipeline=pipe)
    job.save(pipeline=pipe)
    pipe.zadd(registry.key, {job.id: due})


def requeue_at_front(queue: Queue, job: Job, pipe: Pipeline) -> None:
    """Put a job taken but never run back at the front of its queue, saved as queued
    (Queue._enqueue_job: Queue.enqueue_job without the dependency checks)."""
    queue._enqueue_job(job, pipeline=pipe, at_front=True)


def count_jobs(worker: BaseWorker, pipe: Pipeline, successful: int, failed: int) -> None:
    """Add to the worker's job counters: the hash fields BaseWorker.increment_successful_job_count
    and increment_failed_job_count raise by one."""
    if successful:
        pipe.hincrby(worker.key, "successful_job_count", successful)
    if failed:
        pipe.hincrby(worker.key, "failed_job_count", failed)


def heartbeat_recreated(worker: BaseWorker) -> bool:
    """BaseWorker.heartbeat; True when it had to create the worker's hash (its first command,
    an HSET, created the field): the worker's registration was gone."""
    with worker.connection.pipeline() as pipe:
        worker.heartbeat(pipeline=pipe)
        return bool(pipe.execute()[0])


def register_again(worker: BaseWorker) -> None:
    """Write the worker's registration back (BaseWorker.register_birth's hash, sets and expiry,
    keeping its birth date and state) after a Redis restart or flush lost it."""
    with worker.connection.pipeline() as pipe:
        pipe.hset(worker.key, mapping=worker.serialize())
        pipe.hset(worker.key, "state", worker.get_state())
        worker_registration.register(worker, pipe)
        pipe.expire(worker.key, worker.worker_ttl + 60)
        pipe.execute()


# ---- jobs of dead workers (wagw.scheduler.reaper) -----------------------------------------------


@dataclass(frozen=True)
class StartedEntry:
    """One member of a started registry: "<job id>:<execution id>" as rq writes it, with the
    worker its execution's hash names ("" when none does: the hash expired, or was never
    written), or why it is no such entry (`problem`, a wagw.deadletter reason). Anyone who can
    write to Redis can add any member."""

    raw: bytes
    job_id: str = ""
    worker_name: str = ""
    problem: str | None = None

    @property
    def entry(self) -> str:
        return self.raw.decode("ascii")  # a readable entry is ASCII (id_problem)


def _entry_problem(raw: bytes) -> str | None:
    job_id, colon, execution_id = raw.partition(b":")
    if not colon or id_problem(job_id) is not None or id_problem(execution_id) is not None:
        return "not_an_entry"  # rq's own parse dies on "a:b:c", non-UTF-8 and ids Job() refuses
    return None


def started_entries(registry: StartedJobRegistry, *, expired: bool = False) -> list[StartedEntry]:
    """Every entry of a started registry (`expired`: only those whose lease has run out, the
    ones rq's StartedJobRegistry.cleanup fetches), with the worker its execution names. Two
    round trips, whatever is in the registry."""
    conn = registry.connection
    members = cast(
        "list[bytes]",
        conn.zrangebyscore(registry.key, 0, current_timestamp()) if expired else conn.zrange(registry.key, 0, -1),
    )
    problems = [_entry_problem(raw) for raw in members]
    with conn.pipeline(transaction=False) as pipe:
        for raw, problem in zip(members, problems, strict=True):
            if problem is None:
                pipe.hget(_EXECUTION_KEY.format(raw.decode("ascii")), "worker_name")
        workers = iter(pipe.execute(raise_on_error=False))
    entries = []
    for raw, problem in zip(members, problems, strict=True):
        if problem is not None:
            entries.append(StartedEntry(raw, problem=problem))
            continue
        worker = next(workers)
        if isinstance(worker, ResponseError) and str(worker).startswith("WRONGTYPE"):
            entries.append(StartedEntry(raw, problem="bad_execution"))
            continue
        if isinstance(worker, Exception):
            raise worker
        try:
            worker_name = worker.decode() if worker else ""
        except UnicodeDecodeError:
            entries.append(StartedEntry(raw, problem="bad_execution"))
            continue
        entries.append(StartedEntry(raw, raw.decode("ascii").partition(":")[0], worker_name))
    return entries


def set_aside_entry(registry: StartedJobRegistry, entry: StartedEntry, unreadable: Unreadable, by: str) -> bool:
    """Remove a started entry that cannot be read (or whose job cannot) from the registry and
    record it in the queue's dead-letter list, counted and logged, and fail its job if only its
    data is unreadable; False if the entry was no longer there."""
    record = deadletter.entry(registry.name, entry.raw, unreadable.reason, by, deadletter.STARTED)
    dead = keys.DEAD_LETTER.format(queue=registry.name)
    script = registry.connection.register_script(_SET_ASIDE_ENTRY)
    if not script(keys=[registry.key, dead], args=[entry.raw, record, deadletter.KEEP]):
        return False
    _dead_lettered(registry, entry, unreadable, by)
    return True


def _record_dead(registry: StartedJobRegistry, entry: StartedEntry, unreadable: Unreadable, by: str) -> None:
    """An entry already claimed (removed) whose job cannot be read: into the dead-letter list."""
    record = deadletter.entry(registry.name, entry.raw, unreadable.reason, by, deadletter.STARTED)
    dead = keys.DEAD_LETTER.format(queue=registry.name)
    with registry.connection.pipeline() as pipe:
        pipe.lpush(dead, record)
        pipe.ltrim(dead, 0, deadletter.KEEP - 1)
        pipe.execute()
    _dead_lettered(registry, entry, unreadable, by)


def _dead_lettered(registry: StartedJobRegistry, entry: StartedEntry, unreadable: Unreadable, by: str) -> None:
    deadletter.recorded(registry.connection, registry.name, entry.raw, unreadable.reason, by, deadletter.STARTED)
    if unreadable.job is not None:
        dead = keys.DEAD_LETTER.format(queue=registry.name)
        _fail_undecodable(unreadable.job, f"{deadletter.REASONS[unreadable.reason]} (its entry is in {dead})", by)


def set_aside_unreadable_started(registry: StartedJobRegistry, by: str) -> int:
    """Before rq's cleanup of a started registry (StartedJobRegistry.cleanup, in a worker's
    maintenance): move the entries whose lease has run out that it could not read (a member
    not in rq's form, a job it cannot fetch or decode) to the dead-letter list. One of them
    ends the worker at its start and every maintenance after. Returns how many were moved."""
    entries = started_entries(registry, expired=True)
    moved = 0
    for entry in entries:
        if entry.problem is not None:
            moved += set_aside_entry(registry, entry, Unreadable(entry.problem), by)
    readable = [entry for entry in entries if entry.problem is None]
    jobs = read_jobs(registry.connection, [entry.job_id for entry in readable], serializer=registry.serializer)
    for entry, job in zip(readable, jobs, strict=True):
        if isinstance(job, Unreadable):
            moved += set_aside_entry(registry, entry, job, by)
    return moved


def set_aside_unreadable_scheduled(registry: ScheduledJobRegistry, by: str, now: float | None = None) -> int:
    """Before rq's RQScheduler.enqueue_scheduled_jobs: move the due entries of a scheduled
    registry that it could not read (an id rq refuses, not UTF-8, no job or hash behind it, a
    job it cannot decode) to the dead-letter list. rq fetches them all at once and one of them
    ends the scheduler, every pass after a restart too. Returns how many were moved."""
    conn = registry.connection
    due = cast("list[bytes]", conn.zrangebyscore(registry.key, 0, int(now or time.time()), start=0, num=1000))
    moved = 0
    readable: list[bytes] = []
    for raw in due:
        problem = id_problem(raw)
        if problem is None:
            readable.append(raw)
        else:
            moved += _set_aside_scheduled(registry, raw, Unreadable(problem), by)
    jobs = read_jobs(conn, readable, serializer=registry.serializer)
    for raw, job in zip(readable, jobs, strict=True):
        if isinstance(job, Unreadable):
            moved += _set_aside_scheduled(registry, raw, job, by)
    return moved


def _set_aside_scheduled(registry: ScheduledJobRegistry, raw: bytes, unreadable: Unreadable, by: str) -> bool:
    record = deadletter.entry(registry.name, raw, unreadable.reason, by, deadletter.SCHEDULED)
    dead = keys.DEAD_LETTER.format(queue=registry.name)
    script = registry.connection.register_script(_SET_ASIDE_ENTRY)
    if not script(keys=[registry.key, dead], args=[raw, record, deadletter.KEEP]):
        return False
    deadletter.recorded(registry.connection, registry.name, raw, unreadable.reason, by, deadletter.SCHEDULED)
    if unreadable.job is not None:
        _fail_undecodable(unreadable.job, f"{deadletter.REASONS[unreadable.reason]} (its entry is in {dead})", by)
    return True


def worker_pid_and_host(conn: Redis, worker_name: str) -> tuple[int | None, str | None]:
    """The pid and hostname in a worker's hash (BaseWorker.serialize); (None, None) once the hash
    has expired, when rq itself considers the worker gone, and when the key holds no worker
    that rq writes (not a hash, a pid that is no process id): no live worker has it."""
    try:
        pid, host = conn.hmget(BaseWorker.redis_worker_namespace_prefix + worker_name, "pid", "hostname")
    except ResponseError as error:
        if str(error).startswith("WRONGTYPE"):
            return None, None
        raise
    if pid is None:
        return None, None
    try:
        number = int(pid)
    except ValueError:
        return None, None
    if not 0 < number <= _MAX_PID:
        return None, None
    return number, (host.decode("utf-8", "replace") if isinstance(host, bytes) else host)


def expire_now(registry: StartedJobRegistry, entries: list[StartedEntry], *, by: str) -> list[str]:
    """Hand these started entries to rq's abandoned-job handling now rather than when their
    lease runs out: what StartedJobRegistry.cleanup does to each (the job's Retry, else failed
    with rq's AbandonedJobError text), minus failure callbacks, which wagw never runs. A job
    that cannot be read (read_jobs) goes to the dead-letter list instead, recorded as `by`'s.

    Each entry is claimed first (ZREM) and only a claimed one is handled: rq's cleanup, which
    a worker's maintenance and every registry count or listing also run, reads and retries
    before it removes, so two of them at once would requeue one job twice (a delivery sent
    twice, a message sent twice). Returns the ids of the jobs handled."""
    conn = registry.connection
    with conn.pipeline() as pipe:
        for entry in entries:
            pipe.zrem(registry.key, entry.raw)
        removed = pipe.execute()
    claimed = [entry for entry, gone in zip(entries, removed, strict=True) if gone]
    if not claimed:
        return []
    queue = registry.get_queue()
    handled: list[Job] = []
    failed: list[Job] = []
    jobs = read_jobs(conn, [entry.job_id for entry in claimed], serializer=registry.serializer)
    with conn.pipeline() as pipe:
        for entry, job in zip(claimed, jobs, strict=True):
            if isinstance(job, Unreadable):
                _record_dead(registry, entry, job, by)
                continue
            handled.append(job)
            if job.retries_left and job.retries_left > 0:
                job.retry(queue, pipe)
            else:
                exc_string = f"Moved to FailedJobRegistry, due to AbandonedJobError, at {now()}"
                job.set_status(JobStatus.FAILED, pipeline=pipe)
                job._handle_failure(exc_string, pipe, worker_name="")
                failed.append(job)
        pipe.execute()
    for job in failed:
        queue.enqueue_dependents(job, refresh_job_status=False)
    return [job.id for job in handled]


# ---- the trust boundary (every wagw process; docs/security.md) ----------------------------------


_JOB_FUNC = Job.func  # rq's own property: imports whatever path the job names
_RQ_DEFAULT_SERIALIZER = resolve_serializer(None)  # what rq uses when none is given: pickle
_CALLBACK_NAMES = ("_success_callback_name", "_failure_callback_name", "_stopped_callback_name")


def refusal(job: Job, allowed_paths: frozenset[str]) -> str | None:
    """Why `job` must not run here, or None. Reads only the job's JSON (Job.func_name,
    Job.instance and the callback names Job.restore keeps); imports nothing."""
    name = job.func_name
    if name not in allowed_paths:
        allowed = ", ".join(sorted(allowed_paths)) or "nothing"
        return f"refused job {json.dumps(name)[:120]}: this worker runs only {allowed}"
    if job.instance is not None:
        return f"refused job {name}: a job may not name an instance to call it on"
    named = [attr.strip("_").removesuffix("_name") for attr in _CALLBACK_NAMES if getattr(job, attr, None)]
    if named:
        return f"refused job {name}: a job may not name callbacks ({', '.join(named)})"
    return None


def _refuse_pickle(data: bytes, /) -> Any:
    raise RefusedJob("refused to unpickle data from Redis: wagw reads jobs as JSON only")


def confine_jobs(allowed_paths: frozenset[str]) -> None:
    """From now on, in this process, rq runs only `allowed_paths` and nothing a job names:

    - Job.func refuses (RefusedJob, before any import) a path outside `allowed_paths`, an
      instance, or a job naming a callback; rq's worker then fails the job as usual;
    - the callback properties are always empty, so nothing rq does (a worker's failure path,
      StartedJobRegistry.cleanup in the reaper or a worker, the scheduler) imports or calls one;
    - rq's pickle serializer refuses to load (it is what a Job fetched without a serializer uses).

    Called by each entry point with what that process may run (the wa-worker its operations,
    the webhook worker the delivery job, every other process nothing).
    """

    def func(job: Job) -> Any:
        reason = refusal(job, allowed_paths)
        if reason is not None:
            raise RefusedJob(reason)
        return _JOB_FUNC.__get__(job)

    Job.func = property(func)  # type: ignore[method-assign, assignment]
    for callback in ("success_callback", "failure_callback", "stopped_callback"):
        setattr(Job, callback, property(lambda job: None))
    _RQ_DEFAULT_SERIALIZER.loads = staticmethod(_refuse_pickle)  # type: ignore[method-assign]


# ---- results (wagw.client) ----------------------------------------------------------------------


def results_after(conn: Redis, job_id: str, after: str, block_ms: int) -> list[tuple[str, Result]]:
    """(stream id, Result) for the job's results after stream id `after`, oldest first, waiting
    up to `block_ms` for one: rq keeps them in a Redis stream (Result.get_key), one entry per
    Result.restore."""
    results = []
    for raw_id, payload in read_stream(conn, Result.get_key(job_id), after, block_ms=block_ms):
        result_id = raw_id.decode()
        results.append((result_id, Result.restore(job_id, result_id, payload, connection=conn, serializer=SERIALIZER)))
    return results


async def results_after_async(
    aconn: AsyncRedis, conn: Redis, job_id: str, after: str, block_ms: int
) -> list[tuple[str, Result]]:
    """results_after on an asyncio connection (`aconn`; the HTTP API waits without holding a
    thread); the Results are bound to `conn`, a synchronous client of the same Redis."""
    reply = cast(
        "list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] | None",
        await aconn.xread({Result.get_key(job_id): after}, block=block_ms),
    )
    results = []
    for raw_id, payload in reply[0][1] if reply else []:
        result_id = raw_id.decode()
        results.append((result_id, Result.restore(job_id, result_id, payload, connection=conn, serializer=SERIALIZER)))
    return results


# ---- what a wa job keeps in Redis (the wa worker; docs/security.md) -----------------------------

# The stand-in for a dropped job's arguments: the one keyword argument it is left with.
ARGUMENTS_DROPPED = "arguments_dropped"


def stored_data_bytes(job: Job) -> int:
    """The size of the job's arguments as rq stores them: its `data` field (zlib-compressed
    JSON of the call, Job.to_dict), read without loading it."""
    return int(job.connection.hstrlen(job.key, "data"))


def queue_stored_data_bytes(pipeline: Pipeline, job: Job) -> None:
    """stored_data_bytes(job) as one more reply of `pipeline`."""
    pipeline.hstrlen(job.key, "data")


def stored_bytes(job: Job) -> int:
    """What the job's record takes in Redis, every field included (0 when it is gone); its
    arguments' size where MEMORY is not allowed (an ACL user without it)."""
    from redis.exceptions import ResponseError

    try:
        return int(job.connection.memory_usage(job.key, samples=0) or 0)
    except ResponseError:
        return stored_data_bytes(job)


# A job's arguments replaced by a stand-in in one step: no reader ever finds the record gone
# or without data. HDEL first: a script that has written may go on past maxmemory, so this
# works while Redis is full, and it only shrinks the record.
_REPLACE_ARGUMENTS = """
if redis.call('HDEL', KEYS[1], 'data') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'description', ARGV[2])
return 1
"""


def queue_stored_bytes(pipeline: Pipeline, job: Job) -> None:
    """stored_bytes(job) as one more reply of `pipeline`: an int, or an error where MEMORY is
    not allowed (then ask stored_bytes)."""
    pipeline.memory_usage(job.key, samples=0)


def keep_state(worker: BaseWorker, state: str) -> None:
    """Set the worker's state in memory only, as BaseWorker.set_state does before writing it to
    Redis (its `_state`): for a write that would repeat the one Redis has."""
    worker._state = state


def has_callbacks(job: Job) -> bool:
    """Whether rq runs an on_success or on_failure callback of the job's when it ends (code that
    may write to the job's record between its end and rq's bookkeeping)."""
    return bool(job._success_callback_name or job._failure_callback_name)


def drop_arguments(job: Job, size: int) -> None:
    """Replace the job's stored arguments with {ARGUMENTS_DROPPED: {"bytes": size}} now, in place
    (its function, id, status and the rest stay), and leave the same in `job`, which rq's own
    end-of-job save writes back (Job.save writes Job.to_dict: data, description; meta is not
    saved then)."""
    name = job.func_name
    job.data = job.serializer.dumps((name, None, [], {ARGUMENTS_DROPPED: {"bytes": size}}))
    job.description = f"{name}(arguments dropped: {size} bytes)"
    job.meta = {}
    job.connection.eval(_REPLACE_ARGUMENTS, 1, job.key, zlib.compress(job.data), job.description)


# ---- room for inbound events (wagw.scheduler.shedder) -------------------------------------------


def ended_entries(registry: BaseRegistry, count: int) -> list[tuple[str, float]]:
    """(job id, score) of up to `count` entries of a finished or failed registry, lowest score
    first: rq scores them by when they expire, so with one TTL, the oldest first."""
    entries = cast("list[tuple[bytes, float]]", registry.connection.zrange(registry.key, 0, count - 1, withscores=True))
    return [(job_id.decode(), float(score)) for job_id, score in entries]


def record_bytes(conn: Redis, job_ids: list[str]) -> list[int]:
    """What each job's record and results take in Redis, as Redis counts them (0: gone)."""
    with conn.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.memory_usage(Job.key_for(job_id), samples=0)
            pipe.memory_usage(Result.get_key(job_id), samples=0)
        sizes = pipe.execute(raise_on_error=False)
    counted = [size if isinstance(size, int) else 0 for size in sizes]
    return [record + results for record, results in zip(counted[::2], counted[1::2], strict=True)]


def shed(registry: BaseRegistry, job_ids: list[str]) -> None:
    """Remove these ended jobs for good (the registry entry, the job's record, its results),
    with commands Redis allows even when full."""
    records = [key for job_id in job_ids for key in (Job.key_for(job_id), Result.get_key(job_id))]
    with registry.connection.pipeline(transaction=False) as pipe:
        pipe.zrem(registry.key, *job_ids)
        pipe.delete(*records)
        pipe.execute()
