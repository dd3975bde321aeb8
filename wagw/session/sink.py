"""The session's event handler: each inbound event -> event log + webhook queue, exactly once.

It runs on the backend's event thread and must stay minimal and fast: neonize has already
acknowledged the message to WhatsApp when this runs (docs/session.md, residual window).

Per event: WATCH and EXISTS the dedup key; when unseen, one MULTI/EXEC sets the dedup key,
appends to `wagw:events` and enqueues one deliver job per endpoint. Checking before the
transaction means a crash anywhere leaves either everything written or nothing, so a
redelivered event is safe; WATCH makes a concurrent writer of the same event a duplicate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis
from loguru import logger

from wagw import keys, metrics
from wagw.accounts import Account
from wagw.config import Settings
from wagw.events import InboundEvent, build_body, non_ad
from wagw.webhooks.enqueue import auto_download_media, enqueue_deliveries, enqueue_download

# How long to keep retrying Redis for one event before giving up on it.
REDIS_RETRY_SECONDS = 60.0


class EventSink:
    def __init__(
        self,
        settings: Settings,
        conn: redis.Redis,
        device_jid: Callable[[], str | None],
        stopping: Callable[[], bool] = lambda: False,
        *,
        account: Account,
    ):
        self.settings = settings
        self.account = account
        self.conn = conn
        self._device_jid = device_jid
        self._device_id: str | None = None
        self._stopping = stopping
        self.stored = 0
        self.duplicates = 0
        self.last_event_at: float | None = None
        self._lock = threading.Lock()

    def device_id(self) -> str | None:
        """The account's JID without the device part, as go-whatsapp's `device_id`."""
        if self._device_id is None:
            self._device_id = non_ad(self._device_jid())
        return self._device_id

    def __call__(self, event: InboundEvent) -> None:
        event_id, body = build_body(event, self.device_id(), self.account.name)
        media = auto_download_media(self.settings, event.payload)
        deadline = time.monotonic() + REDIS_RETRY_SECONDS
        pause = 0.05
        while True:
            try:
                stored = self._store(event_id, event.event, body, event.payload.get("chat_id"), media)
                break
            except (redis.ConnectionError, redis.TimeoutError) as error:
                if self._stopping() or time.monotonic() >= deadline:
                    raise
                logger.warning("Redis unavailable while storing event {} ({}); retrying", event_id, error)
                time.sleep(pause)
                pause = min(pause * 2, 2.0)
        with self._lock:
            self.last_event_at = time.time()
            if stored:
                self.stored += 1
            else:
                self.duplicates += 1
        if stored:
            logger.debug("event {} {} stored", event.event, event_id)
        else:
            logger.info("event {} {} already stored: duplicate dropped", event.event, event_id)
            metrics.incr(self.conn, "events_duplicate", event=event.event, account=self.account.name)

    def _store(self, event_id: str, name: str, body: str, chat: str | None, media: dict | None = None) -> bool:
        seen = keys.EVENT_SEEN.format(event_id=event_id)
        with self.conn.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(seen)
                if pipe.exists(seen):
                    return False
                pipe.multi()
                pipe.set(seen, "1", ex=self.settings.dedup_ttl)
                entry = {"id": event_id, "name": name, "event": body}
                # WAGW_MEDIA_AUTO_DOWNLOAD: a wa-worker of this account downloads it; the
                # deliveries follow that job.
                download = (
                    enqueue_download(pipe, self.settings, event_id, media, queue=self.account.queue)
                    if media is not None
                    else None
                )
                if download is not None:
                    entry["download"] = download
                pipe.xadd(keys.EVENTS_STREAM, entry, maxlen=self.settings.events_maxlen, approximate=True)  # type: ignore[arg-type]
                enqueue_deliveries(
                    pipe, self.settings, event_id, name, body, chat, account=self.account.name, download=download
                )
                metrics.incr(
                    pipe, "events_received", event=name, account=self.account.name
                )  # counted with the event, in the same EXEC
                pipe.execute()
                return True
            except redis.WatchError:
                return False  # someone stored the same event between our check and EXEC
