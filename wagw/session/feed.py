"""The session's event handler: the backend's thread hands each event over and goes on to the
next; a writer thread stores what is waiting, several events in one round trip.

One round trip per event made the session wait for Redis once per event; on a busy machine
that wait, not its CPU, set how many events a second it could store. Here an event that
arrives while the writer is storing others waits for that store to end, and then goes with
every other event waiting by then (at most BATCH_EVENTS events, BATCH_BYTES of bodies): one
script call for all of them (EventSink.store). An event that arrives alone is taken at once:
it waits for no company.

What the sink guarantees per event still holds: each is stored once (its marker), in the
order the backend handed them over (one writer, batches in order, a batch stored whole or not
at all), and held while Redis refuses it. An event is acknowledged to a backend that can wait
for it (the fake's `submit`) only once it is stored. The handler returns before that, so at
most 2 x BATCH_EVENTS events (those waiting and the batch being stored) sit here, on top of
neonize's Go channel: the backend's thread waits for room beyond that, and so, as before,
stops taking events while Redis refuses them. A stop ends that wait with NotStored and leaves
them unacknowledged; `close` stores what is waiting before the session exits.
"""

from __future__ import annotations

import threading
from collections import deque

from loguru import logger

from wagw.events import InboundEvent
from wagw.session.sink import EventSink, NotStored, Prepared
from wagw.whatsapp.backend import Acknowledge

BATCH_EVENTS = 64
BATCH_BYTES = 1 << 20  # of event bodies (each stored once more in each delivery job)


class EventFeed:
    def __init__(self, sink: EventSink, *, batch_events: int = BATCH_EVENTS, batch_bytes: int = BATCH_BYTES):
        self.sink = sink
        self.batch_events = batch_events
        self.batch_bytes = batch_bytes
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._room = threading.Condition(self._lock)
        self._waiting: deque[tuple[Prepared, Acknowledge | None]] = deque()
        self._storing = 0  # events in the batch being stored
        self._failure: BaseException | None = None
        self._closed = False
        self._writer = threading.Thread(target=self._write, name="event-writer", daemon=True)
        self._writer.start()

    def __call__(self, event: InboundEvent) -> None:
        """The backend's handler (neonize: acknowledged before it got here)."""
        self.submit(event)

    def submit(self, event: InboundEvent, acknowledge: Acknowledge | None = None) -> None:
        """Hand the event to the writer; `acknowledge()` is called (on the writer's thread) once
        it is stored. Waits while BATCH_EVENTS events are waiting already. Raises NotStored once
        the writer gave up (a stop while Redis refused the events): nothing more is stored."""
        prepared = self.sink.prepare(event)
        with self._lock:
            while len(self._waiting) >= self.batch_events and self._failure is None:
                self._room.wait()
            self._check()
            self._waiting.append((prepared, acknowledge))
            self._arrived.notify()

    def unstored(self) -> int:
        """Events handed over and not yet stored."""
        with self._lock:
            return len(self._waiting) + self._storing

    def close(self, timeout: float) -> bool:
        """Take no more events; store those waiting, for at most `timeout` seconds. True when
        every event handed over is stored (or was a duplicate)."""
        with self._lock:
            self._closed = True
            self._arrived.notify()
        self._writer.join(timeout)
        left = self.unstored()
        if left:
            logger.warning("{} event(s) not stored at the session's exit (left unacknowledged)", left)
        return not left and self._failure is None

    def _check(self) -> None:
        if isinstance(self._failure, NotStored):
            raise NotStored(str(self._failure))
        if self._failure is not None:
            raise NotStored(f"the event writer failed: {self._failure!r}") from self._failure
        if self._closed:
            raise NotStored("the session's event feed is closed")

    def _write(self) -> None:
        try:
            while (batch := self._take()) is not None:
                self.sink.store([prepared for prepared, _ in batch])
                with self._lock:
                    self._storing = 0
                for _, acknowledge in batch:
                    if acknowledge is not None:
                        acknowledge()
        except BaseException as error:  # NotStored on a stop; anything else is a bug, said loudly
            if not isinstance(error, NotStored):
                logger.exception("the session's event writer failed; events are left unstored")
            with self._lock:
                self._failure = error
                self._room.notify_all()

    def _take(self) -> list[tuple[Prepared, Acknowledge | None]] | None:
        """Every event waiting, up to the batch's bounds, once there is one; None once closed
        with none waiting."""
        with self._lock:
            while not self._waiting:
                if self._closed:
                    return None
                self._arrived.wait()
            batch = [self._waiting.popleft()]
            size = batch[0][0].size
            while self._waiting and len(batch) < self.batch_events:
                size += self._waiting[0][0].size
                if size > self.batch_bytes:
                    break
                batch.append(self._waiting.popleft())
            self._storing = len(batch)
            self._room.notify_all()
            return batch
