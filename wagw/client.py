"""Typed Python functions for the wa jobs: enqueue one, or call one and wait for its result.

    from wagw import client

    avatar = client.fetch_avatar("+1 555 123 4567", wait=30)        # waits, returns the dict
    job = client.enqueue_send_text("15551234567", "hello")          # returns the rq Job
    sent = client.wait_for(job, timeout=60)

Every function takes `connection=` (a redis.Redis); without it, the client connects to the
Redis that wagw's settings name (WAGW_REDIS_URL, else the embedded server's socket in
WAGW_DATA_DIR), once per process.

Arguments are checked here first (the same models the worker uses), so a typo fails in the
caller instead of in the failed registry. Every job is enqueued with its timeout and Retry
set explicitly (the documented defaults unless overridden with job_timeout=/retry=;
retry=False means a single attempt). Other rq options pass through: job_id, meta, at_front,
result_ttl, failure_ttl, description. `wait=` is how long the caller waits (default: the
job's worst case, every attempt and retry interval, plus a margin).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rq import Queue, Retry
from rq.results import Result

from wagw import keys
from wagw.redisconn import SERIALIZER, connect
from workers import validation
from workers.wa import DEFAULTS, JOB_PREFIX

if TYPE_CHECKING:
    from redis import Redis
    from rq.job import Job

WAIT_MARGIN = 5.0  # seconds beyond a job's own worst case before wait_for() gives up
_FINAL_FAILURES = (Result.Type.FAILED, Result.Type.STOPPED, Result.Type.MAX_RETRIES_EXCEEDED)
_RQ_OPTIONS = ("job_timeout", "retry", "job_id", "meta", "at_front", "result_ttl", "failure_ttl", "description")


class JobFailed(RuntimeError):
    """The job ended failed; `exc_string` is the worker's traceback (with any panic text)."""

    def __init__(self, job: Job, exc_string: str):
        self.job = job
        self.exc_string = exc_string or ""
        super().__init__(f"job {job.id} ({job.func_name}) failed: {exception_line(self.exc_string) or 'no details'}")


def exception_line(exc_string: str) -> str:
    """'workers.validation.InvalidArguments: invalid …' out of a formatted traceback: the first
    unindented line after the last "Traceback" header (the message may go on for more lines)."""
    lines = exc_string.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    for line in lines[starts[-1] + 1:] if starts else lines:
        if line and not line[0].isspace():
            return line
    return ""


class WaitTimeout(TimeoutError):
    """wait_for() gave up; the job itself may still finish later (see `job`)."""

    def __init__(self, job: Job, timeout: float):
        self.job = job
        super().__init__(f"job {job.id} ({job.func_name}) did not end within {timeout:g} s")


_connection: Redis | None = None


def default_connection() -> Redis:
    """The Redis named by wagw's settings, connected on first use and reused."""
    global _connection
    if _connection is None:
        from wagw.config import Settings

        _connection = connect(Settings())
    return _connection


def default_retry(operation: str) -> Retry:
    defaults = DEFAULTS[operation]
    return Retry(max=defaults.retries, interval=[defaults.interval] * defaults.retries)


def enqueue(operation: str, /, *args: Any, connection: Redis | None = None, **kwargs: Any) -> Job:
    """Queue `workers.wa.<operation>(*args, **kwargs)`; rq options go in kwargs too (see module doc)."""
    if operation not in DEFAULTS:
        raise ValueError(f"unknown wa job {operation!r} (known: {', '.join(DEFAULTS)})")
    options = {name: kwargs.pop(name) for name in _RQ_OPTIONS if name in kwargs}
    # fake=True accepts the fake backend's crash/hang/fail targets; the worker re-checks strictly.
    validation.validate(operation, args, kwargs, fake=True)
    retry = options.pop("retry", None)
    if retry is None:
        retry = default_retry(operation)
    meta = {**(options.pop("meta", None) or {}), "wagw_defaults": False}
    queue = Queue(keys.WA_QUEUE, connection=connection or default_connection(), serializer=SERIALIZER)
    return queue.enqueue_call(
        JOB_PREFIX + operation,
        args=args,
        kwargs=kwargs,
        timeout=options.pop("job_timeout", None) or DEFAULTS[operation].timeout,
        retry=retry or None,
        meta=meta,
        **options,
    )


def worst_case(job: Job) -> float:
    """Seconds a job can take with all its attempts, plus retry intervals."""
    attempts = 1 + (job.retries_left or 0)
    intervals = sum((job.retry_intervals or [0])[:attempts - 1]) if attempts > 1 else 0
    return (job.timeout or Queue.DEFAULT_TIMEOUT) * attempts + intervals


def wait_for(job: Job, timeout: float | None = None) -> Any:
    """Block until the job ends; return its result or raise JobFailed / WaitTimeout."""
    if timeout is None:
        timeout = worst_case(job) + WAIT_MARGIN
    deadline = time.monotonic() + timeout
    conn = job.connection
    stream = Result.get_key(job.id)
    last_id = "0-0"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(job, timeout)
        # Short blocks: a caller's socket_timeout may be small.
        response = conn.xread({stream: last_id}, block=max(1, int(min(remaining, 1.0) * 1000)))
        for result_id, payload in response[0][1] if response else []:
            last_id = result_id
            result = Result.restore(job.id, result_id.decode(), payload, connection=conn, serializer=SERIALIZER)
            if result.type == Result.Type.SUCCESSFUL:
                return result.return_value
            if result.type in _FINAL_FAILURES:
                raise JobFailed(job, result.exc_string or "")


def call(operation: str, /, *args: Any, wait: float | None = None, connection: Redis | None = None,
         **kwargs: Any) -> Any:
    """Enqueue and wait for the result (`wait`: seconds; default: the job's worst case plus a margin)."""
    return wait_for(enqueue(operation, *args, connection=connection, **kwargs), wait)


# Typed one-liners. enqueue_* returns the rq Job; the plain form waits and returns the result.
def enqueue_fetch_avatar(jid: str, preview: bool = False, is_community: bool = False, **options: Any) -> Job:
    return enqueue("fetch_avatar", jid=jid, preview=preview, is_community=is_community, **options)


def fetch_avatar(jid: str, preview: bool = False, is_community: bool = False, *,
                 wait: float | None = None, **options: Any) -> dict:
    """{"jid", "url", "id", "type": "image"|"preview", "direct_path"}"""
    return wait_for(enqueue_fetch_avatar(jid, preview, is_community, **options), wait)


def enqueue_send_text(to: str, text: str, reply_to: str | None = None, **options: Any) -> Job:
    return enqueue("send_text", to=to, text=text, reply_to=reply_to, **options)


def send_text(to: str, text: str, reply_to: str | None = None, *, wait: float | None = None, **options: Any) -> dict:
    """{"id", "timestamp", "to"}"""
    return wait_for(enqueue_send_text(to, text, reply_to, **options), wait)


def enqueue_send_image(to: str, image: str, caption: str | None = None, **options: Any) -> Job:
    return enqueue("send_image", to=to, image=image, caption=caption, **options)


def send_image(to: str, image: str, caption: str | None = None, *, wait: float | None = None,
               **options: Any) -> dict:
    """image: http(s) URL, file path (on the worker's machine) or base64. -> {"id", "timestamp", "to"}"""
    return wait_for(enqueue_send_image(to, image, caption, **options), wait)


def enqueue_user_info(jids: list[str], **options: Any) -> Job:
    return enqueue("user_info", jids=list(jids), **options)


def user_info(jids: list[str], *, wait: float | None = None, **options: Any) -> dict:
    """{"users": [{"jid", "status", "picture_id", "verified_name", "devices"}]}"""
    return wait_for(enqueue_user_info(jids, **options), wait)


def enqueue_is_on_whatsapp(phones: list[str], **options: Any) -> Job:
    return enqueue("is_on_whatsapp", phones=list(phones), **options)


def is_on_whatsapp(phones: list[str], *, wait: float | None = None, **options: Any) -> dict:
    """{"results": [{"query", "jid", "is_on_whatsapp", "verified_name"}]}"""
    return wait_for(enqueue_is_on_whatsapp(phones, **options), wait)


def enqueue_group_info(jid: str, **options: Any) -> Job:
    return enqueue("group_info", jid=jid, **options)


def group_info(jid: str, *, wait: float | None = None, **options: Any) -> dict:
    """{"jid", "name", "topic", "owner", "created", "announce", "locked", "participants"}"""
    return wait_for(enqueue_group_info(jid, **options), wait)


def enqueue_joined_groups(**options: Any) -> Job:
    return enqueue("joined_groups", **options)


def joined_groups(*, wait: float | None = None, **options: Any) -> dict:
    """{"groups": [<group_info>…]}"""
    return wait_for(enqueue_joined_groups(**options), wait)


def enqueue_mark_read(chat: str, ids: list[str], sender: str | None = None, **options: Any) -> Job:
    return enqueue("mark_read", chat=chat, ids=list(ids), sender=sender, **options)


def mark_read(chat: str, ids: list[str], sender: str | None = None, *, wait: float | None = None,
              **options: Any) -> dict:
    """{"chat", "ids", "sender", "receipt_type": "read"}"""
    return wait_for(enqueue_mark_read(chat, ids, sender, **options), wait)
