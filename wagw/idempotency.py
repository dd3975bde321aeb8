"""Idempotency keys: one job per key and account, so that a retried request never sends twice.

An app names a key with `Idempotency-Key` (the HTTP API), `idempotency_key=` (wagw.client and
its `enqueue`), or, enqueueing with plain rq, the job meta `{"idempotency_key": "…"}` (META).
Within WAGW_IDEMPOTENCY_TTL of its first use, a key of one account stands for one job, the
first: a claim in Redis maps the key to that job's id and to a fingerprint of what it does
(the operation and its validated arguments).

- Enqueueing through wagw (the client, the API) claims the key in the same transaction that
  enqueues the job (enqueue_once): a second enqueue with the key gets the first job back,
  its result when it is done; with other arguments it raises IdempotencyConflict.
- The wa-worker claims the key again when it takes the job, after validating its arguments
  (take): that is what makes a plain rq enqueuer's key work, and it is the guard that holds
  whatever enqueued the job. The job holding the claim (a retry keeps its id) runs; any other
  job with the key is a duplicate and never reaches WhatsApp: it ends with the first job's
  result when that one finished, or fails with DuplicateJob naming it (still queued or
  running, failed, or gone), or with IdempotencyConflict when its arguments differ.
- The first outcome stands for the whole TTL, whatever it was (the convention of payment
  APIs): a key whose first job failed fails again; an app that wants a new attempt uses a
  new key. A job refused for bad arguments claims nothing.

What an enqueuer can spoil: the key is at most MAX_KEY_LENGTH printable ASCII characters, and
Redis sees only its SHA-256, under the account's own prefix; a claim that is not one wagw
wrote is replaced, and one naming a job of another account or operation is never answered
with that job's result.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wagw import keys
from wagw.errors import DuplicateJob, IdempotencyConflict, InvalidArguments, exception_line
from wagw.redisconn import SERIALIZER

if TYPE_CHECKING:
    from redis import Redis
    from redis.client import Pipeline
    from rq.job import Job

__all__ = ["META", "DuplicateJob", "IdempotencyConflict", "check_key", "enqueue_once", "fingerprint", "take"]

META = "idempotency_key"  # public: the job meta a plain rq enqueuer sets
MAX_KEY_LENGTH = 255
KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_KEY_LENGTH}}}")  # what an HTTP header value may carry, printable
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
FINGERPRINT = re.compile(r"[0-9a-f]{64}")
ENQUEUE_TRIES = 20  # WATCH conflicts in a row before giving up (each means another enqueue won)

# Claim the key for `ARGV[1]` ("<fingerprint>:<job id>") for ARGV[2] ms, unless it is held;
# a held value equal to ARGV[3] (one that is no claim) is replaced. Returns the holder, or nil.
_TAKE = """
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[3] then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""


@dataclass(frozen=True)
class Claim:
    fingerprint: str
    job_id: str

    def encode(self) -> str:
        return f"{self.fingerprint}:{self.job_id}"

    @classmethod
    def decode(cls, raw: bytes | str | None) -> Claim | None:
        """The claim a value holds, or None when it is not one wagw wrote."""
        if raw is None:
            return None
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
        fp, sep, job_id = text.partition(":")
        if sep and FINGERPRINT.fullmatch(fp) and JOB_ID.fullmatch(job_id):
            return cls(fp, job_id)
        return None


def check_key(key: object) -> str:
    """The key, or InvalidArguments saying what a key may be."""
    if isinstance(key, str) and KEY.fullmatch(key):
        return key
    shown = f"a {type(key).__name__}" if not isinstance(key, str) else f"{len(key)} characters"
    raise InvalidArguments(
        f"invalid idempotency key ({shown}): it must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
    )


def fingerprint(operation: str, arguments: dict[str, Any]) -> str:
    """What the job does: its operation and its validated arguments, as canonical JSON."""
    canonical = json.dumps([operation, arguments], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim_key(account: str, key: str) -> str:
    return keys.IDEMPOTENCY.format(account=account, key=hashlib.sha256(key.encode()).hexdigest())


def _conflict(operation: str, first: str) -> IdempotencyConflict:
    return IdempotencyConflict(
        f"idempotency key conflict: the key was first used for job {first} with other arguments "
        f"(or another operation than {operation}); a key stands for one request: use a new key"
    )


def enqueue_once(
    conn: Redis,
    account: str,
    key: str,
    operation: str,
    arguments: dict[str, Any],
    ttl: int,
    enqueue: Callable[[Pipeline, str], Job],
    job_id: str | None = None,
    *,
    path: str,
    queues: Collection[str],
) -> tuple[Job, bool]:
    """(job, replayed): enqueue through `enqueue(pipeline, job_id)` in one transaction with the
    claim, or, if the key is held, the job holding it (replayed=True). IdempotencyConflict if
    that job's arguments differ; DuplicateJob if its record is gone or it is not a job of
    `path` on the account's `queues`."""
    from redis.exceptions import WatchError

    fp = fingerprint(operation, arguments)
    name = claim_key(account, key)
    for _ in range(ENQUEUE_TRIES):
        with conn.pipeline() as pipe:
            try:
                pipe.watch(name)
                held = Claim.decode(pipe.get(name))
                if held is not None:
                    pipe.unwatch()
                    if held.fingerprint != fp:
                        raise _conflict(operation, held.job_id)
                    return _first_job(conn, held.job_id, operation, path, queues), True
                new_id = job_id or uuid.uuid4().hex
                pipe.multi()
                pipe.set(name, Claim(fp, new_id).encode(), ex=ttl)
                job = enqueue(pipe, new_id)
                pipe.execute()
                return job, False
            except WatchError:
                continue  # another enqueue changed the claim meanwhile: look again
    raise DuplicateJob(f"idempotency key: {ENQUEUE_TRIES} enqueues raced for it; try again")


def _first_job(conn: Redis, job_id: str, operation: str, path: str, queues: Collection[str]) -> Job:
    """The job a claim names, when it is a job of `path` on the account's `queues`: a claim
    written into Redis by hand may name any job, whose result is not this caller's to read."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        first = Job.fetch(job_id, connection=conn, serializer=SERIALIZER)
        ours = first.func_name == path and first.origin in queues
    except NoSuchJobError:
        raise DuplicateJob(_gone(job_id, operation)) from None
    except Exception:  # not JSON (never unpickled), not a job
        ours = False
    if not ours:
        raise DuplicateJob(
            f"duplicate of job {job_id} (same idempotency key), which is not a {operation} job of this account: "
            "not run; use a new key"
        )
    return first


def _gone(job_id: str, operation: str) -> str:
    return (
        f"duplicate of job {job_id} (same idempotency key), whose record is gone: whether its {operation} "
        "happened cannot be told, so it is not run again; use a new key to run it"
    )


def take(
    conn: Redis, account: str, key: str, operation: str, arguments: dict[str, Any], job_id: str, ttl: int
) -> str | None:
    """Claim `key` for the job `job_id` as a wa-worker takes it: None when this job holds it
    (now, or since its enqueue or an earlier attempt), else the id of the job that does.
    IdempotencyConflict when that job's arguments differ."""
    fp = fingerprint(operation, arguments)
    name = claim_key(account, key)
    script = conn.register_script(_TAKE)
    mine = Claim(fp, job_id).encode()
    replaceable: bytes | str = ""
    for _ in range(2):  # a second time only to replace a value that is no claim
        raw = script(keys=[name], args=[mine, ttl * 1000, replaceable])
        if raw is None:
            return None
        held = Claim.decode(raw)
        if held is None:
            replaceable = raw  # as Redis gave it: compared byte for byte
            continue
        if held.job_id == job_id:
            return None  # claimed at enqueue, or by this job's earlier attempt
        if held.fingerprint != fp:
            raise _conflict(operation, held.job_id)
        return held.job_id
    raise DuplicateJob(f"idempotency key: its claim keeps changing under job {job_id}; not run")


def first_outcome(conn: Redis, first_id: str, operation: str, path: str, queues: Collection[str]) -> Any:
    """What a duplicate ends with: the first job's result if it finished, else DuplicateJob
    saying where that job is. Only a job of the same operation on this account's queues counts."""
    from rq.job import JobStatus

    first = _first_job(conn, first_id, operation, path, queues)
    status = first.get_status(refresh=False)
    shown = getattr(status, "value", status)
    if status == JobStatus.FINISHED:
        result = first.latest_result()
        if result is None:
            raise DuplicateJob(_gone(first_id, operation))
        return result.return_value
    if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        result = first.latest_result()
        why = exception_line(result.exc_string or "") if result is not None else ""
        raise DuplicateJob(
            f"duplicate of job {first_id} (same idempotency key), which failed: {why or shown}; "
            "not run again: use a new key to try again"
        )
    raise DuplicateJob(
        f"duplicate of job {first_id} (same idempotency key), which has not ended yet ({shown}): not run; "
        "that job's outcome is the one to wait for"
    )
