"""`wagw metrics` as a real process, scraped over HTTP, against the real test Redis and RQ."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue

from chaos.polling import wait_for
from wagw import keys, metrics
from wagw.redisconn import SERIALIZER


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(url: str) -> dict[str, dict]:
    try:
        response = httpx.get(url, timeout=2)
    except httpx.TransportError:
        return {}
    samples: dict[str, dict] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


def test_exporter_process_serves_counters_queue_depths_and_stops_on_sigterm(settings_env, redis_conn, redis_url):
    wa = Queue(keys.WA_QUEUE, connection=redis_conn, serializer=SERIALIZER)
    for _ in range(3):
        wa.enqueue("workers.wa.send_text", to="15551234567", text="hi")
    failed = wa.enqueue("workers.wa.fetch_avatar", jid="crash@s.whatsapp.net")
    wa.remove(failed)
    wa.failed_job_registry.add(failed, ttl=600, exc_string="panic: runtime error")
    metrics.incr(redis_conn, "native_host_crashes", operation="fetch_avatar", account="default")
    metrics.incr(redis_conn, "wa_jobs", operation="fetch_avatar", outcome="crashed", account="default")
    metrics.observe(redis_conn, "wa_job_seconds", 0.7, operation="fetch_avatar", account="default")

    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wagw", "metrics", "--addr", f"127.0.0.1:{port}"],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        samples = wait_for(lambda: scrape(url), timeout=20, what="the exporter to answer")

        depth = samples["wagw_queue_jobs"]
        assert depth[frozenset({("queue", "wa"), ("state", "queued")})] == 3
        assert depth[frozenset({("queue", "wa"), ("state", "failed")})] == 1
        assert depth[frozenset({("queue", "webhooks"), ("state", "queued")})] == 0
        assert (
            samples["wagw_native_host_crashes_total"][
                frozenset({("operation", "fetch_avatar"), ("account", "default")})
            ]
            == 1
        )
        assert (
            samples["wagw_wa_job_seconds_count"][frozenset({("operation", "fetch_avatar"), ("account", "default")})]
            == 1
        )

        # Counters written after start show up at the next scrape: nothing is cached.
        metrics.incr(redis_conn, "process_restarts", process="wa-worker-1")
        assert scrape(url)["wagw_process_restarts_total"][frozenset({("process", "wa-worker-1")})] == 1

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_supervisor_counts_restarts_of_its_children(redis_conn):
    """The supervisor core on a real child that keeps exiting: each restart is counted."""
    from wagw.supervisor.core import Supervisor
    from wagw.supervisor.osapi import MonotonicClock, OsLauncher
    from wagw.supervisor.state import Child, ChildSpec, RestartPolicy

    clock = MonotonicClock()
    policy = RestartPolicy(start_seconds=0.1, backoff_steps=(0.0, 0.1), max_start_failures=50)
    child = Child(
        ChildSpec("flaky", [sys.executable, "-c", "raise SystemExit(1)"]), policy, OsLauncher(dict(os.environ)), clock
    )
    supervisor = Supervisor([child], clock=clock, grace=1.0, status_redis=redis_conn, tick=0.02)
    child.start()
    try:

        def restarted_twice():
            supervisor._step()  # one turn of the supervisor loop (run() would install signal handlers)
            return child.restarts >= 2

        wait_for(restarted_twice, timeout=20, what="two restarts")
    finally:
        child.force()
    counted = {
        k.decode(): int(v) for k, v in redis_conn.hgetall(keys.METRIC_COUNTER.format(name="process_restarts")).items()
    }
    assert counted == {'{"process":"flaky"}': child.restarts}
