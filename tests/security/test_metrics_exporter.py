"""The metrics exporter as someone with Redis access, or a web page, would attack it: what it
reads from Redis cannot break the page, and it answers only to Host names that are its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chaos.polling import wait_for
from tests.integration.test_metrics_exporter import free_port
from wagw import keys, metrics

COUNTER = keys.METRIC_COUNTER.format(name="process_restarts")
HISTOGRAM = keys.METRIC_HISTOGRAM.format(name="webhook_delivery_seconds")
TERMINAL_ESCAPE = "\x1b]0;pwned\x07\u202e"


@pytest.fixture
def exporter(settings_env):
    """`wagw metrics` as a real process on a free port; yields (base URL, process)."""

    def start(*env: tuple[str, str]) -> tuple[str, subprocess.Popen]:
        for name, value in env:
            settings_env.setenv(name, value)
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "wagw", "metrics", "--addr", f"127.0.0.1:{port}"],
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base) or proc.poll() is not None, timeout=20, what="the exporter to listen")
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        return base, proc

    started: list[subprocess.Popen] = []
    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _answers(base: str) -> bool:
    try:
        httpx.get(f"{base}/metrics", timeout=2)
        return True
    except httpx.TransportError:
        return False


def _samples(text: str) -> dict[str, dict]:
    samples: dict[str, dict] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


@pytest.mark.timeout(60)
def test_samples_wagw_did_not_write_are_skipped_counted_and_logged_once(exporter, redis_conn):
    metrics.incr(redis_conn, "process_restarts", 2, process="wa-worker-1")
    metrics.observe(redis_conn, "webhook_delivery_seconds", 0.2, outcome="delivered")
    malformed = {
        COUNTER: {
            b"not json": b"1",
            b"[1, 2]": b"1",  # JSON, not an object
            b'{"process": 7}': b"1",  # a label value that is not text
            b'{"process":"session"}': b"many",  # a count that is not a number
            b'{"process":"\xff\xfe"}': b"1",  # not UTF-8
            TERMINAL_ESCAPE.encode(): b"1",
        },
        HISTOGRAM: {
            b"garbage": b"1",  # no tab: no bucket
            b'{"outcome":"delivered"}\t99': b"1",  # a bucket the histogram does not have
            b'{"outcome":"delivered"}\tsum': b"NaN-ish",
        },
    }
    for key, fields in malformed.items():
        redis_conn.hset(key, mapping=fields)
    redis_conn.set(keys.METRIC_COUNTER.format(name="quarantines"), "a string, not a hash")
    redis_conn.set(keys.DEVICE_STATUS.format(role="worker-9"), "not a heartbeat")
    redis_conn.hset(keys.DEVICE_STATUS.format(role="\udcff").encode(errors="surrogateescape"), "connected", "1")
    redis_conn.hset(keys.POISON.format(operation="send_text"), "15551234567", "not JSON")
    # The same label set spelled another way (an older wagw, or anyone) adds up, never a
    # second series with the same labels, which Prometheus would refuse.
    redis_conn.hset(COUNTER, '{"process": "wa-worker-1"}', 3)

    base, proc = exporter()
    pages = [httpx.get(f"{base}/metrics", timeout=10) for _ in range(3)]

    assert [page.status_code for page in pages] == [200, 200, 200]
    samples = _samples(pages[-1].text)
    assert samples["wagw_redis_up"][frozenset()] == 1
    assert samples["wagw_process_restarts_total"] == {frozenset({("process", "wa-worker-1")}): 5}
    delivered = frozenset({("outcome", "delivered")})
    assert samples["wagw_webhook_delivery_seconds_count"][delivered] == 1
    assert samples["wagw_webhook_delivery_seconds_sum"][delivered] == 0  # its only sum was unreadable
    assert "wagw_quarantines_total" not in samples and "# TYPE wagw_quarantines_total counter" in pages[-1].text
    assert samples["wagw_queue_jobs"]  # the rest of the page is there
    assert samples["wagw_device_connected"] == {frozenset({("role", "\\xff")}): 1}  # a name, escaped
    assert samples["wagw_malformed_samples"][frozenset()] == 6 + 3 + 1 + 1 + 1

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    output = proc.stdout.read() if proc.stdout else ""
    warnings = [line for line in output.splitlines() if "malformed" in line]
    assert len(warnings) == 1, output  # once, not at every scrape
    assert "WARNING" in warnings[0] and "skipped 12 " in warnings[0]
    assert "\x1b" not in output and "\u202e" not in output  # what it quotes is escaped


@pytest.mark.timeout(60)
def test_a_rebound_dns_name_reads_no_metrics(exporter):
    base, _ = exporter(("WAGW_METRICS_HOSTS", "prometheus-target.internal"))
    rebound = httpx.get(f"{base}/metrics", headers={"Host": "attacker.example"}, timeout=5)
    assert rebound.status_code == 421
    assert "wagw_" not in rebound.text.lower().replace("wagw_metrics_hosts", "")
    for host in (base.removeprefix("http://"), "localhost:9182", "[::1]:9182", "Prometheus-Target.internal:9182"):
        answer = httpx.get(f"{base}/metrics", headers={"Host": host}, timeout=5)
        assert answer.status_code == 200 and "wagw_redis_up 1.0" in answer.text, host
