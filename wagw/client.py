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
`idempotency_key=` (every function) makes a retried call safe: the same key for the same
account returns the first job instead of a second (docs/jobs.md "Idempotency").
`wait=` is how long the caller waits (default: the job's worst case, every attempt and retry
interval, plus a margin).
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any, Literal

from rq import Queue, Retry
from rq.results import Result

from wagw import idempotency, keys, operations, rqcompat, serving
from wagw.accounts import check_name, queue_of
from wagw.errors import JobFailed, RedisUnreachable, WaitTimeout
from wagw.errors import exception_line as exception_line  # read by webhook deliveries
from wagw.redisconn import SERIALIZER, connect

if TYPE_CHECKING:
    from redis import Redis
    from redis.client import Pipeline
    from rq.job import Job

    from wagw.config import Settings

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
        from redis.exceptions import RedisError

        from wagw.config import Settings, redis_origin

        settings = Settings()
        conn = connect(settings)
        try:
            conn.ping()
        except (RedisError, OSError) as error:
            raise RedisUnreachable(
                f"wagw.client: no Redis at {settings.redis_url_shown} ({error}); that URL is {redis_origin(settings)}. "
                "Is wagw running? Else set "
                "WAGW_REDIS_URL, or WAGW_DATA_DIR to wagw's data dir (/var/lib/wagw under systemd), and check this "
                "user may use its socket (docs/configuration.md, Where the data dir is)"
            ) from None
        _connection = conn
    return _connection


def default_retry(operation: str) -> Retry:
    op = operations.get(operation)
    return Retry(max=op.retries, interval=[op.interval] * op.retries)


def enqueue(
    operation: str,
    /,
    *args: Any,
    connection: Redis | None = None,
    account: str | None = None,
    idempotency_key: str | None = None,
    pipeline: Pipeline | None = None,
    **kwargs: Any,
) -> Job:
    """Queue `workers.wa.<operation>(*args, **kwargs)` for one account (None: queue `wa`, the
    first account's); rq options go in kwargs too (see module doc). With `idempotency_key`, a
    key already used for this account within WAGW_IDEMPOTENCY_TTL returns its first job instead
    (IdempotencyConflict if that one's arguments differ; docs/jobs.md "Idempotency").
    With `pipeline` (not with `idempotency_key`), the job's writes are queued on it, for its
    owner to execute: one round trip for a caller that sends them itself (the HTTP API)."""
    if pipeline is not None and idempotency_key is not None:
        raise ValueError("an idempotent enqueue sends its own commands: give no pipeline with idempotency_key")
    op = operations.get(operation)
    options = {name: kwargs.pop(name) for name in _RQ_OPTIONS if name in kwargs}
    resend = kwargs.pop(operations.RESEND_ON_UNKNOWN, False)
    args = tuple(_jsonable(value) for value in args)
    kwargs = {name: _jsonable(value) for name, value in kwargs.items()}
    # fake=True accepts the fake backend's crash/hang/fail targets; the worker re-checks strictly.
    valid = operations.validate(operation, args, kwargs, fake=True)
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
    if idempotency_key is not None:
        meta[idempotency.META] = idempotency.check_key(idempotency_key)
    queue_name = keys.WA_QUEUE if account is None else queue_of(check_name(account))
    connection = connection or default_connection()
    if account is not None:  # a queue no account serves would hold the job forever
        serving.refuse_unserved(connection, account)
    queue = Queue(queue_name, connection=connection, serializer=SERIALIZER)
    timeout = options.pop("job_timeout", None) or op.timeout

    def put(pipeline: Pipeline | None = None, job_id: str | None = None) -> Job:
        chosen = {**options, "job_id": job_id} if job_id is not None else options
        return queue.enqueue_call(
            op.path,
            args=args,
            kwargs=kwargs,
            timeout=timeout,
            retry=retry or None,
            meta=meta,
            pipeline=pipeline,
            **chosen,
        )

    if idempotency_key is None:
        return put(pipeline)
    settings = _settings()
    first_account = settings.accounts[0]  # the queue `wa` is the first account's
    claimant = account or first_account
    job, _replayed = idempotency.enqueue_once(
        connection,
        claimant,
        idempotency_key,
        operation,
        valid.model_dump(mode="json"),
        settings.idempotency_ttl,
        put,
        job_id=options.pop("job_id", None),
        path=op.path,
        queues=[queue_of(claimant), *([keys.WA_QUEUE] if claimant == first_account else [])],
    )
    return job


@functools.cache
def _settings() -> Settings:
    """wagw's settings as this process sees them (WAGW_IDEMPOTENCY_TTL, WAGW_ACCOUNTS), read once."""
    from wagw.config import Settings

    return Settings()


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


def _enqueue(operation: str, arguments: dict[str, Any]) -> Job:
    """A typed enqueue_<name>'s call: every argument by name, defaults included (the job shows
    exactly what it got), then the rq options."""
    options = arguments.pop("rq_options")
    return enqueue(operation, **options, **arguments)


def _call(operation: str, arguments: dict[str, Any]) -> Any:
    """A typed <name>'s call: enqueue, then wait for the result."""
    wait = arguments.pop("wait")
    return wait_for(_enqueue(operation, arguments), wait)


# Typed functions, one pair per operation: enqueue_<name> returns the rq Job; <name> waits and
# returns the result. They are written from the operation table (wagw.operations) by
# `.venv/bin/python -m tests.unit.test_client_functions`, and that test fails when they are out
# of date: change the table, not them.
# --- generated from the operation table: start ---
def enqueue_fetch_avatar(
    jid: str,
    preview: bool = False,
    is_community: bool = False,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.fetch_avatar and return the rq Job.

    Profile picture of a user, group or newsletter: {jid, url, id, type, direct_path}.
    """
    return _enqueue("fetch_avatar", locals())


def fetch_avatar(
    jid: str,
    preview: bool = False,
    is_community: bool = False,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.fetch_avatar and wait for its result.

    Profile picture of a user, group or newsletter: {jid, url, id, type, direct_path}.
    """
    return _call("fetch_avatar", locals())


def enqueue_send_text(
    to: str,
    text: str,
    reply_to: str | None = None,
    reply_to_sender: str | None = None,
    mentions: list[str] | None = None,
    reply_to_text: str | None = None,
    typing: bool | float | None = None,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.send_text and return the rq Job.

    Send a text message, optionally replying to a message id and mentioning people (only those listed in mentions, never read from the text): {id, timestamp, to}.
    """  # noqa: E501
    return _enqueue("send_text", locals())


def send_text(
    to: str,
    text: str,
    reply_to: str | None = None,
    reply_to_sender: str | None = None,
    mentions: list[str] | None = None,
    reply_to_text: str | None = None,
    typing: bool | float | None = None,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.send_text and wait for its result.

    Send a text message, optionally replying to a message id and mentioning people (only those listed in mentions, never read from the text): {id, timestamp, to}.
    """  # noqa: E501
    return _call("send_text", locals())


def enqueue_send_image(
    to: str,
    image: str,
    caption: str | None = None,
    view_once: bool = False,
    typing: bool | float | None = None,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.send_image and return the rq Job.

    Send an image (http(s) URL, file path or base64) with a caption, optionally view once: {id, timestamp, to}.
    """
    return _enqueue("send_image", locals())


def send_image(
    to: str,
    image: str,
    caption: str | None = None,
    view_once: bool = False,
    typing: bool | float | None = None,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.send_image and wait for its result.

    Send an image (http(s) URL, file path or base64) with a caption, optionally view once: {id, timestamp, to}.
    """
    return _call("send_image", locals())


def enqueue_send_location(
    to: str,
    latitude: float,
    longitude: float,
    name: str | None = None,
    address: str | None = None,
    typing: bool | float | None = None,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.send_location and return the rq Job.

    Send a location pin (latitude, longitude, optional name and address): {id, timestamp, to}.
    """
    return _enqueue("send_location", locals())


def send_location(
    to: str,
    latitude: float,
    longitude: float,
    name: str | None = None,
    address: str | None = None,
    typing: bool | float | None = None,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.send_location and wait for its result.

    Send a location pin (latitude, longitude, optional name and address): {id, timestamp, to}.
    """
    return _call("send_location", locals())


def enqueue_send_contact(
    to: str,
    name: str,
    phone: str,
    typing: bool | float | None = None,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.send_contact and return the rq Job.

    Send a contact card (a name and a phone number): {id, timestamp, to}.
    """
    return _enqueue("send_contact", locals())


def send_contact(
    to: str,
    name: str,
    phone: str,
    typing: bool | float | None = None,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.send_contact and wait for its result.

    Send a contact card (a name and a phone number): {id, timestamp, to}.
    """
    return _call("send_contact", locals())


def enqueue_send_link(
    to: str,
    url: str,
    caption: str | None = None,
    typing: bool | float | None = None,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.send_link and return the rq Job.

    Send an http(s) link as a message, with an optional caption before it: {id, timestamp, to}.
    """
    return _enqueue("send_link", locals())


def send_link(
    to: str,
    url: str,
    caption: str | None = None,
    typing: bool | float | None = None,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.send_link and wait for its result.

    Send an http(s) link as a message, with an optional caption before it: {id, timestamp, to}.
    """
    return _call("send_link", locals())


def enqueue_send_poll(
    to: str,
    question: str,
    options: list[str],
    max_answers: int = 1,
    typing: bool | float | None = None,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.send_poll and return the rq Job.

    Send a poll (a question, 2 to 12 unique options, how many answers a voter may pick): {id, timestamp, to}.
    """
    return _enqueue("send_poll", locals())


def send_poll(
    to: str,
    question: str,
    options: list[str],
    max_answers: int = 1,
    typing: bool | float | None = None,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.send_poll and wait for its result.

    Send a poll (a question, 2 to 12 unique options, how many answers a voter may pick): {id, timestamp, to}.
    """
    return _call("send_poll", locals())


def enqueue_send_file(
    to: str,
    file: str,
    filename: str | None = None,
    caption: str | None = None,
    mimetype: str | None = None,
    typing: bool | float | None = None,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.send_file and return the rq Job.

    Send a document (http(s) URL, file path or base64; up to 100 MB) with a file name and caption: {id, timestamp, to}.
    """
    return _enqueue("send_file", locals())


def send_file(
    to: str,
    file: str,
    filename: str | None = None,
    caption: str | None = None,
    mimetype: str | None = None,
    typing: bool | float | None = None,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.send_file and wait for its result.

    Send a document (http(s) URL, file path or base64; up to 100 MB) with a file name and caption: {id, timestamp, to}.
    """
    return _call("send_file", locals())


def enqueue_send_sticker(
    to: str,
    sticker: str,
    typing: bool | float | None = None,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.send_sticker and return the rq Job.

    Send a static sticker made from an image (JPEG, PNG or WebP up to 1 MB; URL, file path or base64), scaled to fit 512x512: {id, timestamp, to}.
    """  # noqa: E501
    return _enqueue("send_sticker", locals())


def send_sticker(
    to: str,
    sticker: str,
    typing: bool | float | None = None,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.send_sticker and wait for its result.

    Send a static sticker made from an image (JPEG, PNG or WebP up to 1 MB; URL, file path or base64), scaled to fit 512x512: {id, timestamp, to}.
    """  # noqa: E501
    return _call("send_sticker", locals())


def enqueue_send_video(
    to: str,
    video: str,
    caption: str | None = None,
    view_once: bool = False,
    typing: bool | float | None = None,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.send_video and return the rq Job.

    Send an MP4 video (up to 16 MB; URL, file path or base64) with a caption, optionally view once: {id, timestamp, to}.
    """
    return _enqueue("send_video", locals())


def send_video(
    to: str,
    video: str,
    caption: str | None = None,
    view_once: bool = False,
    typing: bool | float | None = None,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.send_video and wait for its result.

    Send an MP4 video (up to 16 MB; URL, file path or base64) with a caption, optionally view once: {id, timestamp, to}.
    """
    return _call("send_video", locals())


def enqueue_send_audio(
    to: str,
    audio: str,
    ptt: bool = False,
    typing: bool | float | None = None,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.send_audio and return the rq Job.

    Send audio (Ogg Opus, MP3 or M4A up to 16 MB; URL, file path or base64), or a voice note with ptt=true (Ogg Opus): {id, timestamp, to}.
    """  # noqa: E501
    return _enqueue("send_audio", locals())


def send_audio(
    to: str,
    audio: str,
    ptt: bool = False,
    typing: bool | float | None = None,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.send_audio and wait for its result.

    Send audio (Ogg Opus, MP3 or M4A up to 16 MB; URL, file path or base64), or a voice note with ptt=true (Ogg Opus): {id, timestamp, to}.
    """  # noqa: E501
    return _call("send_audio", locals())


def enqueue_user_info(
    jids: list[str],
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.user_info and return the rq Job.

    Status, picture id, verified name and devices of users: {users: [...]}.
    """
    return _enqueue("user_info", locals())


def user_info(
    jids: list[str],
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.user_info and wait for its result.

    Status, picture id, verified name and devices of users: {users: [...]}.
    """
    return _call("user_info", locals())


def enqueue_is_on_whatsapp(
    phones: list[str],
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.is_on_whatsapp and return the rq Job.

    Which phone numbers have WhatsApp: {results: [...]}.
    """
    return _enqueue("is_on_whatsapp", locals())


def is_on_whatsapp(
    phones: list[str],
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.is_on_whatsapp and wait for its result.

    Which phone numbers have WhatsApp: {results: [...]}.
    """
    return _call("is_on_whatsapp", locals())


def enqueue_group_info(
    jid: str,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.group_info and return the rq Job.

    A group's name, topic, settings and participants.
    """
    return _enqueue("group_info", locals())


def group_info(
    jid: str,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.group_info and wait for its result.

    A group's name, topic, settings and participants.
    """
    return _call("group_info", locals())


def enqueue_joined_groups(
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.joined_groups and return the rq Job.

    Every group this slot's account is in: {groups: [...]}.
    """
    return _enqueue("joined_groups", locals())


def joined_groups(
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.joined_groups and wait for its result.

    Every group this slot's account is in: {groups: [...]}.
    """
    return _call("joined_groups", locals())


def enqueue_leave_group(
    jid: str,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.leave_group and return the rq Job.

    Leave a group (this slot's account stops being a participant): {jid, left}.
    """
    return _enqueue("leave_group", locals())


def leave_group(
    jid: str,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.leave_group and wait for its result.

    Leave a group (this slot's account stops being a participant): {jid, left}.
    """
    return _call("leave_group", locals())


def enqueue_set_group_name(
    jid: str,
    name: str,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.set_group_name and return the rq Job.

    Rename a group (announced to its members): {jid, name}.
    """
    return _enqueue("set_group_name", locals())


def set_group_name(
    jid: str,
    name: str,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.set_group_name and wait for its result.

    Rename a group (announced to its members): {jid, name}.
    """
    return _call("set_group_name", locals())


def enqueue_set_group_topic(
    jid: str,
    topic: str,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.set_group_topic and return the rq Job.

    Set or remove ("") a group's topic, its description (announced to its members): {jid, topic}.
    """
    return _enqueue("set_group_topic", locals())


def set_group_topic(
    jid: str,
    topic: str,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.set_group_topic and wait for its result.

    Set or remove ("") a group's topic, its description (announced to its members): {jid, topic}.
    """
    return _call("set_group_topic", locals())


def enqueue_set_group_locked(
    jid: str,
    locked: bool,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.set_group_locked and return the rq Job.

    Lock a group's info (only admins may edit it) or unlock it: {jid, locked}.
    """
    return _enqueue("set_group_locked", locals())


def set_group_locked(
    jid: str,
    locked: bool,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.set_group_locked and wait for its result.

    Lock a group's info (only admins may edit it) or unlock it: {jid, locked}.
    """
    return _call("set_group_locked", locals())


def enqueue_set_group_announce(
    jid: str,
    announce: bool,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.set_group_announce and return the rq Job.

    Make a group announcement-only (only admins may send) or open it again: {jid, announce}.
    """
    return _enqueue("set_group_announce", locals())


def set_group_announce(
    jid: str,
    announce: bool,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.set_group_announce and wait for its result.

    Make a group announcement-only (only admins may send) or open it again: {jid, announce}.
    """
    return _call("set_group_announce", locals())


def enqueue_group_invite_link(
    jid: str,
    reset: bool = False,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.group_invite_link and return the rq Job.

    A group's invite link; reset=True revokes it and makes a new one: {jid, link, reset}.
    """
    return _enqueue("group_invite_link", locals())


def group_invite_link(
    jid: str,
    reset: bool = False,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.group_invite_link and wait for its result.

    A group's invite link; reset=True revokes it and makes a new one: {jid, link, reset}.
    """
    return _call("group_invite_link", locals())


def enqueue_group_requests(
    jid: str,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.group_requests and return the rq Job.

    Pending requests to join a group (needs admin approval): {jid, requests: [{jid, requested_at}]}.
    """
    return _enqueue("group_requests", locals())


def group_requests(
    jid: str,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.group_requests and wait for its result.

    Pending requests to join a group (needs admin approval): {jid, requests: [{jid, requested_at}]}.
    """
    return _call("group_requests", locals())


def enqueue_create_group(
    name: str,
    participants: list[str],
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.create_group and return the rq Job.

    Create a group with these participants (this account its admin): the new group's group_info.
    """
    return _enqueue("create_group", locals())


def create_group(
    name: str,
    participants: list[str],
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.create_group and wait for its result.

    Create a group with these participants (this account its admin): the new group's group_info.
    """
    return _call("create_group", locals())


def enqueue_group_participants(
    jid: str,
    action: Literal["add", "remove", "promote", "demote"],
    participants: list[str],
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.group_participants and return the rq Job.

    Add, remove, promote or demote participants of a group: {jid, action, participants: [...]}.
    """
    return _enqueue("group_participants", locals())


def group_participants(
    jid: str,
    action: Literal["add", "remove", "promote", "demote"],
    participants: list[str],
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.group_participants and wait for its result.

    Add, remove, promote or demote participants of a group: {jid, action, participants: [...]}.
    """
    return _call("group_participants", locals())


def enqueue_join_group(
    link: str,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.join_group and return the rq Job.

    Join a group through its invite link or code: {jid} of the group joined (or asked to join).
    """
    return _enqueue("join_group", locals())


def join_group(
    link: str,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.join_group and wait for its result.

    Join a group through its invite link or code: {jid} of the group joined (or asked to join).
    """
    return _call("join_group", locals())


def enqueue_group_info_from_link(
    link: str,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.group_info_from_link and return the rq Job.

    A group's group_info from its invite link or code, without joining it.
    """
    return _enqueue("group_info_from_link", locals())


def group_info_from_link(
    link: str,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.group_info_from_link and wait for its result.

    A group's group_info from its invite link or code, without joining it.
    """
    return _call("group_info_from_link", locals())


def enqueue_set_group_photo(
    jid: str,
    image: str,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.set_group_photo and return the rq Job.

    Set a group's photo (http(s) URL, file path or base64; announced to its members): {jid, picture_id}.
    """
    return _enqueue("set_group_photo", locals())


def set_group_photo(
    jid: str,
    image: str,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.set_group_photo and wait for its result.

    Set a group's photo (http(s) URL, file path or base64; announced to its members): {jid, picture_id}.
    """
    return _call("set_group_photo", locals())


def enqueue_download_media(
    media: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.download_media and return the rq Job.

    Download, decrypt and verify an inbound message's media (the event's `media` object) into WAGW_MEDIA_DIR: {path, mimetype, size, sha256}.
    """  # noqa: E501
    return _enqueue("download_media", locals())


def download_media(
    media: dict[str, Any],
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.download_media and wait for its result.

    Download, decrypt and verify an inbound message's media (the event's `media` object) into WAGW_MEDIA_DIR: {path, mimetype, size, sha256}.
    """  # noqa: E501
    return _call("download_media", locals())


def enqueue_mark_read(
    chat: str,
    ids: list[str],
    sender: str | None = None,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.mark_read and return the rq Job.

    Send read receipts for message ids in a chat: {chat, ids, sender, receipt_type}.
    """
    return _enqueue("mark_read", locals())


def mark_read(
    chat: str,
    ids: list[str],
    sender: str | None = None,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.mark_read and wait for its result.

    Send read receipts for message ids in a chat: {chat, ids, sender, receipt_type}.
    """
    return _call("mark_read", locals())


def enqueue_my_privacy(
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.my_privacy and return the rq Job.

    This account's privacy settings: {group_add, last_seen, status, profile, read_receipts, call_add, online}.
    """
    return _enqueue("my_privacy", locals())


def my_privacy(
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.my_privacy and wait for its result.

    This account's privacy settings: {group_add, last_seen, status, profile, read_receipts, call_add, online}.
    """
    return _call("my_privacy", locals())


def enqueue_contacts(
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.contacts and return the rq Job.

    The contacts this slot's device holds (synced from the phone): {contacts: [{jid, name, first_name, full_name, push_name, business_name}]}.
    """  # noqa: E501
    return _enqueue("contacts", locals())


def contacts(
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.contacts and wait for its result.

    The contacts this slot's device holds (synced from the phone): {contacts: [{jid, name, first_name, full_name, push_name, business_name}]}.
    """  # noqa: E501
    return _call("contacts", locals())


def enqueue_react(
    chat: str,
    message_id: str,
    emoji: str,
    sender: str | None = None,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.react and return the rq Job.

    React to a message with an emoji (empty emoji removes the reaction): {id, timestamp, chat, message_id, emoji}.
    """
    return _enqueue("react", locals())


def react(
    chat: str,
    message_id: str,
    emoji: str,
    sender: str | None = None,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.react and wait for its result.

    React to a message with an emoji (empty emoji removes the reaction): {id, timestamp, chat, message_id, emoji}.
    """
    return _call("react", locals())


def enqueue_revoke(
    chat: str,
    message_id: str,
    sender: str | None = None,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.revoke and return the rq Job.

    Delete a message for everyone (this account's own, or a member's as a group admin): {id, timestamp, chat, message_id, sender}.
    """  # noqa: E501
    return _enqueue("revoke", locals())


def revoke(
    chat: str,
    message_id: str,
    sender: str | None = None,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.revoke and wait for its result.

    Delete a message for everyone (this account's own, or a member's as a group admin): {id, timestamp, chat, message_id, sender}.
    """  # noqa: E501
    return _call("revoke", locals())


def enqueue_edit_message(
    chat: str,
    message_id: str,
    text: str,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.edit_message and return the rq Job.

    Replace the text of a message this account sent: {id, timestamp, chat, message_id, text}.
    """
    return _enqueue("edit_message", locals())


def edit_message(
    chat: str,
    message_id: str,
    text: str,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.edit_message and wait for its result.

    Replace the text of a message this account sent: {id, timestamp, chat, message_id, text}.
    """
    return _call("edit_message", locals())


def enqueue_send_presence(
    presence: Literal["available", "unavailable"],
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.send_presence and return the rq Job.

    Show this account as online (available) or offline (unavailable) to its contacts: {presence}.
    """
    return _enqueue("send_presence", locals())


def send_presence(
    presence: Literal["available", "unavailable"],
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.send_presence and wait for its result.

    Show this account as online (available) or offline (unavailable) to its contacts: {presence}.
    """
    return _call("send_presence", locals())


def enqueue_send_chat_presence(
    chat: str,
    state: Literal["composing", "recording", "paused"],
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.send_chat_presence and return the rq Job.

    Show typing (composing), recording audio (recording) or stop (paused) in a chat: {chat, state}.
    """
    return _enqueue("send_chat_presence", locals())


def send_chat_presence(
    chat: str,
    state: Literal["composing", "recording", "paused"],
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.send_chat_presence and wait for its result.

    Show typing (composing), recording audio (recording) or stop (paused) in a chat: {chat, state}.
    """
    return _call("send_chat_presence", locals())


def enqueue_set_disappearing(
    chat: str,
    seconds: int,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.set_disappearing and return the rq Job.

    Set a chat's disappearing-messages timer (0 off, 86400, 604800 or 7776000 seconds): {chat, seconds}.
    """
    return _enqueue("set_disappearing", locals())


def set_disappearing(
    chat: str,
    seconds: int,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.set_disappearing and wait for its result.

    Set a chat's disappearing-messages timer (0 off, 86400, 604800 or 7776000 seconds): {chat, seconds}.
    """
    return _call("set_disappearing", locals())


def enqueue_reject_call(
    call_id: str,
    caller: str,
    *,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Job:
    """Queue workers.wa.reject_call and return the rq Job.

    Decline an incoming call (a call.offer event's call_id and from): {call_id, caller}.
    """
    return _enqueue("reject_call", locals())


def reject_call(
    call_id: str,
    caller: str,
    *,
    wait: float | None = None,
    idempotency_key: str | None = None,
    **rq_options: Any,
) -> Any:
    """Run workers.wa.reject_call and wait for its result.

    Decline an incoming call (a call.offer event's call_id and from): {call_id, caller}.
    """
    return _call("reject_call", locals())


# --- generated from the operation table: end ---
