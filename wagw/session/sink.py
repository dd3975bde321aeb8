"""The session's event store: each inbound event -> event log + webhook queue, exactly once.

It must stay minimal and fast: neonize has already acknowledged the message to WhatsApp when
the session sees it (docs/session.md, residual window). A store never returns without its
events stored: while Redis refuses the write (full, read-only,
loading, unreachable) it holds the event and retries with capped backoff, so the backend
stops taking (and acknowledging) more; only a stop request ends the wait, with an error,
which leaves the event unacknowledged where the backend allows it (the fake backend).

Each entry of `wagw:events` carries the event MAC (wagw.webhooks.signing) when the account has
a webhook secret: a replay of the stored event is sealed only if it matches.

Per event, in one atomic script call (wagw.writeonce): SET NX the dedup key; when it was
unseen, append to `wagw:events` and enqueue one deliver job per endpoint. Setting the marker
first means a crash anywhere leaves either everything written or nothing, so a redelivered
event is safe. Several events go in one call when the session has them waiting
(wagw.session.feed: `prepare` on the backend's thread, `store` of a batch on the writer's),
each still once, in order, and held as one while Redis refuses them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis
from loguru import logger

from wagw import keys, metrics, refusals, sendorder
from wagw.accounts import Account
from wagw.config import Settings
from wagw.events import InboundEvent, build_body, kinds, non_ad
from wagw.events.lids import PhoneOf, with_phone_numbers
from wagw.webhooks.enqueue import Chat, auto_download_media, enqueue_deliveries, enqueue_download
from wagw.webhooks.signing import event_log_key, event_mac
from wagw.writeonce import Writes, record, write_once_many

if TYPE_CHECKING:
    from redis.client import Pipeline

# Pauses between attempts while Redis refuses the event: doubling from the first to the cap.
RETRY_FIRST = 0.05
RETRY_CAP = 1.0
# While blocked, the warning is repeated this often (the first comes at once).
WARN_EVERY = 10.0


class NotStored(RuntimeError):
    """A stop was requested while Redis refused the event: it is not stored, and must not be
    acknowledged (the backend hands it over again after the restart, where it can)."""


class EventSink:
    def __init__(
        self,
        settings: Settings,
        conn: redis.Redis,
        device_jid: Callable[[], str | None],
        stopping: Callable[[], bool] = lambda: False,
        *,
        account: Account,
        phone_of: PhoneOf = lambda lid: None,
    ):
        self.settings = settings
        self.account = account
        self.conn = conn
        self._device_jid = device_jid
        self._phone_of = phone_of  # the backend's LID store (Backend.pn_for_lid)
        self._device_id: str | None = None
        self._stopping = stopping
        self.stored = 0
        self.duplicates = 0
        self.last_event_at: float | None = None
        # Set while an event waits for Redis to take it: since when (unix time) and why.
        self.blocked_since: float | None = None
        self.blocked_reason: str | None = None
        self._lock = threading.Lock()
        self._warn = refusals.Every(WARN_EVERY)
        # The event MAC's key (wagw.webhooks.signing): `wagw events replay` seals only what it
        # marks. No secret, no webhooks to replay to: no MAC.
        secret = settings.webhook_secret_of(account.name)
        self._log_key = event_log_key(secret.get_secret_value().encode()) if secret else None

    def device_id(self) -> str | None:
        """The account's JID without the device part, as go-whatsapp's `device_id`."""
        if self._device_id is None:
            self._device_id = non_ad(self._device_jid())
        return self._device_id

    def __call__(self, event: InboundEvent) -> None:
        """Store one event (held while Redis refuses it); returns once it is stored."""
        self.store([self.prepare(event)])

    def prepare(self, event: InboundEvent) -> Prepared:
        """The event's body and writes, built without Redis (on the backend's thread)."""
        event = with_phone_numbers(event, self._phone_of)
        event_id, body = build_body(event, self.device_id(), self.account.name)
        write = self._writes(
            event_id, event.event, body, _chats(event), auto_download_media(self.settings, event.payload)
        )
        seen = keys.EVENT_SEEN.format(event_id=event_id)
        return Prepared(event_id, event.event, len(body), record(self.conn, seen, write))

    def store(self, batch: Sequence[Prepared]) -> None:
        """Store the events, in order, each once (a duplicate is dropped): one script call for
        all of them (wagw.writeonce). While Redis refuses them, hold them all and retry, with
        the writes recorded again (fresh times in their jobs); only a stop ends the wait,
        with NotStored and none of the held events stored."""
        done: list[bool] = []
        pause = RETRY_FIRST
        while len(done) < len(batch):
            try:
                write_once_many(self.conn, self.settings.dedup_ttl, [p.writes for p in batch[len(done) :]], done)
            except redis.RedisError as error:  # a refusal: those not done are not written
                first = batch[len(done)]
                self._held(first.event_id, first.name, error)
                time.sleep(pause)
                pause = min(pause * 2, RETRY_CAP)
                for prepared in batch[len(done) :]:
                    prepared.writes = record(self.conn, prepared.writes.marker, prepared.writes.write)
        self._unblocked(batch[0].event_id)
        with self._lock:
            self.last_event_at = time.time()
            self.stored += sum(done)
            self.duplicates += len(done) - sum(done)
        for prepared, stored in zip(batch, done, strict=True):
            if stored:
                logger.debug("event {} {} stored", prepared.name, prepared.event_id)
            else:
                logger.info("event {} {} already stored: duplicate dropped", prepared.name, prepared.event_id)
                metrics.incr(self.conn, "events_duplicate", event=prepared.name, account=self.account.name)

    def _held(self, event_id: str, name: str, error: redis.RedisError) -> None:
        """Redis refused the event: note it, say so now and then, and give up only on a stop.
        The log names the event by id and kind: never its content, nor redis-py's message
        (which quotes the command, the body included)."""
        why = refusals.reason(error)
        if self.blocked_since is None:
            self.blocked_since = time.time()
            self._warn.reset()
        self.blocked_reason = why
        if self._stopping():
            logger.error(
                "stopping while {}: event {} {} is not stored; a backend that redelivers hands it over "
                "again after the restart",
                why,
                name,
                event_id,
            )
            raise NotStored(f"event {event_id} not stored: {why}") from None
        if self._warn.due():
            logger.warning(
                "cannot store event {} {}: {}; holding it and retrying (blocked for {:.0f}s)",
                name,
                event_id,
                why,
                time.time() - self.blocked_since,
            )

    def _unblocked(self, event_id: str) -> None:
        if self.blocked_since is None:
            return
        blocked = time.time() - self.blocked_since
        logger.warning("Redis takes writes again: event {} stored after {:.1f}s blocked", event_id, blocked)
        self.blocked_since = None
        self.blocked_reason = None

    def _writes(
        self, event_id: str, name: str, body: str, chat: Chat, media: dict | None
    ) -> Callable[[Pipeline], None]:
        """What storing the event writes, once its marker is set: the entry in the event log,
        its deliveries, and their bookkeeping."""

        def write(pipe: Pipeline) -> None:
            entry = {"id": event_id, "name": name, "event": body}
            if self._log_key is not None:
                entry["mac"] = event_mac(self._log_key, self.account.name, event_id, body)
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
            metrics.incr(pipe, "events_received", event=name, account=self.account.name)  # with the event
            if name in CONVERSATION_EVENTS and chat:  # no longer a first contact (wagw.sendorder)
                sendorder.note_known(pipe, self.account.name, [chat] if isinstance(chat, str) else list(chat))

        return write


@dataclass(slots=True)
class Prepared:
    """An event ready to store: its id and kind (for the log), the size of its body, and its
    writes (wagw.writeonce)."""

    event_id: str
    name: str
    size: int
    writes: Writes


# Events that show the account has a conversation in their chat: a message either way (an
# ack is of one it sent).
CONVERSATION_EVENTS = frozenset({kinds.MESSAGE, kinds.REACTION, kinds.EDITED, kinds.REVOKED, kinds.ACK})


def _chats(event: InboundEvent) -> Chat:
    """The event's chat by each address it has (WAGW_WEBHOOK_IGNORE_CHATS matches either)."""
    chat = event.payload.get("chat_id")
    if not chat:
        return None
    lid = event.payload.get("chat_lid")
    return (chat, lid) if lid and lid != chat else chat
