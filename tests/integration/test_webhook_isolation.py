"""Endpoints stay out of each other's way inside one real webhook worker: a slow endpoint does
not delay a fast one, and a flood of failing deliveries (a dead endpoint's retries coming
due) does not starve fresh deliveries to a healthy one."""

from __future__ import annotations

import time

import pytest
from rq import Queue, Worker
from rq.registry import ScheduledJobRegistry

from chaos.polling import wait_for
from tests.integration.webhook_harness import Processes, Receiver
from wagw.webhooks.enqueue import enqueue_deliveries

SLOW = 10.0  # seconds the slow endpoint takes to answer


@pytest.fixture
def procs(settings_env, data_dir, redis_conn):
    settings_env.setenv("WAGW_WEBHOOK_SECRET", "s3cret-s3cret-s3cret")
    procs = Processes(data_dir, WAGW_LOG_LEVEL="INFO")
    yield procs
    procs.stop_all()


def settings_for(procs, settings_env, *urls: str, schedule: str = "1,1,1,1,1,1,1,1,1,1"):
    """The endpoints and schedule for the test's processes (started after) and the test itself."""
    from wagw.config import Settings

    settings_env.setenv("WAGW_WEBHOOK_URLS", ",".join(urls))
    settings_env.setenv("WAGW_WEBHOOK_RETRY_SCHEDULE", schedule)
    procs.env.update(WAGW_WEBHOOK_URLS=",".join(urls), WAGW_WEBHOOK_RETRY_SCHEDULE=schedule)
    return Settings(_env_file=None)


def enqueue(conn, settings, event_id: str) -> float:
    with conn.pipeline() as pipe:
        enqueue_deliveries(pipe, settings, event_id, "message", f'{{"id":"{event_id}"}}')
        pipe.execute()
    return time.time()


def latencies(receiver: Receiver, sent: dict[str, float]) -> list[float]:
    first = {}
    for request in receiver.snapshot():
        first.setdefault(request.event_id, request.time)
    return sorted(first[e] - t for e, t in sent.items() if e in first)


def test_a_slow_endpoint_does_not_delay_a_fast_one(procs, settings_env, redis_conn):
    # Bounds are set against the slow endpoint's answer time, not an idle machine's latency: a
    # fast delivery held behind a slow one would wait SLOW seconds or more.
    with Receiver(delay=SLOW) as slow, Receiver() as fast:
        settings = settings_for(procs, settings_env, slow.url, fast.url)
        procs.scheduler()
        procs.worker()
        try:
            # Latency is measured from a started worker: its start-up on a loaded machine is
            # not what this test is about.
            wait_for(
                lambda: Worker.count(queue=Queue("webhooks", connection=redis_conn)), 60, 0.05, "the worker to start"
            )
            sent = {}
            for n in range(200):
                sent[f"ev-{n}"] = enqueue(redis_conn, settings, f"ev-{n}")
                time.sleep(0.01)  # rate pacing: events arrive at about 100/s, as from a session
            wait_for(lambda: len(fast.delivered()) == 200, 20, what="all 200 at the fast endpoint")
            lat = latencies(fast, sent)
            assert lat[-1] < SLOW / 2, f"slowest fast-endpoint delivery took {lat[-1]:.2f} s"
            # Meanwhile the slow endpoint has had only a fraction, the rest waits its turn
            # (deferred into the scheduled registry, not holding the worker).
            assert len(slow.delivered()) < 100
            wait_for(
                lambda: ScheduledJobRegistry("webhooks", connection=redis_conn).count > 0,
                10,
                what="deferred deliveries for the slow endpoint",
            )
        except BaseException:
            print(procs.logs())
            raise


def test_a_flood_of_failing_retries_does_not_starve_fresh_deliveries(procs, settings_env, redis_conn):
    with Receiver() as dead, Receiver() as healthy:
        dead.down()  # connection refused, every time
        both = settings_for(procs, settings_env, dead.url, healthy.url)
        dead_only = both.model_copy(update={"webhook_urls": [dead.url]})
        healthy_only = both.model_copy(update={"webhook_urls": [healthy.url]})
        procs.scheduler()
        procs.worker()
        try:
            # 1,500 deliveries to the dead endpoint, retried every second or so: a constant flood.
            with redis_conn.pipeline() as pipe:
                for n in range(1500):
                    enqueue_deliveries(pipe, dead_only, f"dead-{n}", "message", '{"id":"x"}')
                pipe.execute()
            wait_for(
                lambda: ScheduledJobRegistry("webhooks", connection=redis_conn).count > 1000,
                20,
                what="the failing deliveries to come back as retries",
            )
            sent = {}
            for n in range(250):  # fresh events at 50/s while the flood goes on
                sent[f"fresh-{n}"] = enqueue(redis_conn, healthy_only, f"fresh-{n}")
                time.sleep(0.02)
            wait_for(lambda: len(healthy.delivered()) == 250, 20, what="all fresh deliveries")
            lat = latencies(healthy, sent)
            p99 = lat[int(len(lat) * 0.99) - 1]
            # Starved, the fresh ones would queue behind the flood and fall further behind as it
            # goes on; a loaded machine adds seconds, not a growing backlog.
            assert p99 < 4.0, f"fresh deliveries p99 {p99:.2f} s during the flood"
            assert lat[-1] < 6.0, f"the last fresh delivery took {lat[-1]:.2f} s: fell behind the flood"
            assert dead.snapshot() == []
        except BaseException:
            print(procs.logs())
            raise
