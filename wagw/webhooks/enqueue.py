"""The producer side of webhook delivery: one `workers.webhooks.deliver(endpoint_id, event_id,
body, seal)` job per event and endpoint on queue "webhooks", written inside the session's own
MULTI/EXEC. A job names its endpoint by id (wagw/webhooks/endpoints.py), never by URL, and
carries the session's seal over its arguments (wagw/webhooks/signing.py).

The job path, its arguments and its TTLs are the contract with the webhook workers
(workers/webhooks/) and with any stock RQ worker (docs/webhooks.md).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rq import Retry

from wagw import keys, rqcompat
from wagw.accounts import DEFAULT
from wagw.addresses import GROUP_SERVER
from wagw.events import HISTORY_SYNC, MEDIA_KINDS
from wagw.webhooks import lifetime
from wagw.webhooks.endpoints import account_endpoints
from wagw.webhooks.signing import seal

if TYPE_CHECKING:
    from redis.client import Pipeline

    from wagw.config import Settings
    from wagw.webhooks.endpoints import Endpoint

DELIVER = "workers.webhooks.deliver"
# What a webhook worker runs (wagw.rqcompat.confine_jobs): this path and nothing else.
DELIVERABLE = frozenset({DELIVER})
# Finished deliveries stay visible (rq-dashboard "finished") this long; at a sustained
# 1,000 events/s that is ~300 MB of job hashes at most, at ordinary rates a few MB.
DELIVERED_TTL = 300


# An event's chat: its JID, or all its addresses (`chat_id` and `chat_lid`); None: no chat.
Chat = str | tuple[str, ...] | None


def wants(settings: Settings, event_name: str, chat: Chat = None) -> bool:
    """Whether an event goes to the endpoints: its name is forwarded (matched case-insensitively,
    as go-whatsapp-web-multidevice does) and its chat is not ignored, by any of its addresses
    (the phone number and the LID, as that gateway matches both)."""
    if settings.webhook_events and event_name.lower() not in {e.lower() for e in settings.webhook_events}:
        return False
    if event_name == HISTORY_SYNC and not settings.webhook_history_sync:
        return False  # opt-in: a history sync can be thousands of events (the event log keeps them)
    if chat is None:
        return True
    chats = (chat,) if isinstance(chat, str) else chat
    if settings.webhook_ignore_groups and any(c.endswith("@" + GROUP_SERVER) for c in chats):
        return False
    return not set(chats) & set(settings.webhook_ignore_chats)


def rq_retry(settings: Settings) -> Retry:
    steps = [max(1, math.ceil(step)) for step in settings.retry_intervals]
    return Retry(max=len(steps), interval=steps)


def job_timeout(settings: Settings) -> int:
    return math.ceil(settings.webhook_connect_timeout + settings.webhook_timeout) + 30


def enqueue_deliveries(
    pipe: Pipeline,
    settings: Settings,
    event_id: str,
    event_name: str,
    body: str,
    chat: Chat = None,
    *,
    account: str = DEFAULT,
    download: str | None = None,
) -> int:
    """Queue one deliver job per configured endpoint on `pipe` (the caller executes it).

    Writes exactly what rq's `Queue.enqueue_many` writes for these jobs (the job hash, the
    queue list, the set of queues; tests/unit/test_webhook_enqueue.py compares the two), but
    builds it directly (rqcompat.enqueue_calls): this runs on the session's event thread, once
    per event, where rq's generic path costs several times more.

    `download`: the id of the event's download_media job (enqueue_download): each delivery
    carries it as a fifth argument, under the seal, and its body follows that job's outcome.
    """
    endpoints = account_endpoints(settings, account).values()
    if not endpoints or not wants(settings, event_name, chat):
        return 0
    rqcompat.enqueue_calls(
        pipe,
        keys.WEBHOOKS_QUEUE,
        _fixed_fields(settings),
        [
            (
                DELIVER,
                (endpoint.id, event_id, body, seal(endpoint.seal_key, endpoint.id, event_id, body))
                if download is None
                else (
                    endpoint.id,
                    event_id,
                    body,
                    seal(endpoint.seal_key, endpoint.id, event_id, body, download),
                    download,
                ),
                f"{event_name} {event_id} -> {endpoint.shown}",
            )
            for endpoint in endpoints
        ],
    )
    return len(endpoints)


def enqueue_replays(pipe: Pipeline, settings: Settings, endpoint: Endpoint, events: list[tuple[str, str]]) -> list[str]:
    """On `pipe`: one delivery job per stored (event id, body) to `endpoint`, sealed as a
    replay (`wagw events replay`: delivered with X-Wagw-Replay). Returns the job ids."""
    return rqcompat.enqueue_calls(
        pipe,
        keys.WEBHOOKS_QUEUE,
        _fixed_fields(settings),
        [
            (
                DELIVER,
                (endpoint.id, event_id, body, seal(endpoint.seal_key, endpoint.id, event_id, body, replay=True)),
                f"replay {event_id} -> {endpoint.shown}",
            )
            for event_id, body in events
        ],
    )


def auto_download_media(settings: Settings, payload: dict) -> dict | None:
    """The event's `media` object when WAGW_MEDIA_AUTO_DOWNLOAD has it downloaded: a message
    whose media object (under its kind) has a `media` object download_media accepts."""
    if not settings.media_auto_download:
        return None
    media = payload.get("media")
    if not isinstance(media, dict) or media.get("kind") not in MEDIA_KINDS:
        return None
    return media if isinstance(payload.get(media["kind"]), dict) else None


def download_keep(settings: Settings) -> int:
    """Seconds a download job (and its result or failure) is kept: as long as a delivery that
    follows it may still be retried (the retry window, jitter included), and a day
    more. About 7 KB each in Redis (job and result), so not for the failed registry's two
    weeks: a delivery replayed later finds it gone and goes with download_error."""
    return lifetime.retry_window(settings) + lifetime.DAY


def enqueue_download(pipe: Pipeline, settings: Settings, event_id: str, media: dict, queue: str = keys.WA_QUEUE) -> str:
    """Queue `workers.wa.download_media(media)` on the account's wa queue, on `pipe`, with the
    operation's timeout and Retry (a wa-worker of the account that received the event
    downloads it, with its own device; the session never does). Returns the job id the
    deliveries name."""
    from wagw.operations import OPERATIONS  # the table (~1 MB) only in a session that downloads

    op = OPERATIONS["download_media"]
    fields = rqcompat.queued_job_fields(
        queue,
        timeout=op.timeout,
        retry=Retry(max=op.retries, interval=[op.interval] * op.retries),
        result_ttl=download_keep(settings),
        failure_ttl=download_keep(settings),
    )
    [job_id] = rqcompat.enqueue_calls(pipe, queue, fields, [(op.path, (media,), f"download_media {event_id}")])
    return job_id


_fixed: tuple[tuple, dict] | None = None


def _fixed_fields(settings: Settings) -> dict:
    """The job-hash fields that are the same for every delivery job (for these settings)."""
    global _fixed
    basis = (
        tuple(settings.webhook_retry_schedule),
        settings.webhook_connect_timeout,
        settings.webhook_timeout,
        settings.webhook_failure_ttl,
    )
    if _fixed is None or _fixed[0] != basis:
        _fixed = (
            basis,
            rqcompat.queued_job_fields(
                keys.WEBHOOKS_QUEUE,
                timeout=job_timeout(settings),
                retry=rq_retry(settings),
                result_ttl=DELIVERED_TTL,
                failure_ttl=settings.webhook_failure_ttl,
            ),
        )
    return _fixed[1]
