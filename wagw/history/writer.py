"""`wagw history-writer`, the `history` process: the event stream and the send outcomes into
the history store, in batches, each batch and the streams' positions in one transaction.

It reads `wagw:events` and `wagw:history:sends` after the positions stored in the store
itself (the cursors table), so a writer killed anywhere starts again right after the last
batch it committed: no gap and no duplicate. It never sits in the session's path: the session
only appends to Redis; a slow, locked or broken store only makes this process fall behind
(its batch waits in memory and is written again until the store takes it), which `wagw status`
shows as lag. Both streams are capped: entries trimmed before they were read are a gap, found
and reported (log and status), never silent (docs/history.md "Gaps").
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from loguru import logger
from redis.exceptions import RedisError, ResponseError
from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError, SQLAlchemyError

from wagw import keys, refusals
from wagw.errors import MigrationFailed
from wagw.exitcodes import ExitCode
from wagw.history import migrate
from wagw.history.ingest import Changes, add_event, add_outcome, stream_ms
from wagw.history.store import Store, open_store, store_error, url_of
from wagw.history.write import apply, read_cursors, retention
from wagw.redisconn import as_text, connect

if TYPE_CHECKING:
    import argparse

    from redis import Redis

    from wagw.config import Settings

# The streams read, by the name their position has in the cursors table.
STREAMS = {"events": keys.EVENTS_STREAM, "sends": keys.HISTORY_SENDS}
BATCH = 2000  # entries per transaction at most
BLOCK_MS = 500  # an idle writer waits this long for new entries
PAUSE_FIRST, PAUSE_CAP = 0.2, 5.0  # between attempts while the store refuses a batch
WARN_EVERY = 30.0
STATUS_EVERY = 2.0
STATUS_TTL = 15  # the status key outlives a few missed beats, not a dead writer
RETENTION_EVERY = 300.0
RETENTION_BATCH = 5000
DAY_MS = 86_400_000


def _id(value: object) -> tuple[int, int]:
    ms, _, seq = (as_text(value) or "0").partition("-")
    return int(ms), int(seq or 0)


@dataclass
class Writer:
    settings: Settings
    conn: Redis
    store: Store
    positions: dict[str, str] = field(default_factory=dict)
    stored: int = 0
    gaps: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    error_since: float | None = None
    lag_seconds: float = 0.0
    _warn: refusals.Every = field(default_factory=lambda: refusals.Every(WARN_EVERY))

    # Reading ---------------------------------------------------------------------------

    def read(self) -> tuple[Changes, dict[str, str], list[Entry]]:
        """The next batch after the positions (waits up to BLOCK_MS for one): its rows, each
        stream's new position, and the entries themselves."""
        for name, stream in STREAMS.items():
            self._check_stream(name, stream)
        # RESP2 reply: [[stream, [(id, fields), …]], …], or None when the block timed out.
        reply = cast(
            "list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] | None",
            self.conn.xread(
                {STREAMS[name]: self.positions.get(name, "0") for name in STREAMS}, count=BATCH, block=BLOCK_MS
            ),
        )
        changes, moved, read_entries = Changes(), {}, []
        by_key = {stream: name for name, stream in STREAMS.items()}
        for stream_key, entries in reply or ():
            name = by_key[as_text(stream_key) or ""]
            for entry_id, raw in entries:
                fields = {as_text(k) or "": as_text(v) or "" for k, v in raw.items()}
                eid = as_text(entry_id) or "0"
                add_entry(changes, name, fields, eid)
                moved[name] = eid
                read_entries.append((name, eid, fields))
        if changes.skipped:
            logger.warning("{} stream entries could not be read and were skipped", changes.skipped)
        return changes, moved, read_entries

    def _check_stream(self, name: str, stream: str) -> None:
        """A gap (entries trimmed before this writer read them) or a stream made anew (a Redis
        that lost its data: start from its beginning; rows already stored are kept once)."""
        position = self.positions.get(name, "0")
        if position == "0":
            return
        try:
            info = self.conn.xinfo_stream(stream)
        except ResponseError:  # no such stream (yet)
            return
        last, first = info.get("last-generated-id"), info.get("first-entry")
        if last is not None and _id(last) < _id(position):
            logger.warning(
                "history: {} was made anew (its newest id {} is before the stored position {}): reading it "
                "from its beginning",
                stream,
                as_text(last),
                position,
            )
            self.positions[name] = "0"
            return
        if not first or _id(first[0]) <= _id(position):
            return
        if self.conn.xrange(stream, min=position, max=position, count=1):
            return
        first_id = as_text(first[0]) or "0"
        gap = {
            "stream": stream,
            "after": position,
            "before": first_id,
            "from": _iso(stream_ms(position)),
            "to": _iso(stream_ms(first_id)),
            "found_at": _iso(int(time.time() * 1000)),
        }
        self.gaps = [*self.gaps[-9:], gap]
        logger.error(
            "history: gap in {}: entries after {} and before {} ({} to {}) were trimmed from the stream before "
            "the history writer read them (it was down or behind longer than the stream's cap covers); "
            "they are not in the history store",
            stream,
            position,
            first_id,
            gap["from"],
            gap["to"],
        )
        # Go on from just before the oldest entry still there.
        ms, seq = _id(first_id)
        self.positions[name] = f"{ms}-{seq - 1}" if seq else f"{ms - 1}-{2**63 - 1}"

    # Writing ---------------------------------------------------------------------------

    def write(self, changes: Changes, moved: dict[str, str], stopping, entries: list[Entry] | None = None) -> bool:
        """Write the batch and its positions, again and again until the store takes it;
        False when a stop came first (nothing of the batch was written). A batch the store
        refuses for its data (not for being locked or down) is written an entry at a time,
        leaving out the entries it refuses: one bad entry never holds the writer."""
        pause = PAUSE_FIRST
        positions = {**self.positions, **moved}
        while True:
            try:
                with self.store.engine.begin() as db:
                    apply(db, changes, moved)
                break
            except REFUSED_DATA as error:
                if not entries:
                    raise
                logger.warning("history store refused a batch: {}; writing it an entry at a time", store_error(error))
                self._one_by_one(entries)
                break
            except SQLAlchemyError as error:
                self._failing(store_error(error))
                if stopping():
                    return False
                self.publish()
                _sleep(pause, stopping)
                pause = min(pause * 2, PAUSE_CAP)
        if self.error is not None:
            logger.warning("history store writable again after {:.1f}s", time.time() - (self.error_since or 0))
        self.error = self.error_since = None
        self.positions = positions
        self.stored += len(changes.events) + len(changes.sends)
        return True

    def _one_by_one(self, entries: list[Entry]) -> None:
        for name, eid, fields in entries:
            single = Changes()
            add_entry(single, name, fields, eid)
            try:
                with self.store.engine.begin() as db:
                    apply(db, single, {name: eid})
            except REFUSED_DATA as error:
                logger.error(
                    "history: entry {} of {} refused by the store ({}); left out", eid, name, store_error(error)
                )
                with self.store.engine.begin() as db:
                    apply(db, Changes(), {name: eid})

    def _failing(self, reason: str) -> None:
        if self.error_since is None:
            self.error_since = time.time()
            self._warn.reset()
        self.error = reason
        if self._warn.due():
            logger.warning(
                "history store {} not writable: {}; holding the batch and retrying (for {:.0f}s); webhooks are not "
                "affected",
                self.store.shown,
                reason,
                time.time() - self.error_since,
            )

    def expire(self, now_ms: int) -> int:
        """Retention: rows older than WAGW_HISTORY_DAYS, a batch per transaction."""
        if not self.settings.history_days:
            return 0
        cutoff = now_ms - int(self.settings.history_days * DAY_MS)
        total = 0
        while True:
            with self.store.engine.begin() as db:
                deleted = retention(db, cutoff, RETENTION_BATCH)
            total += deleted
            if deleted < RETENTION_BATCH:
                break
        if total:
            logger.info("history retention: {} rows older than {} days deleted", total, self.settings.history_days)
        return total

    # Status ----------------------------------------------------------------------------

    def measure_lag(self) -> None:
        lag = 0.0
        for name, stream in STREAMS.items():
            newest = self.conn.xrevrange(stream, count=1)
            if newest and _id(newest[0][0]) > _id(self.positions.get(name, "0")):
                behind_ms = stream_ms(as_text(newest[0][0]) or "0") - stream_ms(self.positions.get(name, "0"))
                lag = max(lag, behind_ms / 1000 if self.positions.get(name, "0") != "0" else float("inf"))
        self.lag_seconds = lag

    def snapshot(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "store": self.store.shown,
            "positions": dict(self.positions),
            "stored": self.stored,
            "lag_seconds": None if self.lag_seconds == float("inf") else round(self.lag_seconds, 3),
            "error": self.error,
            "error_since": self.error_since,
            "gaps": self.gaps,
            "updated": time.time(),
        }

    def publish(self) -> None:
        try:
            self.measure_lag()
            self.conn.set(keys.HISTORY_STATUS, json.dumps(self.snapshot()), ex=STATUS_TTL)
        except RedisError as error:
            if self._warn.due():
                logger.warning("history status not published: {}", refusals.reason(error))


Entry = tuple[str, str, dict[str, str]]  # (stream name, entry id, fields)
# The store refusing what a batch holds (a constraint, a type, a length), not being unreachable
# or locked (OperationalError): writing it again as it is would never succeed.
REFUSED_DATA = (IntegrityError, DataError, ProgrammingError)


def add_entry(changes: Changes, name: str, fields: dict[str, str], eid: str) -> None:
    """One stream entry into `changes`. Whoever can write to Redis can append entries: one that
    is not what wagw writes is skipped (counted, never logged), never a crash loop on it."""
    try:
        if name == "events":
            add_event(changes, fields, eid)
        else:
            add_outcome(changes, json.loads(fields.get("record", "")))
    except (ValueError, TypeError, AttributeError, KeyError):
        changes.skipped += 1


def _iso(ms: int) -> str:
    from wagw.history.read import iso

    return iso(ms) or ""


def _sleep(seconds: float, stopping) -> None:
    deadline = time.monotonic() + seconds
    while not stopping() and time.monotonic() < deadline:
        time.sleep(min(0.05, seconds))


def _open(settings: Settings, stopping) -> Store | None:
    """The store, migrated; waits (saying why) while it cannot be opened."""
    warn = refusals.Every(WARN_EVERY)
    pause = PAUSE_FIRST
    while not stopping():
        try:
            store = open_store(settings, create=True)
            revision = migrate.in_child(url_of(settings), stopping)
            if revision is None:
                store.close()
                return None
            logger.info("history store {} ready (schema {})", store.shown, revision)
            return store
        except (SQLAlchemyError, OSError, MigrationFailed) as error:
            if warn.due():
                reason = str(error) if isinstance(error, MigrationFailed) else store_error(error)
                logger.error("history store cannot be opened: {}; retrying", reason)
            _sleep(pause, stopping)
            pause = min(pause * 2, PAUSE_CAP)
    return None


def main(settings: Settings, args: argparse.Namespace | None = None) -> int:
    stop: list[bool] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.append(True))

    def stopping() -> bool:
        return bool(stop)

    store = _open(settings, stopping)
    if store is None:
        return ExitCode.OK
    conn = connect(settings)
    with store.engine.connect() as db:
        positions = read_cursors(db)
    writer = Writer(settings, conn, store, positions)
    logger.info("history writer reading {} from {}", ", ".join(STREAMS.values()), positions or "their beginning")
    next_status = next_retention = 0.0
    warn = refusals.Every(WARN_EVERY)
    try:
        while not stop:
            now = time.monotonic()
            if now >= next_status:
                next_status = now + STATUS_EVERY
                writer.publish()
            if now >= next_retention:
                next_retention = now + RETENTION_EVERY
                try:
                    writer.expire(int(time.time() * 1000))
                except SQLAlchemyError as error:
                    logger.warning("history retention skipped: {}", store_error(error))
            try:
                changes, moved, entries = writer.read()
            except RedisError as error:
                if warn.due():
                    logger.warning("history writer cannot read Redis: {}; retrying", refusals.reason(error))
                _sleep(1.0, stopping)
                continue
            if moved and not writer.write(changes, moved, stopping, entries):
                break
    finally:
        writer.publish()
        store.close()
        logger.info("history writer stopped ({} entries stored)", writer.stored)
    return ExitCode.OK
