"""The whole daemon when Redis is full: every process stays up, inbound events wait and are
stored and delivered exactly once when room comes back, and the log carries no message text.
The embedded redis-server runs with the smallest ceiling wagw allows (64 MB)."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from collections import Counter

import pytest
from redis.exceptions import RedisError

from chaos.polling import wait_for
from chaos.receiver import Receiver
from tests.integration.redis_full_harness import fill, free, stays
from wagw import keys
from wagw.procs import pid_alive
from wagw.redisconn import SERIALIZER

pytestmark = pytest.mark.e2e
SECRET = "e2e-secret-of-sixteen-bytes"
SECRET_TEXT = "words-only-alice-may-read"
LONG_LIVED = ("redis", "scheduler", "session", "wa-worker-1", "webhook-worker-1")


@pytest.fixture
def receiver():
    rec = Receiver(SECRET, ["hook"]).start()
    yield rec
    rec.close()


@pytest.fixture
def daemon(daemon_factory, receiver):
    made = daemon_factory(
        {
            "WAGW_REDIS_MAX_MEMORY_MB": "64",
            "WAGW_WEBHOOK_URLS": receiver.url("hook"),
            "WAGW_WEBHOOK_SECRET": SECRET,
            "WAGW_WEBHOOK_RETRY_SCHEDULE": "1,1,1,2,2,2,4,4",
        }
    ).start()
    yield made
    assert made.stop() == 0


def pids(daemon) -> dict[str, int]:
    snap = daemon.snapshot() or {"processes": []}
    return {p["name"]: p["pid"] for p in snap["processes"] if p["name"] in LONG_LIVED}


def fresh_snapshot(daemon, since: float) -> dict | None:
    snap = daemon.snapshot()
    return snap if snap and snap["updated"] > since else None


def message(n: int) -> dict:
    return {
        "type": "message",
        "id": f"3EB0F{n:07d}",
        "sender": "15551234567@s.whatsapp.net",
        "text": f"{SECRET_TEXT} {n}",
        "timestamp": 1764412200 + n,
    }


def stored_ids(conn) -> list[str]:
    return [json.loads(fields[b"event"])["payload"]["id"] for _, fields in conn.xrange(keys.EVENTS_STREAM)]


def test_every_process_outlives_a_full_redis(daemon, receiver):
    before = pids(daemon)
    assert set(before) == set(LONG_LIVED), before
    conn = daemon.redis
    fill(conn)
    # Heartbeats, locks, metrics, the reaper, dequeues: each has been refused many times over.
    stays(lambda: all(pid_alive(pid) for pid in before.values()), 12, "every process alive while Redis is full")
    freed_at = time.time()
    free(conn)
    snap = wait_for(lambda: fresh_snapshot(daemon, freed_at), 10, what="a status snapshot after Redis has room")
    after = {p["name"]: (p["pid"], p["restarts"], p["state"]) for p in snap["processes"] if p["name"] in LONG_LIVED}
    assert after == {name: (pid, 0, "running") for name, pid in before.items()}
    # and the daemon works: an event goes through
    conn.rpush(keys.FAKE_INBOUND, json.dumps(message(1)))
    wait_for(lambda: receiver.delivered_ids("hook") >= {"3EB0F0000001"}, 30, what="the event delivered")
    log = daemon.log_text()
    assert "Traceback" not in log, daemon.log_tail(80)
    assert SECRET_TEXT not in log


# An attacker with Redis access fills it with jobs, while messages keep coming -------------------

# Messages reach the session whatever Redis does (WhatsApp does not ask it); the fake backend
# reads them from Redis, so they are handed over with a script, which Redis runs past its
# ceiling once it has written (it cannot stop a script midway): DEL, then RPUSH.
PUSH_ANYWAY = """
redis.call('DEL', KEYS[2])
return redis.call('RPUSH', KEYS[1], ARGV[1])
"""
JUNK = "attacker:junk:"
HOLD = float(os.environ.get("WAGW_TEST_FULL_HOLD", "10"))  # seconds the ceiling is held
INBOUND_RATE = 20.0  # messages a second meanwhile


def is_full(conn) -> bool:
    memory = conn.info("memory")
    return int(memory["used_memory"]) >= int(memory["maxmemory"])


class Attacker(threading.Thread):
    """Enqueues big jobs of incompressible junk on `wa`, for tomorrow, as fast as Redis takes
    them: one job's record written raw under fresh ids, a few per round trip. Jobs due later
    wait in the scheduled registry, where nothing of wagw's removes them: Redis stays at its
    ceiling until the attacker stops and the operator deletes them (free())."""

    BATCH = 4

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        from redis import Redis
        from rq.registry import ScheduledJobRegistry

        self.conn = Redis.from_url(url)
        self.registry = ScheduledJobRegistry(keys.WA_QUEUE, connection=self.conn, serializer=SERIALIZER)
        self.stop = threading.Event()
        self.enqueued = self.refused = 0

    def run(self) -> None:
        from rq.job import Job

        junk = base64.b64encode(os.urandom(1536 * 1024)).decode()  # 2 MB as stored
        job = Job.create(
            "workers.wa.send_image",
            kwargs={"to": "15551234567@s.whatsapp.net", "image": junk},
            connection=self.conn,
            serializer=SERIALIZER,
            origin=keys.WA_QUEUE,
        )
        record = job.to_dict()
        while not self.stop.is_set():
            ids = [uuid.uuid4().hex for _ in range(self.BATCH)]
            try:
                with self.conn.pipeline(transaction=False) as pipe:
                    for job_id in ids:
                        pipe.hset(Job.key_for(job_id), mapping=record)
                    pipe.zadd(self.registry.key, dict.fromkeys(ids, time.time() + 86_400))
                    pipe.execute()
                self.enqueued += self.BATCH
            except RedisError:
                self.refused += 1
                self._top_off()

    def _top_off(self) -> None:
        """Fill the last megabyte a big record no longer fits in, with small keys."""
        try:
            while not self.stop.is_set():
                self.conn.set(f"{JUNK}{uuid.uuid4().hex}", os.urandom(4096))
        except RedisError:
            self.stop.wait(0.05)

    def free(self) -> int:
        """What the operator does: delete the junk (the records and their registry entries)."""
        from rq.job import Job

        ids = [job_id.decode() for job_id in self.conn.zrange(self.registry.key, 0, -1)]
        ids += [key.decode()[len("rq:job:") :] for key in self.conn.scan_iter(match="rq:job:*", count=1000)]
        junk = [job_id for job_id in set(ids) if len(job_id) == 32]  # the attacker's hex ids
        for start in range(0, len(junk), 200):
            chunk = junk[start : start + 200]
            self.conn.delete(*[Job.key_for(job_id) for job_id in chunk])
            self.conn.zrem(self.registry.key, *chunk)
        small = list(self.conn.scan_iter(match=JUNK + "*", count=1000))
        for start in range(0, len(small), 500):
            self.conn.delete(*small[start : start + 500])
        return len(junk) + len(small)


def test_an_app_holding_redis_full_delays_inbound_events_and_loses_none(daemon, receiver):
    conn = daemon.redis
    before = pids(daemon)
    push = conn.register_script(PUSH_ANYWAY)
    attacker = Attacker(daemon.redis_url)
    attacker.start()
    try:
        wait_for(lambda: is_full(conn), 30, 0.05, "the attacker to fill Redis to its ceiling")
        held_since = time.monotonic()
        pushed: list[str] = []
        full_samples = []
        due = held_since
        while time.monotonic() - held_since < HOLD:
            n = len(pushed)
            push(keys=[keys.FAKE_INBOUND, "wagw-test:nothing"], args=[json.dumps(message(n))])
            pushed.append(message(n)["id"])
            full_samples.append(is_full(conn))
            due += 1 / INBOUND_RATE
            time.sleep(max(0.0, due - time.monotonic()))
        stored_while_held = len(stored_ids(conn))
    finally:
        attacker.stop.set()
        attacker.join(10)
    # The attacker shares the machine with the daemon: on a loaded one it keeps Redis full less
    # of the time, and half the hold still proves events wait and are not lost.
    assert attacker.refused > 0 and sum(full_samples) > len(full_samples) * 0.5, "the ceiling was not held"
    attacker.free()
    # room again: every held message is stored, once, then delivered, once
    wait_for(lambda: set(stored_ids(conn)) >= set(pushed), 60, 0.1, "every pushed event stored")
    stored = stored_ids(conn)
    assert Counter(stored).most_common(1)[0][1] == 1 and len(stored) == len(pushed)
    wait_for(lambda: receiver.delivered_ids("hook") >= set(pushed), 60, 0.1, "every event delivered")
    answered = Counter(r.payload_id for r in receiver.snapshot() if 200 <= r.status < 300)
    assert max(answered.values()) == 1, "an event was delivered twice"
    assert all(r.signature_ok for r in receiver.snapshot())
    freed_at = time.time()
    snap = wait_for(lambda: fresh_snapshot(daemon, freed_at), 20, what="a status snapshot with Redis writable")
    now = {p["name"]: (p["pid"], p["restarts"]) for p in snap["processes"]}
    for name in LONG_LIVED:
        assert now[name] == (before[name], 0), (name, now[name], before[name])
    log = daemon.log_text()
    assert SECRET_TEXT not in log
    assert "Traceback" not in log, daemon.log_tail(80)
    assert "holding it and retrying" in log or stored_while_held == len(pushed)
    print(
        f"ceiling held {HOLD:.0f}s: {len(pushed)} events pushed, {stored_while_held} stored while held, "
        f"{len(set(stored))} stored in the end, {len(answered)} delivered once; attacker: "
        f"{attacker.enqueued} jobs enqueued, {attacker.refused} refused"
    )


class Flood(threading.Thread):
    """Enqueues big jobs of incompressible junk on `wa` to run now, as fast as Redis takes
    them, a few per MULTI (what rq's enqueue writes, raw): more than a wa-worker can fail."""

    BATCH = 4

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        from redis import Redis

        self.conn = Redis.from_url(url)
        self.stop = threading.Event()
        self.enqueued = self.refused = 0

    def run(self) -> None:
        from rq.job import Job

        queue_key = f"rq:queue:{keys.WA_QUEUE}"
        junk = base64.b64encode(os.urandom(1536 * 1024)).decode()  # 2 MB as stored
        record = Job.create(
            "workers.wa.send_image",
            kwargs={"to": "15551234567@s.whatsapp.net", "image": junk},
            connection=self.conn,
            serializer=SERIALIZER,
            origin=keys.WA_QUEUE,
        ).to_dict()
        while not self.stop.is_set():
            ids = [uuid.uuid4().hex for _ in range(self.BATCH)]
            try:
                with self.conn.pipeline(transaction=True) as pipe:
                    for job_id in ids:
                        pipe.hset(Job.key_for(job_id), mapping=record)
                    pipe.rpush(queue_key, *ids)
                    pipe.execute()
                self.enqueued += self.BATCH
            except RedisError:
                self.refused += 1
                self.stop.wait(0.02)


def test_a_flood_of_junk_jobs_is_failed_and_dropped_while_every_event_gets_through(daemon, receiver):
    conn = daemon.redis
    before = pids(daemon)
    push = conn.register_script(PUSH_ANYWAY)
    flood = Flood(daemon.redis_url)
    flood.start()
    pushed: list[str] = []
    try:
        started = due = time.monotonic()
        while time.monotonic() - started < 15 or not flood.refused:
            assert time.monotonic() - started < 40, "the flood never reached the ceiling"
            n = len(pushed)
            push(keys=[keys.FAKE_INBOUND, "wagw-test:nothing"], args=[json.dumps(message(n))])
            pushed.append(message(n)["id"])
            due += 1 / INBOUND_RATE
            time.sleep(max(0.0, due - time.monotonic()))
    finally:
        flood.stop.set()
        flood.join(10)
    wait_for(lambda: set(stored_ids(conn)) >= set(pushed), 60, 0.1, "every pushed event stored")
    stored = stored_ids(conn)
    assert len(stored) == len(set(stored)) == len(pushed)
    wait_for(lambda: receiver.delivered_ids("hook") >= set(pushed), 60, 0.1, "every event delivered")
    answered = Counter(r.payload_id for r in receiver.snapshot() if 200 <= r.status < 300)
    assert max(answered.values()) == 1, "an event was delivered twice"
    # the junk ran (and failed) and keeps no more than its trace
    wait_for(lambda: conn.llen(f"rq:queue:{keys.WA_QUEUE}") == 0, 60, 0.2, "the junk drained")
    failed = [key for key in conn.scan_iter(match="rq:job:*") if conn.hget(key, "status") == b"failed"]
    assert failed and max(conn.memory_usage(key, samples=0) or 0 for key in failed) <= 64 * 1024
    freed_at = time.time()
    snap = wait_for(lambda: fresh_snapshot(daemon, freed_at), 20, what="a status snapshot with Redis writable")
    now = {p["name"]: (p["pid"], p["restarts"]) for p in snap["processes"]}
    for name in LONG_LIVED:
        assert now[name] == (before[name], 0), (name, now[name], before[name])
    log = daemon.log_text()
    assert SECRET_TEXT not in log
    assert "Traceback" not in log, daemon.log_tail(80)
    print(
        f"flood: {flood.enqueued} junk jobs ({flood.enqueued * 2} MB) enqueued, {flood.refused} refused; "
        f"{len(pushed)} events pushed, all stored and delivered once"
    )
