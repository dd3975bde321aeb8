"""The reserve Redis keeps for inbound events (WAGW_REDIS_RESERVE_PERCENT): when what apps made
eats into it, the scheduler's shedder removes failed, then finished, wa jobs, oldest first,
and nothing else; `wagw status`, the metrics and `wagw doctor` show the headroom. On the real
embedded redis-server with a 64 MB ceiling."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

import pytest
from prometheus_client import generate_latest
from rq import Queue
from rq.registry import FailedJobRegistry, FinishedJobRegistry

from tests.integration.redis_full_harness import small_redis
from wagw import devices, exporter, headroom, keys
from wagw.devices import DeviceState
from wagw.redisconn import SERIALIZER
from wagw.scheduler.shedder import Shedder

MIB = 2**20
SECRET_TEXT = "only-for-alice"


@pytest.fixture
def small(settings_env):
    with small_redis() as (url, conn):
        settings_env.setenv("WAGW_REDIS_URL", url)
        settings_env.setenv("WAGW_REDIS_RESERVE_PERCENT", "20")
        settings_env.setenv("WAGW_WEBHOOK_URLS", "http://hooks.example/in")
        settings_env.setenv("WAGW_WEBHOOK_SECRET", "test-secret-of-16-bytes")
        yield conn


@pytest.fixture
def settings(small):
    from wagw.config import Settings

    return Settings(_env_file=None)


def junk_job(queue: Queue, size: int = MIB):
    """A wa job carrying `size` random base64 characters (about 0.83 MiB in Redis each), as an
    app could enqueue it."""
    text = base64.b64encode(os.urandom(size * 3 // 4)).decode()
    return queue.enqueue("workers.wa.send_text", to="15551234567@s.whatsapp.net", text=f"{SECRET_TEXT} {text}")


def ended(queue: Queue, registry, age: int) -> str:
    """A junk job moved into `registry`; the lower `age`, the sooner it expires (the older)."""
    job = junk_job(queue)
    queue.remove(job)
    registry.add(job, ttl=3600 + age)
    return job.id


def until_short(conn, settings, make, by: int = 2 * MIB) -> list[str]:
    """make(n) jobs until the headroom is `by` bytes short of the reserve: their ids."""
    ids: list[str] = []
    while (room := headroom.measure(conn, settings)) is not None and room.over_by < by:
        ids.append(make(len(ids)))
    return ids


def inbound(conn, count: int) -> None:
    for n in range(count):
        conn.xadd(keys.EVENTS_STREAM, {"id": f"e{n}", "name": "message", "event": json.dumps({"text": "x" * 300})})
        conn.set(keys.EVENT_SEEN.format(event_id=f"e{n}"), "1", ex=3600)


def test_the_shedder_removes_failed_wa_jobs_oldest_first_until_the_reserve_is_whole(small, settings, log_lines):
    wa = Queue(keys.WA_QUEUE, connection=small, serializer=SERIALIZER)
    sales = Queue("wa.default", connection=small, serializer=SERIALIZER)
    finished = [ended(wa, FinishedJobRegistry(queue=wa), n) for n in range(5)]
    queued = [junk_job(wa).id for _ in range(5)]
    deliveries = Queue(keys.WEBHOOKS_QUEUE, connection=small, serializer=SERIALIZER)
    delivery = deliveries.enqueue("workers.webhooks.deliver", "endpoint", "e1", "{}")
    inbound(small, 200)
    # failed jobs on two queues, their ages interleaved: the oldest go first, whatever the queue
    registries = {wa: FailedJobRegistry(queue=wa), sales: FailedJobRegistry(queue=sales)}
    failed = until_short(small, settings, lambda n: ended((wa, sales)[n % 2], registries[(wa, sales)[n % 2]], n))
    before = headroom.measure(small, settings)
    assert before is not None and before.below_reserve, before

    removed = Shedder(small, settings).run(["wa", "wa.default"])

    after = headroom.measure(small, settings)
    assert after is not None and after.headroom_bytes >= after.reserve_bytes * 1.1, after
    jobs, freed = removed["failed"]
    assert "finished" not in removed  # failed jobs were enough
    assert freed >= before.over_by
    left = set(registries[wa].get_job_ids()) | set(registries[sales].get_job_ids())
    gone = [job_id for job_id in failed if job_id not in left]
    assert 0 < jobs < len(failed) and gone == failed[:jobs]  # the oldest, across both queues
    assert all(not small.exists(f"rq:job:{job_id}") for job_id in gone)
    # never shed: queued jobs, deliveries, events, dedup markers, finished jobs here
    assert wa.get_job_ids() == queued and deliveries.get_job_ids() == [delivery.id]
    assert small.xlen(keys.EVENTS_STREAM) == 200 and small.exists(keys.EVENT_SEEN.format(event_id="e0"))
    assert set(FinishedJobRegistry(queue=wa).get_job_ids()) == set(finished)
    text = "\n".join(log_lines)
    assert f"removed {jobs} failed wa jobs" in text and "oldest first" in text
    assert SECRET_TEXT not in text


def test_when_failed_jobs_are_not_enough_finished_ones_go_and_queued_ones_never(small, settings, log_lines):
    wa = Queue(keys.WA_QUEUE, connection=small, serializer=SERIALIZER)
    for n in range(3):
        ended(wa, FailedJobRegistry(queue=wa), n)
    for n in range(6):
        ended(wa, FinishedJobRegistry(queue=wa), n)
    # 9 MiB short: more than the failed and finished jobs take, so queued ones alone stay past it
    queued = until_short(small, settings, lambda n: junk_job(wa).id, by=9 * MIB)
    removed = Shedder(small, settings).run(["wa"])
    assert removed["failed"][0] == 3 and removed["finished"][0] == 6
    assert wa.get_job_ids() == queued
    room = headroom.measure(small, settings)
    assert room is not None and room.below_reserve  # queued jobs hold it: said, not shed
    assert "no failed or finished wa job is left to remove" in "\n".join(log_lines)


def test_status_metrics_and_doctor_show_the_headroom_and_a_blocked_session(small, settings, data_dir):
    wa = Queue(keys.WA_QUEUE, connection=small, serializer=SERIALIZER)
    inbound(small, 50)
    # 6 MiB short: a job's write leaves a query buffer of ~2 MiB that Redis frees a moment
    # later, which must not lift it back above the reserve before status reads it.
    until_short(small, settings, lambda n: junk_job(wa).id, by=6 * MIB)
    devices.publish(small, "session", state=DeviceState.CONNECTED, paired=True, connected=True, jid="1@s.whatsapp.net")
    heartbeat = keys.DEVICE_STATUS.format(role="session")
    small.hset(heartbeat, "updated", f"{time.time() - 30:.3f}")  # kept alive, not refreshed
    small.persist(heartbeat)  # as a blocked session keeps it, for as long as this test looks
    env = {**os.environ}

    report = json.loads(
        subprocess.run(
            [sys.executable, "-m", "wagw", "status", "--json"], env=env, capture_output=True, text=True, timeout=60
        ).stdout
    )
    memory = report["redis_memory"]
    assert memory["max_bytes"] == 64 * MIB and memory["reserve_bytes"] == 64 * MIB * 20 // 100
    assert memory["below_reserve"] is True and memory["headroom_bytes"] < memory["reserve_bytes"]
    assert 0 <= memory["headroom_events"] == memory["headroom_bytes"] // memory["event_bytes"]
    session = next(d for d in report["devices"] if d["role"] == "session")
    assert session["blocked"] == "Redis refuses its writes"
    human = subprocess.run(
        [sys.executable, "-m", "wagw", "status"], env={**env, "COLUMNS": "250"}, capture_output=True, text=True
    ).stdout
    assert "headroom" in human and "inbound events; reserve 12.8 MiB" in human and "blocked" in human

    scraped = generate_latest(exporter.registry_for(small, settings)).decode()
    samples = dict(line.rsplit(" ", 1) for line in scraped.splitlines() if not line.startswith("#"))
    assert float(samples["wagw_redis_reserve_bytes"]) == memory["reserve_bytes"]
    assert float(samples["wagw_redis_headroom_bytes"]) < memory["reserve_bytes"]
    assert float(samples["wagw_redis_headroom_events"]) >= 0
    assert samples['wagw_session_blocked{account="default"}'] == "1.0"
    assert samples['wagw_device_blocked{role="session"}'] == "1.0"

    doctor = json.loads(
        subprocess.run(
            [sys.executable, "-m", "wagw", "doctor", "--json"], env=env, capture_output=True, text=True, timeout=60
        ).stdout
    )
    [check] = [c for c in doctor["checks"] if c["name"] == "redis memory"]
    assert check["status"] == "warn" and "below the reserve" in check["what"], check
