"""Typed Python functions for the wa jobs: enqueue one, or call one and wait for its result.

    from wagw import client

    avatar = client.fetch_avatar("+1 555 123 4567", wait=30)        # waits, returns the dict
    job = client.enqueue_send_text("15551234567", "hello")          # returns the rq Job
    sent = client.wait_for(job, timeout=60)

Every function takes `account=` (an account name: its queue `wa.<account>`; without it, the
queue `wa`, which the first account serves) and `connection=` (a redis.Redis); without it, the client connects to the
Redis that wagw's settings name (WAGW_REDIS_URL, else the embedded server's socket in
WAGW_DATA_DIR), once per process.

Arguments are checked here first (the same models the worker uses), so a typo fails in the
caller instead of in the failed registry. Every job is enqueued with its timeout and Retry
set explicitly (the documented defaults unless overridden with job_timeout=/retry=;
retry=False means a single attempt). Other rq options pass through: job_id, meta, at_front,
result_ttl, failure_ttl, description. `resend_on_unknown=True` (sends only) sets the job meta
that lets a send whose outcome is unknown be retried anyway (docs/jobs.md "Send semantics").
`wait=` is how long the caller waits (default: the job's worst case, every attempt and retry
interval, plus a margin).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rq import Queue, Retry
from rq.results import Result

from wagw import keys, operations, rqcompat, serving
from wagw.accounts import check_name, queue_of
from wagw.errors import JobFailed, WaitTimeout
from wagw.errors import exception_line as exception_line  # read by webhook deliveries
from wagw.operations import Operation
from wagw.redisconn import SERIALIZER, connect

if TYPE_CHECKING:
    from redis import Redis
    from rq.job import Job

# Arguments are stored in Redis with the job (until its failure TTL when it fails): the largest
# legitimate one is an image as base64 (wagw.operations.args.MAX_IMAGE_ARG).
MAX_ARGUMENT_BYTES = 24 * 1024 * 1024
WAIT_MARGIN = 5.0  # seconds beyond a job's own worst case before wait_for() gives up
_FINAL_FAILURES = (Result.Type.FAILED, Result.Type.STOPPED, Result.Type.MAX_RETRIES_EXCEEDED)
_RQ_OPTIONS = ("job_timeout", "retry", "job_id", "meta", "at_front", "result_ttl", "failure_ttl", "description")


_connection: Redis | None = None


def default_connection() -> Redis:
    """The Redis named by wagw's settings, connected on first use and reused."""
    global _connection
    if _connection is None:
        from wagw.config import Settings

        _connection = connect(Settings())
    return _connection


def default_retry(operation: str) -> Retry:
    op = operations.get(operation)
    return Retry(max=op.retries, interval=[op.interval] * op.retries)


def enqueue(
    operation: str, /, *args: Any, connection: Redis | None = None, account: str | None = None, **kwargs: Any
) -> Job:
    """Queue `workers.wa.<operation>(*args, **kwargs)` for one account (None: queue `wa`, the
    first account's); rq options go in kwargs too (see module doc)."""
    op = operations.get(operation)
    options = {name: kwargs.pop(name) for name in _RQ_OPTIONS if name in kwargs}
    resend = kwargs.pop(operations.RESEND_ON_UNKNOWN, False)
    args = tuple(_jsonable(value) for value in args)
    kwargs = {name: _jsonable(value) for name, value in kwargs.items()}
    # fake=True accepts the fake backend's crash/hang/fail targets; the worker re-checks strictly.
    operations.validate(operation, args, kwargs, fake=True)
    size = len(SERIALIZER.dumps([args, kwargs]))
    if size > MAX_ARGUMENT_BYTES:
        raise ValueError(f"{operation}: the arguments take {size} bytes; a job carries at most {MAX_ARGUMENT_BYTES}")
    retry = options.pop("retry", None)
    if retry is None:
        retry = default_retry(operation)
    meta = {**(options.pop("meta", None) or {}), "wagw_defaults": False}
    if resend:
        if not op.sends:
            raise ValueError(f"{operation} is not a send: {operations.RESEND_ON_UNKNOWN} does not apply to it")
        meta[operations.RESEND_ON_UNKNOWN] = True
    queue_name = keys.WA_QUEUE if account is None else queue_of(check_name(account))
    connection = connection or default_connection()
    if account is not None:  # a queue no account serves would hold the job forever
        serving.refuse_unserved(connection, account)
    queue = Queue(queue_name, connection=connection, serializer=SERIALIZER)
    return queue.enqueue_call(
        op.path,
        args=args,
        kwargs=kwargs,
        timeout=options.pop("job_timeout", None) or op.timeout,
        retry=retry or None,
        meta=meta,
        **options,
    )


def worst_case(job: Job) -> float:
    """Seconds a job can take with all its attempts, plus retry intervals."""
    attempts = 1 + (job.retries_left or 0)
    intervals = sum((job.retry_intervals or [0])[: attempts - 1]) if attempts > 1 else 0
    return (job.timeout or Queue.DEFAULT_TIMEOUT) * attempts + intervals


def wait_for(job: Job, timeout: float | None = None) -> Any:
    """Block until the job ends; return its result or raise JobFailed / WaitTimeout."""
    if timeout is None:
        timeout = worst_case(job) + WAIT_MARGIN
    deadline = time.monotonic() + timeout
    last_id = "0-0"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(job, timeout)
        # Short blocks: a caller's socket_timeout may be small.
        block_ms = max(1, int(min(remaining, 1.0) * 1000))
        for result_id, result in rqcompat.results_after(job.connection, job.id, last_id, block_ms):
            last_id = result_id
            if result.type == Result.Type.SUCCESSFUL:
                return result.return_value
            if result.type in _FINAL_FAILURES:
                raise JobFailed(job, result.exc_string or "")


def call(
    operation: str, /, *args: Any, wait: float | None = None, connection: Redis | None = None, **kwargs: Any
) -> Any:
    """Enqueue and wait for the result (`wait`: seconds; default: the job's worst case plus a margin)."""
    return wait_for(enqueue(operation, *args, connection=connection, **kwargs), wait)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _typed(op: Operation) -> tuple[Callable[..., Job], Callable[..., Any]]:
    """`enqueue_<name>(...)` and `<name>(..., wait=None)`, with the operation's own signature."""
    # Named so that no job argument (send_poll's `options`) can collide with it.
    options = inspect.Parameter("rq_options", inspect.Parameter.VAR_KEYWORD)
    wait = inspect.Parameter("wait", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="float | None")
    signature = op.signature(options)

    def enqueue_op(*args: Any, **kwargs: Any) -> Job:
        # Every argument goes by name, defaults included: the job shows exactly what it got.
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        return enqueue(op.name, **arguments.pop("rq_options"), **arguments)

    def call_op(*args: Any, wait: float | None = None, **kwargs: Any) -> Any:
        return wait_for(enqueue_op(*args, **kwargs), wait)

    enqueue_op.__name__ = enqueue_op.__qualname__ = f"enqueue_{op.name}"
    enqueue_op.__doc__ = f"Queue {op.path} and return the rq Job. {op.summary}"
    enqueue_op.__signature__ = signature  # type: ignore[attr-defined]
    call_op.__name__ = call_op.__qualname__ = op.name
    call_op.__doc__ = f"Run {op.path} and wait for its result. {op.summary}"
    call_op.__signature__ = op.signature(wait, options)  # type: ignore[attr-defined]
    return enqueue_op, call_op


# Typed one-liners, one pair per operation: enqueue_<name> returns the rq Job; <name> waits and
# returns the result.
for _op in operations.OPERATIONS.values():
    _enqueue_op, _call_op = _typed(_op)
    globals()[_enqueue_op.__name__] = _enqueue_op
    globals()[_call_op.__name__] = _call_op
del _op, _enqueue_op, _call_op
