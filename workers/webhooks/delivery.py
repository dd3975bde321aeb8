"""Webhook delivery jobs (queue "webhooks"): one `deliver(endpoint_id, event_id, body)` job per
event and endpoint.

The session enqueues them (`enqueue_deliveries`, inside its own MULTI/EXEC). wagw's webhook
workers (workers/webhooks/worker.py) run them in batches, many at a time; `deliver` itself also
works under any stock RQ worker, with the same signing, retry classes, backoff and dead-letter
behaviour (docs/webhooks.md).

Per job, in RQ's own fields: `retries_left` is the retry budget (set from the schedule at
enqueue, so RQ's abandoned-job handling retries a delivery whose worker died), `meta` keeps
`attempts`, `last_status` and `last_error` (shown by rq-dashboard and `wagw status`).

A job names its endpoint; the endpoint's URL comes from this process's own configuration
(wagw/webhooks/endpoints.py). A job naming no configured endpoint fails at once: nothing is
signed, nothing is sent.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loguru import logger
from rq import get_current_job

from wagw import keys, rqcompat
from wagw.accounts import check_name
from wagw.errors import DeliveryFailed, DeliveryRetry
from wagw.webhooks import lifetime
from wagw.webhooks.endpoints import Endpoint, account_endpoints, configured_endpoints, shown_reference
from wagw.webhooks.signing import delivery_headers, open_seal
from workers.webhooks import media
from workers.webhooks.http import WebhookHttp
from workers.webhooks.policy import Outcome, Verdict, retry_delay

if TYPE_CHECKING:
    from redis.client import Pipeline
    from rq.job import Job

    from wagw.config import Settings


class RefusedDelivery(ValueError):
    """A job this worker will not sign or send: it names no configured endpoint, or the
    session's seal over its arguments is missing, wrong or too old."""


@dataclass(frozen=True)
class Admitted:
    """A delivery job's arguments, checked: what the seal covers, and until when it may be sent."""

    endpoint: Endpoint
    event_id: str
    body: str
    download: str | None  # the download_media job the body follows (WAGW_MEDIA_AUTO_DOWNLOAD)
    expires_at: float  # unix time: the seal's age limit (wagw/webhooks/lifetime.py)
    replay: bool = False  # a stored event sent again (`wagw events replay`): X-Wagw-Replay


# ---- shared by both workers ----------------------------------------------------------------------


class DeliveryContext:
    """What a delivering process holds: settings, the secret, and its one HTTP client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.schedule = settings.retry_intervals
        self.endpoints = configured_endpoints(settings)
        self.http = WebhookHttp(settings.webhook_connect_timeout, settings.webhook_timeout)
        # Recorded at the first start after an upgrade: how long older (v1) seals are accepted.
        self.timed_seals_since = lifetime.timed_seals_since(settings.data_dir)
        self.seal_lifetime = lifetime.seal_lifetime(settings)  # settings do not change: once

    def admit(self, args: object, now: float | None = None) -> Admitted:
        """The checked arguments of a delivery job, or RefusedDelivery: before anything is
        signed or sent, and before a lane exists for it."""
        if not isinstance(args, list | tuple) or len(args) not in (4, 5) or args[3] is None:
            raise RefusedDelivery(
                "not a sealed delivery job (endpoint_id, event_id, body, seal): forged, or queued by a wagw "
                "older than the seal; its event is still in the event log. Nothing sent, not retrying"
            )
        reference, event_id, body, given = args[:4]
        download = args[4] if len(args) == 5 else None
        endpoint = self.endpoint(reference, body)
        if not isinstance(event_id, str) or not isinstance(body, str) or not isinstance(download, str | None):
            raise RefusedDelivery("deliver takes (endpoint_id, event_id, body, seal) as strings: nothing sent")
        seal = open_seal(endpoint.seal_key, endpoint.id, event_id, body, given, download)
        if seal is None:
            raise RefusedDelivery(
                f"the seal of this delivery to {endpoint.shown} does not match its arguments: not made by the "
                "session (forged or altered). Nothing sent, not retrying"
            )
        expiry = lifetime.expires_at(self.settings, seal, self.timed_seals_since, self.seal_lifetime)
        if (too_old := lifetime.refusal(seal, expiry, now)) is not None:
            raise RefusedDelivery(f"this delivery to {endpoint.shown} was {too_old}. Nothing sent, not retrying")
        return Admitted(endpoint, event_id, body, download, expiry, seal.replay)

    def endpoint(self, reference: object, body: object = None) -> Endpoint:
        """The configured endpoint a job names (its first argument); RefusedDelivery if none."""
        found = self.endpoints.get(reference) if isinstance(reference, str) else None
        if found is None and isinstance(reference, str):
            # An account added while this worker runs (`wagw accounts add`) has new endpoints.
            self.endpoints = configured_endpoints(self.settings)
            found = self.endpoints.get(reference) or self._added_elsewhere(reference, body)
        if found is None:
            raise RefusedDelivery(
                f"unknown endpoint {shown_reference(self.settings, reference)!r} (not in this worker's "
                "WAGW_WEBHOOK_URLS): nothing sent, not retrying"
            )
        return found

    def _added_elsewhere(self, reference: str, body: object) -> Endpoint | None:
        """An endpoint of an account added with `wagw accounts add` on another host sharing
        this Redis: not in this host's accounts, so it has the global URLs and secret. The
        body only suggests the account; the seal, checked next with that secret, decides."""
        if not isinstance(body, str):
            return None
        try:
            account = json.loads(body).get("account")
            check_name(account)
        except (ValueError, AttributeError, TypeError):
            return None
        return account_endpoints(self.settings, account).get(reference)

    def attempt(self, endpoint: Endpoint, event_id: str, body: str, attempt: int, *, replay: bool = False) -> Outcome:
        raw = body.encode("utf-8")
        headers = delivery_headers(endpoint.secret, raw, event_id, attempt, account=endpoint.account, replay=replay)
        if (authorization := endpoint.authorization()) is not None:
            headers["Authorization"] = authorization
        return self.http.post(endpoint.url, raw, headers)

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


def delivered_key(endpoint: Endpoint, event_id: str) -> str:
    """Marks (event, endpoint) as delivered, so the same event never gets a second 2xx there."""
    return keys.WEBHOOK_DELIVERED.format(endpoint=endpoint.id, event_id=event_id)


def attempts_key(endpoint: Endpoint, event_id: str) -> str:
    """Counts (event, endpoint)'s attempts without a 2xx, whichever job made them."""
    return keys.WEBHOOK_ATTEMPTS.format(endpoint=endpoint.id, event_id=event_id)


def attempt_number(job: Job | None, recorded: object = None) -> int:
    """1-based number of the attempt about to be made: after the job's own attempts and after
    every attempt recorded for its (endpoint, event), so it keeps rising across replays and
    across copies of the job enqueued again (never 1 again)."""
    own = int(job.meta.get("attempts", 0)) if job is not None else 0
    try:
        counted = int(recorded) if recorded is not None else 0  # type: ignore[call-overload]
    except (TypeError, ValueError):
        counted = 0
    return max(own, counted) + 1


def delivered_mark(settings: Settings, admitted: Admitted) -> rqcompat.Mark:
    """What a delivery writes with its job's end: the delivered marker (set to the job's id),
    kept until the seal expires (a copy enqueued meanwhile is a duplicate) and at least
    WAGW_DEDUP_TTL; the attempt counter, no longer needed, deleted."""
    return rqcompat.Mark(
        delivered_key(admitted.endpoint, admitted.event_id),
        lifetime.keep_seconds(admitted.expires_at, settings.dedup_ttl),
        attempts_key(admitted.endpoint, admitted.event_id),
    )


def record_delivered(pipe: Pipeline, settings: Settings, admitted: Admitted, job_id: str) -> None:
    """On `pipe`: delivered_mark's writes."""
    mark = delivered_mark(settings, admitted)
    pipe.set(mark.marker, job_id, ex=mark.seconds)
    pipe.delete(mark.gone)


def record_attempt(pipe: Pipeline, admitted: Admitted) -> None:
    """On `pipe`: one more attempt without a 2xx, counted until the seal expires."""
    counter = attempts_key(admitted.endpoint, admitted.event_id)
    pipe.incr(counter)
    pipe.expire(counter, lifetime.keep_seconds(admitted.expires_at))


def note_attempt(job: Job, outcome: Outcome, attempt: int) -> None:
    """Record an unsuccessful attempt in the job's meta (saved by the caller)."""
    job.meta["attempts"] = attempt
    job.meta["last_status"] = outcome.status
    job.meta["last_error"] = outcome.error or outcome.snippet or None


def failure_message(endpoint: Endpoint, event_id: str, outcome: Outcome, attempt: int, why: str) -> str:
    plural = "s" if attempt != 1 else ""
    text = f"{outcome.describe()} from {endpoint.shown} for event {event_id}, {why} after {attempt} attempt{plural}"
    if outcome.snippet:
        text += f"; response: {outcome.snippet}"
    return text


def result_value(outcome: Outcome, attempt: int) -> dict:
    return {"status": outcome.status, "attempt": attempt, "latency_ms": round(outcome.latency * 1000, 1)}


def log_attempt(endpoint: Endpoint, event_id: str, attempt: int, outcome: Outcome, what: str) -> None:
    line = "webhook {} -> {} attempt {}: {}: {}"
    if outcome.verdict is Verdict.DELIVERED:
        logger.info(line, event_id, endpoint.shown, attempt, outcome.describe(), what)
    else:
        logger.warning(line, event_id, endpoint.shown, attempt, outcome.describe(), what)


# ---- the job function -----------------------------------------------------------------------------


def deliver(endpoint_id: str, event_id: str, body: str, seal: str | None = None, download: str | None = None) -> dict:
    """POST the event body to one configured endpoint, signed. Under a stock RQ worker: a
    retryable failure raises DeliveryRetry with the job's next interval set to the jittered
    backoff (or Retry-After); a final one, or an endpoint this worker does not know, raises
    DeliveryFailed with the retries set to zero. A delivery that follows a media download
    still running (`download`, WAGW_MEDIA_AUTO_DOWNLOAD) raises DeliveryRetry without
    spending a try."""
    ctx = context()
    job = get_current_job()
    args = (endpoint_id, event_id, body, seal) if download is None else (endpoint_id, event_id, body, seal, download)
    try:
        admitted = ctx.admit(args)
    except RefusedDelivery as error:
        if job is not None:
            job.retries_left = 0
        logger.error("webhook job {} refused: {}", job.id if job is not None else "-", error)
        raise DeliveryFailed(str(error)) from None
    endpoint, event_id, body, download = admitted.endpoint, admitted.event_id, admitted.body, admitted.download
    if download is not None:
        if job is None:
            raise DeliveryRetry(f"event {event_id} follows a media download: deliver it as an RQ job")
        followed = media.follow(job.connection, ctx.settings, body, download, job.created_at)
        if isinstance(followed, media.Pending):
            job.retries_left = (job.retries_left or 0) + 1  # RQ's retry takes it back: no try spent
            job.retry_intervals = [media.retry_interval(followed)]
            raise DeliveryRetry(f"event {event_id} waits for its media download (not an attempt)")
        body = followed
    seen, recorded = False, None
    if job is not None:
        with job.connection.pipeline(transaction=False) as pipe:
            pipe.exists(delivered_key(endpoint, event_id))
            pipe.get(attempts_key(endpoint, event_id))
            seen, recorded = pipe.execute()
    attempt = attempt_number(job, recorded)
    if seen:
        logger.info("webhook {} -> {}: already delivered, not sent again", event_id, endpoint.shown)
        return {"duplicate": True, "attempt": attempt}
    outcome = ctx.attempt(endpoint, event_id, body, attempt, replay=admitted.replay)
    verdict = outcome.verdict
    if verdict is Verdict.DELIVERED:
        if job is not None:
            with job.connection.pipeline() as pipe:
                record_delivered(pipe, ctx.settings, admitted, job.id)
                pipe.execute()
        log_attempt(endpoint, event_id, attempt, outcome, "delivered")
        return result_value(outcome, attempt)
    retries_left = (job.retries_left or 0) if job is not None else 0
    if job is not None:
        note_attempt(job, outcome, attempt)
        with job.connection.pipeline() as pipe:
            record_attempt(pipe, admitted)
            pipe.execute()
    if verdict is Verdict.RETRY and job is not None and retries_left > 0:
        delay = retry_delay(ctx.schedule, attempt, outcome.retry_after)
        # RQ adds the interval to now and truncates to the second: one more second keeps
        # "not before `delay`" true.
        job.retry_intervals = [math.ceil(delay) + 1]
        log_attempt(endpoint, event_id, attempt, outcome, f"retry in {delay:.1f} s")
        raise DeliveryRetry(failure_message(endpoint, event_id, outcome, attempt, "will retry"))
    why = "retries exhausted" if verdict is Verdict.RETRY else "not retryable"
    if job is not None:
        job.retries_left = 0
        job.save_meta()  # RQ's failure path does not save meta
    log_attempt(endpoint, event_id, attempt, outcome, f"failed ({why})")
    raise DeliveryFailed(failure_message(endpoint, event_id, outcome, attempt, why))
