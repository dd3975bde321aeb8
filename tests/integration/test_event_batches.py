"""The session stores events in batches (wagw.session.feed, EventSink.store, wagw.writeonce):
on the real embedded redis-server, each event of a batch is still stored once (a duplicate
inside the batch or of an earlier one writes nothing), with its MAC and its deliveries, in
order, in one round trip; a batch that meets a full Redis is held whole and stored once when
Redis takes writes again; a stop meanwhile leaves every event unstored and unacknowledged."""

from __future__ import annotations

import json
import threading

import pytest
from rq import Queue

from chaos.polling import wait_for
from tests.integration.redis_full_harness import fill, free, small_redis, stays
from wagw import accounts, keys
from wagw.redisconn import SERIALIZER, as_text, connect
from wagw.session.feed import EventFeed
from wagw.session.sink import EventSink, NotStored
from wagw.webhooks.signing import event_log_key, event_mac_matches
from wagw.whatsapp import fake_inbound
from wagw.writeonce import record, write_once_many

SECRET = "test-secret-of-16-bytes"
DEVICE = "15550001111:1@s.whatsapp.net"


def message(n: int):
    return fake_inbound.to_event(
        {
            "type": "message",
            "id": f"3EB0BATCH{n:04d}",
            "sender": "15551234567@s.whatsapp.net",
            "text": f"hello {n}",
            "timestamp": 1764412200 + n,
        }
    )


def make_sink(stopping=lambda: False) -> EventSink:
    from wagw.config import Settings

    settings = Settings(_env_file=None)
    return EventSink(settings, connect(settings), lambda: DEVICE, stopping, account=accounts.find(settings, None))


def stored(conn) -> list[tuple[str, dict]]:
    """(message id, entry) of each event in the log, oldest first."""
    entries = []
    for _, fields in conn.xrange(keys.EVENTS_STREAM):
        entry = {as_text(k): as_text(v) for k, v in fields.items()}
        entries.append((json.loads(entry["event"])["payload"]["id"], entry))
    return entries


def deliveries(conn) -> int:
    return Queue(keys.WEBHOOKS_QUEUE, connection=conn, serializer=SERIALIZER).count


@pytest.fixture
def hooked(settings_env):
    settings_env.setenv("WAGW_WEBHOOK_URLS", "http://hooks.example/in")
    settings_env.setenv("WAGW_WEBHOOK_SECRET", SECRET)
    return settings_env


def test_a_batch_stores_each_event_once_in_order_in_one_round_trip(hooked, redis_conn):
    sink = make_sink()
    sink(message(0))  # stored before: its repeat in the batch is a duplicate
    batch = [sink.prepare(message(n)) for n in (1, 2, 1, 0, 3, 2)]
    redis_conn.config_resetstat()
    sink.store(batch)
    calls = redis_conn.info("commandstats")
    assert calls["cmdstat_evalsha"]["calls"] == 1
    assert not {"cmdstat_multi", "cmdstat_watch", "cmdstat_exists"} & set(calls)
    log = stored(redis_conn)
    assert [mid for mid, _ in log] == [f"3EB0BATCH{n:04d}" for n in (0, 1, 2, 3)]
    assert (sink.stored, sink.duplicates) == (4, 3)
    assert deliveries(redis_conn) == 4  # one endpoint, one job per stored event
    key = event_log_key(SECRET.encode())
    for _, entry in log:
        assert event_mac_matches(key, "default", entry["id"], entry["event"], entry["mac"])
    # Each event's marker, with the dedup TTL: a later batch of the same events writes nothing.
    sink.store([sink.prepare(message(n)) for n in (3, 2, 1)])
    assert len(stored(redis_conn)) == 4 and deliveries(redis_conn) == 4 and sink.duplicates == 6


def test_writes_that_cannot_run_in_a_script_go_in_a_transaction_in_their_place(redis_conn):
    script = redis_conn.register_script("return redis.call('RPUSH', KEYS[1], ARGV[1])")

    def plain(n: int):
        return lambda pipe: pipe.rpush("order", f"plain {n}")

    def scripted(pipe) -> None:
        script(keys=["order"], args=["scripted"], client=pipe)

    items = [
        record(redis_conn, "seen:1", plain(1)),
        record(redis_conn, "seen:2", plain(2)),
        record(redis_conn, "seen:3", scripted),
        record(redis_conn, "seen:1", plain(4)),  # a duplicate of the first: nothing written
        record(redis_conn, "seen:5", plain(5)),
    ]
    assert items[2].words is None and all(item.words is not None for item in items[:2] + items[3:])
    done: list[bool] = []
    write_once_many(redis_conn, 60, items, done)
    assert done == [True, True, True, False, True]
    assert redis_conn.lrange("order", 0, -1) == [b"plain 1", b"plain 2", b"scripted", b"plain 5"]


# A full Redis ---------------------------------------------------------------------------------


@pytest.fixture
def full_redis(hooked):
    with small_redis() as (url, conn):
        hooked.setenv("WAGW_REDIS_URL", url)
        yield conn


def feeding(feed: EventFeed, numbers: list[int], acknowledged: list[str]):
    """As the backend's thread does: hand the events over one by one, each with what to call
    once it is stored; (thread, errors)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            for n in numbers:
                event = message(n)
                feed.submit(event, lambda mid=event.payload["id"]: acknowledged.append(mid))
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


def test_a_batch_meeting_a_full_redis_is_held_then_stored_once_in_order(full_redis):
    sink = make_sink()
    feed = EventFeed(sink, batch_events=8)
    numbers = [*range(12), 5, *range(12, 30), 20]  # two repeats among them
    fill(full_redis)
    acknowledged: list[str] = []
    thread, errors = feeding(feed, numbers, acknowledged)
    # Held: nothing written or acknowledged, and the backend's thread waits for room (at most
    # 8 waiting beside those being stored), so the backend stops taking events.
    wait_for(lambda: feed.unstored() > 8, timeout=10, what="the feed full")
    stays(lambda: thread.is_alive() and not acknowledged and not errors, 1.5, "the events held")
    assert sink.blocked_reason == "Redis is full (used memory above maxmemory)"
    assert full_redis.xlen(keys.EVENTS_STREAM) == 0

    free(full_redis)
    thread.join(30)
    assert not thread.is_alive() and not errors, errors
    assert feed.close(30)
    ids = [f"3EB0BATCH{n:04d}" for n in numbers]
    assert [mid for mid, _ in stored(full_redis)] == list(dict.fromkeys(ids))  # once each, in order
    assert acknowledged == ids  # each once stored (a repeat: once found stored)
    assert (sink.stored, sink.duplicates) == (30, 2) and sink.blocked_since is None
    assert deliveries(full_redis) == 30


def test_a_stop_while_a_batch_is_held_stores_and_acknowledges_none_of_it(full_redis):
    stop = threading.Event()
    sink = make_sink(stop.is_set)
    feed = EventFeed(sink, batch_events=8)
    fill(full_redis)
    acknowledged: list[str] = []
    thread, errors = feeding(feed, list(range(5)), acknowledged)
    thread.join(10)
    wait_for(lambda: sink.blocked_since is not None, timeout=10, what="the batch held")
    stop.set()
    wait_for(lambda: not feed._writer.is_alive(), timeout=10, what="the writer to give up")
    with pytest.raises(NotStored):
        feed.submit(message(9), lambda: acknowledged.append("late"))
    assert not feed.close(1) and feed.unstored() == 5
    free(full_redis)
    assert not acknowledged and not errors
    assert full_redis.xlen(keys.EVENTS_STREAM) == 0
    assert not list(full_redis.scan_iter(match=keys.EVENT_SEEN.format(event_id="*")))
