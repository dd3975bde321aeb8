"""wagw.writeonce on a real Redis: the writes happen once per marker, in one round trip, with
the marker's TTL; a script among the writes goes through the transaction instead."""

from __future__ import annotations

from wagw.writeonce import write_once


def writes(pipe) -> None:
    pipe.xadd("stream", {"id": "e1", "body": "hello"}, maxlen=100, approximate=True)
    pipe.hset("job", mapping={"status": "queued", "data": b"\x78\x9c\x00\xff", "retries": 3})
    pipe.rpush("queue", "job")
    pipe.hincrby("counter", "field", 1)


def state(conn) -> tuple:
    return conn.xlen("stream"), conn.hgetall("job"), conn.lrange("queue", 0, -1), conn.hgetall("counter")


def test_the_writes_happen_once_per_marker_in_one_round_trip(redis_conn):
    write_once(redis_conn, "seen:warm-up", 60, lambda pipe: None)  # the script loaded once
    redis_conn.config_resetstat()
    assert write_once(redis_conn, "seen:e1", 600, writes) is True
    calls = redis_conn.info("commandstats")
    assert calls["cmdstat_evalsha"]["calls"] == 1
    assert not {"cmdstat_multi", "cmdstat_watch", "cmdstat_exists", "cmdstat_eval"} & set(calls)
    first = state(redis_conn)
    assert first == (
        1,
        {b"status": b"queued", b"data": b"\x78\x9c\x00\xff", b"retries": b"3"},
        [b"job"],
        {b"field": b"1"},
    )
    assert redis_conn.get("seen:e1") == b"1" and 590 <= redis_conn.ttl("seen:e1") <= 600
    assert write_once(redis_conn, "seen:e1", 600, writes) is False
    assert state(redis_conn) == first


def test_a_script_among_the_writes_goes_through_a_transaction(redis_conn):
    script = redis_conn.register_script("return redis.call('SET', KEYS[1], ARGV[1])")

    def with_a_script(pipe) -> None:
        writes(pipe)
        script(keys=["scripted"], args=["yes"], client=pipe)

    assert write_once(redis_conn, "seen:e2", 60, with_a_script) is True
    assert redis_conn.get("scripted") == b"yes" and redis_conn.xlen("stream") == 1
    assert write_once(redis_conn, "seen:e2", 60, with_a_script) is False
    assert redis_conn.xlen("stream") == 1


def test_a_refused_marker_writes_nothing(redis_conn):
    redis_conn.set("seen:e3", "not a number")  # the marker exists: nothing else is written
    assert write_once(redis_conn, "seen:e3", 60, writes) is False
    assert state(redis_conn) == (0, {}, [], {})
