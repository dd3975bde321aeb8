"""`wagw events replay --since T [--until T] [--account A] --to ENDPOINT [--force]`: deliver the
events the history store kept to one configured endpoint again, e.g. one added later.

- ENDPOINT is a configured endpoint, named by its id (as `wagw status` and job descriptions
  show it) or by its URL exactly as configured; never an address of the caller's choosing.
  Only the events of that endpoint's account go to it (each account signs with its own secret).
- Each stored event's body goes out as it was first delivered (same `id`, same bytes), through
  the ordinary delivery jobs (signed, retried, failed deliveries kept for `wagw webhooks
  replay`), sealed as a replay so that the request carries `X-Wagw-Replay: 1`.
- Only events the session appended are sent: each stored event's event MAC (the session's,
  wagw/webhooks/signing.py) must match under the account's current secret. An event without
  one (appended to `wagw:events` or written into the store by someone else, stored before wagw
  marked its events, or before the secret changed) is not sent, whatever `--force` says; the
  summary counts them, never showing their content.
- Each event goes to an endpoint once: the event ids queued for it are kept in
  `wagw:replayed:<endpoint>` (as long as the history store keeps events), and a second replay
  skips them; `--force` sends them again (and forgets the endpoint's delivered marker).
- Live deliveries are not starved: the replay queues BATCH deliveries at a time, and the next
  batch only once the webhook workers have ended every one of them (delivered, failed, or
  waiting for a retry) and the queue holds nothing else: replays take only what live traffic
  leaves, and a live delivery never waits behind more than one small batch of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from rq import Queue

from wagw import keys, rqcompat
from wagw.exitcodes import ExitCode
from wagw.logs import escape_controls
from wagw.redisconn import connect
from wagw.webhooks.endpoints import Endpoint, configured_endpoints, endpoint_id
from wagw.webhooks.enqueue import enqueue_replays
from wagw.webhooks.signing import event_log_key, event_mac_matches

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterable, Iterator

    from redis import Redis

    from wagw.config import Settings
    from wagw.history.read import StoredEvent

BATCH = 25  # replayed deliveries queued at a time
POLL = 0.02  # seconds between looks at whether the workers have ended the batch
IN_FLIGHT = ("queued", "started")  # a job in either state still holds a worker or the queue
SAY_WAITING_EVERY = 10.0  # seconds between "still waiting for the webhook workers" lines


@dataclass
class Tally:
    queued: int = 0
    skipped: int = 0  # already replayed to this endpoint
    refused: int = 0  # not appended by wagw's session: their event MAC does not match


def parse_time(text: str, name: str) -> datetime:
    """ISO 8601, UTC when no offset is given (`2026-12-01T00:00:00Z`, `2026-12-01`)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} must be an ISO 8601 time such as 2026-12-01T00:00:00Z, not {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def find_endpoint(settings: Settings, reference: str, account: str | None = None) -> Endpoint:
    """The configured endpoint named by its id or its URL as configured (of `account`, if given)."""

    def named(endpoint: Endpoint) -> bool:
        return reference in (endpoint.id, endpoint.shown) or endpoint.id == endpoint_id(reference, endpoint.account)

    found = [
        endpoint
        for endpoint in configured_endpoints(settings).values()
        if (account is None or endpoint.account == account) and named(endpoint)
    ]
    if not found:
        raise ValueError(
            f"{escape_controls(reference[:80])!r} is no configured webhook endpoint"
            + (f" of account {account}" if account else "")
            + ": name one by its id or its URL as in WAGW_WEBHOOK_URLS (`wagw status` shows them)"
        )
    if len({e.account for e in found}) > 1:
        raise ValueError(f"{found[0].shown} is an endpoint of several accounts: choose one with --account")
    return found[0]


def written_by_session(endpoint: Endpoint, stored: Iterable[StoredEvent], tally: Tally) -> Iterator[tuple[str, str]]:
    """(event id, body) of each stored event whose event MAC matches under the endpoint's
    account's secret; the others are counted in `tally.refused`, never shown."""
    key = event_log_key(endpoint.secret)
    for event in stored:
        if event_mac_matches(key, event.account, event.id, event.body, event.mac):
            yield event.id, event.body
        else:
            tally.refused += 1


def replay(
    conn: Redis,
    settings: Settings,
    endpoint: Endpoint,
    stored: Iterable[tuple[str, str]],
    *,
    force: bool = False,
    batch: int = BATCH,
    say: Callable[[str], None] = print,
    tally: Tally | None = None,
) -> Tally:
    """Queue each (event id, body) of `stored` once for `endpoint`, `batch` at a time, each batch
    after the workers took the one before."""
    tally = Tally() if tally is None else tally
    marks = keys.REPLAYED.format(endpoint=endpoint.id)
    pending: list[tuple[str, str]] = []
    for item in stored:
        pending.append(item)
        if len(pending) >= batch:
            _queue(conn, settings, endpoint, marks, pending, force, tally, say)
            pending = []
    if pending:
        _queue(conn, settings, endpoint, marks, pending, force, tally, say)
    return tally


def _queue(
    conn: Redis,
    settings: Settings,
    endpoint: Endpoint,
    marks: str,
    items: list[tuple[str, str]],
    force: bool,
    tally: Tally,
    say: Callable[[str], None],
) -> None:
    seen = [False] * len(items) if force else conn.smismember(marks, [event_id for event_id, _ in items])
    fresh = [item for item, done in zip(items, seen, strict=True) if not done]
    tally.skipped += len(items) - len(fresh)
    if not fresh:
        return
    with conn.pipeline() as pipe:  # MULTI: marked if and only if queued
        pipe.sadd(marks, *(event_id for event_id, _ in fresh))
        if settings.history_days > 0:  # the marks live as long as the events they stand for
            pipe.expire(marks, int(settings.history_days * 86_400) + 86_400)
        if force:
            pipe.delete(*(keys.WEBHOOK_DELIVERED.format(endpoint=endpoint.id, event_id=e) for e, _ in fresh))
        job_ids = enqueue_replays(pipe, settings, endpoint, fresh)
        pipe.execute()
    tally.queued += len(fresh)
    _wait_taken(conn, job_ids, say)


def _wait_taken(conn: Redis, job_ids: list[str], say: Callable[[str], None]) -> None:
    """Until the webhook workers have ended every job of the batch and the queue is empty."""
    queue = Queue(keys.WEBHOOKS_QUEUE, connection=conn)
    started = last_said = time.monotonic()
    while True:
        waiting = sum(1 for status in rqcompat.job_statuses(conn, job_ids) if status in IN_FLIGHT)
        if not waiting and not queue.count:
            return
        if time.monotonic() - last_said >= SAY_WAITING_EVERY:
            last_said = time.monotonic()
            seconds = last_said - started
            say(
                f"waiting {seconds:.0f} s for the webhook workers: {waiting} replayed deliveries of this batch "
                f"not ended, {queue.count} deliveries queued"
            )
        time.sleep(POLL)


def main(settings: Settings, args: argparse.Namespace) -> int:
    from wagw.history.read import stored_events
    from wagw.history.store import StoreMissing, open_store

    try:
        since = parse_time(args.since, "--since")
        until = parse_time(args.until, "--until") if args.until else None
        if until is not None and until <= since:
            raise ValueError("--until must be later than --since")
        endpoint = find_endpoint(settings, args.to, args.account)
    except ValueError as error:  # the reason it cannot start, for the operator
        print(f"wagw events replay: {error}")
        return ExitCode.USAGE
    try:
        store = open_store(settings)
    except StoreMissing as error:
        print(f"wagw events replay: {error}")
        return ExitCode.FAILURE
    conn = connect(settings)
    tally = Tally()
    stored = written_by_session(
        endpoint, stored_events(store, since=since, until=until, account=endpoint.account), tally
    )
    try:
        replay(conn, settings, endpoint, stored, force=args.force, tally=tally)
    except RedisError as error:  # what was queued before stays marked: a second run skips it
        print(f"wagw events replay: Redis at {settings.redis_url_shown} is unreachable ({error})")
        return ExitCode.NOT_RUNNING
    finally:
        store.close()
    if tally.refused:
        print(
            f"{tally.refused} events refused as not written by wagw's session (forged, stored before wagw "
            "marked its events, or before the webhook secret changed): not sent"
        )
    print(
        f"replayed {tally.queued} events to {endpoint.shown}"
        + (f"; {tally.skipped} replayed there before, skipped (--force sends them again)" if tally.skipped else "")
    )
    return ExitCode.FAILURE if tally.refused else ExitCode.OK
