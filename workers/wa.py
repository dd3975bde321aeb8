"""The public WhatsApp jobs (queue "wa"). Their paths are the contract (SPEC):

    Queue("wa", connection=redis, serializer=JSONSerializer).enqueue(
        "workers.wa.fetch_avatar", jid="15551234567@s.whatsapp.net")

Each job validates its arguments (bad ones fail at once, never retried, never reaching the
host), fails fast while its operation is quarantined, and forwards the call to the native
host owned by the `wagw wa-worker` running it. Results, defaults and errors: docs/jobs.md.
"""

from __future__ import annotations

import base64
import inspect
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from loguru import logger
from redis.exceptions import RedisError
from rq.timeouts import JobTimeoutException

from wagw import metrics, quarantine
from workers import validation
from workers.host_client import HostCrashed

if TYPE_CHECKING:
    from redis import Redis

    from wagw.config import Settings
    from workers.host_client import HostClient

JOB_PREFIX = "workers.wa."


@dataclass(frozen=True)
class JobDefaults:
    """Applied when the enqueuer set no timeout / Retry of its own (docs/jobs.md)."""

    timeout: int  # seconds, the whole job: validation, connect wait and the call
    retries: int  # RQ Retry(max=retries): attempts = retries + 1
    interval: int  # seconds between attempts (needs the scheduler)


DEFAULTS: dict[str, JobDefaults] = {
    "fetch_avatar": JobDefaults(timeout=30, retries=2, interval=2),
    "send_text": JobDefaults(timeout=60, retries=2, interval=5),
    "send_image": JobDefaults(timeout=120, retries=2, interval=5),
    "user_info": JobDefaults(timeout=30, retries=2, interval=2),
    "is_on_whatsapp": JobDefaults(timeout=30, retries=2, interval=2),
    "group_info": JobDefaults(timeout=30, retries=2, interval=2),
    "joined_groups": JobDefaults(timeout=60, retries=2, interval=2),
    "mark_read": JobDefaults(timeout=30, retries=2, interval=2),
}


class JobCounts:
    """wa job metrics added up in memory; the wa-worker writes them every couple of seconds in
    one round trip (a worker killed outright loses that much counting, never a job)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: Counter[tuple[str, str]] = Counter()
        self._seconds: dict[str, list[float]] = defaultdict(list)

    def add(self, operation: str, outcome: str, seconds: float) -> None:
        with self._lock:
            self._outcomes[operation, outcome] += 1
            self._seconds[operation].append(seconds)

    def flush(self, conn: Redis) -> None:
        with self._lock:
            outcomes, self._outcomes = self._outcomes, Counter()
            seconds, self._seconds = self._seconds, defaultdict(list)
        if not outcomes:
            return
        pipe = conn.pipeline(transaction=False)
        for (operation, outcome), count in outcomes.items():
            metrics.incr(pipe, "wa_jobs", count, operation=operation, outcome=outcome)
        for operation, samples in seconds.items():
            for sample in samples:
                metrics.observe(pipe, "wa_job_seconds", sample, operation=operation)
        try:
            pipe.execute()
        except RedisError as error:
            logger.debug("metrics: {} job samples lost: {}", sum(outcomes.values()), error)


@dataclass
class Runtime:
    """What a job needs from the wa-worker running it; bound once at worker start."""

    settings: Settings
    conn: Redis
    host: HostClient
    slot: int
    deadline: float | None = None  # time.monotonic() by which the current job must end
    counts: JobCounts = field(default_factory=JobCounts)
    quarantines: quarantine.Checker = field(init=False)

    def __post_init__(self) -> None:
        self.quarantines = quarantine.Checker(self.conn)

    @property
    def process(self) -> str:
        return f"wa-worker-{self.slot}/host"

    def begin(self, timeout: int | None) -> None:
        self.deadline = time.monotonic() + timeout if timeout and timeout > 0 else None

    def end(self) -> None:
        self.deadline = None


_runtime: Runtime | None = None


def bind(runtime: Runtime | None) -> None:
    """Called by the wa-worker before it takes jobs."""
    global _runtime
    _runtime = runtime


def _current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("workers.wa jobs run only in `wagw wa-worker` (queue 'wa'), not in a plain rq worker")
    return _runtime


def run(operation: str, args: tuple, kwargs: dict[str, Any]) -> Any:
    """Validate, check the quarantine, and execute one job in the native host."""
    started = time.monotonic()
    runtime = _runtime
    outcome = "error"
    try:
        fake = runtime is not None and runtime.settings.backend == "fake"
        params = validation.validate(operation, args, kwargs, fake=fake).model_dump()
        runtime = _current()
        runtime.quarantines.check(operation)
        if operation == "send_image":
            params = _image_params(params, runtime.deadline)
        result = runtime.host.call(operation, params, deadline=runtime.deadline,
                                   connect_wait=runtime.settings.wa_connect_wait)
        outcome = "ok"
        return result
    except HostCrashed as crash:
        outcome = "crashed"
        if crash.native:
            _count_crash(runtime, operation, crash)
        raise
    except BaseException as error:
        outcome = _outcome(error)
        raise
    finally:
        if runtime is not None:
            runtime.counts.add(operation, outcome, time.monotonic() - started)


def _outcome(error: BaseException) -> str:
    if isinstance(error, quarantine.Quarantined):
        return "quarantined"
    if isinstance(error, validation.InvalidArguments):
        return "invalid"
    if isinstance(error, JobTimeoutException):
        return "timeout"
    return "error"


def _count_crash(runtime: Runtime, operation: str, crash: HostCrashed) -> None:
    try:
        engaged = quarantine.record_crash(runtime.conn, runtime.settings, operation,
                                          process=runtime.process, exit=crash.exit, panic=crash.panic)
        metrics.incr(runtime.conn, "native_host_crashes", operation=operation)
        if engaged:
            runtime.quarantines.note(engaged)
            metrics.incr(runtime.conn, "quarantines", operation=operation)
    except RedisError as error:  # the job still fails with the crash; only the count is lost
        logger.error("could not record the native crash of {}: {}", operation, error)


# send_image: URL, path or base64 -> bytes + mimetype ------------------------------------
class ImageDownloadFailed(RuntimeError):
    """The image URL could not be fetched now (network, 5xx): worth a retry."""


def _image_params(params: dict[str, Any], deadline: float | None) -> dict[str, Any]:
    kind, value = validation.image_source(params.pop("image"))
    if kind == "url":
        data = _download(value, deadline)
    elif kind == "path":
        data = validation.read_image_file(value)
    else:
        data = validation.decode_base64(value)
    params["mimetype"] = validation.sniff_image(data)
    params["image_b64"] = base64.b64encode(data).decode()
    return params


def _download(url: str, deadline: float | None) -> bytes:
    budget = 30.0 if deadline is None else max(1.0, min(30.0, deadline - time.monotonic() - 1))
    try:
        with httpx.stream("GET", url, timeout=budget, follow_redirects=True) as response:
            if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                raise validation.InvalidArguments(
                    f"invalid arguments for send_image: image: GET {url} returned HTTP {response.status_code}"
                )
            response.raise_for_status()
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                validation.check_image_size(size)
                chunks.append(chunk)
    except httpx.HTTPError as error:
        raise ImageDownloadFailed(f"downloading the image from {url} failed: {error}") from error
    data = b"".join(chunks)
    validation.check_image_size(len(data))
    logger.debug("downloaded {} bytes from {}", len(data), url)
    return data


# The jobs ---------------------------------------------------------------------------------
def _job(operation: str, doc: str):
    """A job function bound to its argument model.

    It takes *args/**kwargs so that a missing or unknown argument becomes a validation
    failure (no retry) rather than a TypeError at call time (which RQ would retry).
    """
    model = validation.ARGS[operation]

    def job(*args: Any, **kwargs: Any) -> Any:
        return run(operation, args, kwargs)

    job.__name__ = job.__qualname__ = operation
    job.__module__ = __name__
    job.__doc__ = doc
    job.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          default=inspect.Parameter.empty if field.is_required() else field.default,
                          annotation=field.annotation)
        for name, field in model.model_fields.items()
    ])
    return job


fetch_avatar = _job("fetch_avatar", "Profile picture of a user, group or newsletter: {jid, url, id, type, direct_path}.")
send_text = _job("send_text", "Send a text message, optionally replying to a message id: {id, timestamp, to}.")
send_image = _job("send_image", "Send an image (http(s) URL, file path or base64) with a caption: {id, timestamp, to}.")
user_info = _job("user_info", "Status, picture id, verified name and devices of users: {users: [...]}.")
is_on_whatsapp = _job("is_on_whatsapp", "Which phone numbers have WhatsApp: {results: [...]}.")
group_info = _job("group_info", "A group's name, topic, settings and participants.")
joined_groups = _job("joined_groups", "Every group this slot's account is in: {groups: [...]}.")
mark_read = _job("mark_read", "Send read receipts for message ids in a chat: {chat, ids, sender, receipt_type}.")


def operation_of(func_name: str | None) -> str | None:
    """'workers.wa.fetch_avatar' -> 'fetch_avatar' (None for anything else)."""
    if func_name and func_name.startswith(JOB_PREFIX):
        name = func_name[len(JOB_PREFIX):]
        return name if name in DEFAULTS else None
    return None
