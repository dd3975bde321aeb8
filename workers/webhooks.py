"""Webhook delivery jobs (queue "webhooks"): one `deliver(url, event_id, body)` job per event
and endpoint.

The session enqueues them (`enqueue_deliveries`, inside its own MULTI/EXEC). wagw's webhook
workers (workers/webhook_worker.py) run them in batches, many at a time; `deliver` itself also
works under any stock RQ worker, with the same signing, retry classes, backoff and dead-letter
behaviour (docs/webhooks.md).

Per job, in RQ's own fields: `retries_left` is the retry budget (set from the schedule at
enqueue, so RQ's abandoned-job handling retries a delivery whose worker died), `meta` keeps
`attempts`, `last_status` and `last_error` (shown by rq-dashboard and `wagw status`).
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from typing import TYPE_CHECKING
from uuid import uuid4

from loguru import logger
from rq import Queue, Retry, get_current_job
from rq.job import Job, JobStatus
from rq.utils import now, utcformat

from wagw import keys
from wagw.redisconn import SERIALIZER
from workers.signing import delivery_headers
from workers.webhook_http import WebhookHttp, redact
from workers.webhook_policy import Outcome, Verdict, retry_delay

if TYPE_CHECKING:
    from redis.client import Pipeline

    from wagw.config import Settings

DELIVER = "workers.webhooks.deliver"
# Finished deliveries stay visible (rq-dashboard "finished") this long; at a sustained
# 1,000 events/s that is ~300 MB of job hashes at most, at ordinary rates a few MB.
DELIVERED_TTL = 300
# Failed deliveries wait for `wagw webhooks replay` (RQ's own default: a year).
FAILED_TTL = 365 * 24 * 3600


class DeliveryError(Exception):
    """A delivery attempt that did not get a 2xx."""


class DeliveryRetry(DeliveryError):
    """Will be tried again (stock RQ workers: RQ reschedules it)."""


class DeliveryFailed(DeliveryError):
    """Gave up: a non-retryable answer, or the retries ran out. Stays in the failed registry."""


# ---- enqueue (runs in the session process) ------------------------------------------------------


def wants(settings: Settings, event_name: str) -> bool:
    # Event names are matched case-insensitively, as go-whatsapp-web-multidevice does.
    return not settings.webhook_events or event_name.lower() in {e.lower() for e in settings.webhook_events}


def rq_retry(settings: Settings) -> Retry:
    steps = [max(1, math.ceil(step)) for step in settings.retry_intervals]
    return Retry(max=len(steps), interval=steps)


def job_timeout(settings: Settings) -> int:
    return math.ceil(settings.webhook_connect_timeout + settings.webhook_timeout) + 30


def enqueue_deliveries(pipe: Pipeline, settings: Settings, event_id: str, event_name: str, body: str) -> int:
    """Queue one deliver job per configured endpoint on `pipe` (the caller executes it).

    Writes exactly what rq's `Queue.enqueue_many` writes for these jobs (the job hash, the
    queue list, the set of queues; tests/unit/test_webhook_enqueue.py compares the two), but
    builds it directly: this runs on the session's event thread, once per event, where rq's
    generic path costs several times more.
    """
    if not settings.webhook_urls or not wants(settings, event_name):
        return 0
    queue_key = Queue.redis_queue_namespace_prefix + keys.WEBHOOKS_QUEUE
    pipe.sadd(Queue.redis_queues_keys, queue_key)
    fixed = _fixed_fields(settings)
    stamp = utcformat(now())
    for url in settings.webhook_urls:
        job_id = str(uuid4())
        data = zlib.compress(SERIALIZER.dumps((DELIVER, None, (url, event_id, body), {})))
        pipe.hset(Job.redis_job_namespace_prefix + job_id, mapping={
            **fixed,
            "created_at": stamp,
            "enqueued_at": stamp,
            "data": data,
            "description": f"{event_name} {event_id} -> {redact(url)}",
        })
        pipe.rpush(queue_key, job_id)
    return len(settings.webhook_urls)


_fixed: tuple[tuple, dict] | None = None


def _fixed_fields(settings: Settings) -> dict:
    """The job-hash fields that are the same for every delivery job (for these settings)."""
    global _fixed
    basis = (tuple(settings.webhook_retry_schedule), settings.webhook_connect_timeout, settings.webhook_timeout)
    if _fixed is None or _fixed[0] != basis:
        retry = rq_retry(settings)
        _fixed = (basis, {
            "status": JobStatus.QUEUED.value,
            "success_callback_name": "", "failure_callback_name": "", "stopped_callback_name": "",
            "started_at": "", "ended_at": "", "last_heartbeat": "", "worker_name": "", "group_id": "",
            "retries_left": retry.max,
            "retry_intervals": json.dumps(retry.intervals),
            "origin": keys.WEBHOOKS_QUEUE,
            "timeout": job_timeout(settings),
            "result_ttl": DELIVERED_TTL,
            "failure_ttl": FAILED_TTL,
        })
    return _fixed[1]


# ---- shared by both workers ----------------------------------------------------------------------


class DeliveryContext:
    """What a delivering process holds: settings, the secret, and its one HTTP client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        self.secret = secret.encode()
        self.schedule = settings.retry_intervals
        self.http = WebhookHttp(settings.webhook_connect_timeout, settings.webhook_timeout)

    def attempt(self, url: str, event_id: str, body: str, attempt: int) -> Outcome:
        raw = body.encode("utf-8")
        return self.http.post(url, raw, delivery_headers(self.secret, raw, event_id, attempt))

    def close(self) -> None:
        self.http.close()


_context: DeliveryContext | None = None


def configure(settings: Settings) -> DeliveryContext:
    """Set this process's delivery context (the webhook worker does it at start)."""
    global _context
    if _context is not None:
        _context.close()
    _context = DeliveryContext(settings)
    return _context


def context() -> DeliveryContext:
    # Under a stock `rq worker` nobody called configure(): build settings from the
    # environment at the first job, as the `wagw` entry point would.
    if _context is None:
        from wagw.config import load_settings

        return configure(load_settings())
    return _context


def delivered_key(url: str, event_id: str) -> str:
    """Marks (event, endpoint) as delivered, so the same event never gets a second 2xx there."""
    endpoint = hashlib.sha256(url.encode()).hexdigest()[:16]
    return keys.WEBHOOK_DELIVERED.format(endpoint=endpoint, event_id=event_id)


def attempt_number(job: Job | None) -> int:
    """1-based number of the attempt about to be made; keeps rising across replays."""
    return int(job.meta.get("attempts", 0)) + 1 if job is not None else 1


def note_attempt(job: Job, outcome: Outcome, attempt: int) -> None:
    """Record an unsuccessful attempt in the job's meta (saved by the caller)."""
    job.meta["attempts"] = attempt
    job.meta["last_status"] = outcome.status
    job.meta["last_error"] = outcome.error or outcome.snippet or None


def failure_message(url: str, event_id: str, outcome: Outcome, attempt: int, why: str) -> str:
    plural = "s" if attempt != 1 else ""
    text = f"{outcome.describe()} from {redact(url)} for event {event_id}, {why} after {attempt} attempt{plural}"
    if outcome.snippet:
        text += f"; response: {outcome.snippet}"
    return text


def result_value(outcome: Outcome, attempt: int) -> dict:
    return {"status": outcome.status, "attempt": attempt, "latency_ms": round(outcome.latency * 1000, 1)}


def log_attempt(url: str, event_id: str, attempt: int, outcome: Outcome, what: str) -> None:
    line = "webhook {} -> {} attempt {}: {}: {}"
    if outcome.verdict is Verdict.DELIVERED:
        logger.info(line, event_id, redact(url), attempt, outcome.describe(), what)
    else:
        logger.warning(line, event_id, redact(url), attempt, outcome.describe(), what)


# ---- the job function -----------------------------------------------------------------------------


def deliver(url: str, event_id: str, body: str) -> dict:
    """POST the event body to one endpoint, signed. Under a stock RQ worker: a retryable
    failure raises DeliveryRetry with the job's next interval set to the jittered backoff
    (or Retry-After); a final one raises DeliveryFailed with the retries set to zero."""
    ctx = context()
    job = get_current_job()
    attempt = attempt_number(job)
    marker = delivered_key(url, event_id)
    if job is not None and job.connection.exists(marker):
        logger.info("webhook {} -> {}: already delivered, not sent again", event_id, redact(url))
        return {"duplicate": True, "attempt": attempt}
    outcome = ctx.attempt(url, event_id, body, attempt)
    verdict = outcome.verdict
    if verdict is Verdict.DELIVERED:
        if job is not None:
            job.connection.set(marker, job.id, ex=ctx.settings.dedup_ttl)
        log_attempt(url, event_id, attempt, outcome, "delivered")
        return result_value(outcome, attempt)
    retries_left = (job.retries_left or 0) if job is not None else 0
    if job is not None:
        note_attempt(job, outcome, attempt)
    if verdict is Verdict.RETRY and retries_left > 0:
        delay = retry_delay(ctx.schedule, attempt, outcome.retry_after)
        # RQ adds the interval to now and truncates to the second: one more second keeps
        # "not before `delay`" true.
        job.retry_intervals = [math.ceil(delay) + 1]
        log_attempt(url, event_id, attempt, outcome, f"retry in {delay:.1f} s")
        raise DeliveryRetry(failure_message(url, event_id, outcome, attempt, "will retry"))
    why = "retries exhausted" if verdict is Verdict.RETRY else "not retryable"
    if job is not None:
        job.retries_left = 0
        job.save_meta()  # RQ's failure path does not save meta
    log_attempt(url, event_id, attempt, outcome, f"failed ({why})")
    raise DeliveryFailed(failure_message(url, event_id, outcome, attempt, why))
