"""Metrics recording and exposition: pure logic against fakeredis."""

from __future__ import annotations

import fakeredis
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from wagw import exporter, keys, metrics, quarantine
from wagw.config import Settings
from wagw.operations import OPERATIONS
from wagw.quarantine import Target


@pytest.fixture
def conn():
    return fakeredis.FakeRedis()


def scrape(conn) -> dict[str, dict]:
    """{sample name: {frozenset(labels): value}} as Prometheus would parse the page."""
    text = generate_latest(exporter.registry_for(conn)).decode()
    samples: dict[str, dict] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


def test_counters_add_up_per_label_set(conn):
    metrics.incr(conn, "wa_jobs", operation="send_text", outcome="ok", account="default")
    metrics.incr(conn, "wa_jobs", operation="send_text", outcome="ok", account="default")
    metrics.incr(conn, "wa_jobs", operation="fetch_avatar", outcome="crashed", account="sales")
    metrics.incr(conn, "process_restarts", 3, process="session")

    samples = scrape(conn)

    jobs = samples["wagw_wa_jobs_total"]
    assert jobs[frozenset({("operation", "send_text"), ("outcome", "ok"), ("account", "default")})] == 2
    assert jobs[frozenset({("operation", "fetch_avatar"), ("outcome", "crashed"), ("account", "sales")})] == 1
    assert samples["wagw_process_restarts_total"][frozenset({("process", "session")})] == 3


def test_histogram_buckets_are_cumulative_with_sum_and_count(conn):
    for seconds in (0.03, 0.2, 0.2, 7.0, 99.0):
        metrics.observe(conn, "webhook_delivery_seconds", seconds, outcome="delivered")

    samples = scrape(conn)
    labels = lambda le: frozenset({("outcome", "delivered"), ("le", le)})  # noqa: E731
    buckets = samples["wagw_webhook_delivery_seconds_bucket"]
    assert buckets[labels("0.05")] == 1
    assert buckets[labels("0.1")] == 1
    assert buckets[labels("0.25")] == 3
    assert buckets[labels("5.0")] == 3
    assert buckets[labels("10.0")] == 4
    assert buckets[labels("30.0")] == 4
    assert buckets[labels("+Inf")] == 5
    assert samples["wagw_webhook_delivery_seconds_count"][frozenset({("outcome", "delivered")})] == 5
    assert samples["wagw_webhook_delivery_seconds_sum"][frozenset({("outcome", "delivered")})] == pytest.approx(106.43)


def test_works_inside_the_callers_pipeline(conn):
    pipe = conn.pipeline()
    metrics.incr(pipe, "events_received", event="message", account="default")
    metrics.observe(pipe, "wa_job_seconds", 0.4, operation="send_text", account="default")
    assert scrape(conn).get("wagw_events_received_total", {}) == {}  # nothing until execute()
    pipe.execute()

    samples = scrape(conn)
    assert samples["wagw_events_received_total"][frozenset({("event", "message"), ("account", "default")})] == 1
    assert samples["wagw_wa_job_seconds_count"][frozenset({("operation", "send_text"), ("account", "default")})] == 1


def test_unknown_names_and_wrong_labels_are_programming_errors(conn):
    with pytest.raises(ValueError, match="unknown counter"):
        metrics.incr(conn, "no_such_metric", outcome="ok")
    with pytest.raises(ValueError, match="unknown counter"):
        metrics.incr(conn, "wa_job_seconds", operation="x")  # a histogram, not a counter
    with pytest.raises(ValueError, match="takes labels"):
        metrics.incr(conn, "wa_jobs", operation="send_text")  # outcome missing


def test_label_values_are_bounded(conn):
    metrics.incr(conn, "native_host_crashes", operation="x" * 500, account="default")
    (value,) = conn.hgetall(keys.METRIC_COUNTER.format(name="native_host_crashes")).keys()
    assert len(value) < 120


def unreachable_redis():
    server = fakeredis.FakeServer()
    server.connected = False  # fakeredis: every command raises ConnectionError
    return fakeredis.FakeRedis(server=server)


def test_a_redis_outage_costs_a_sample_not_the_caller():
    broken = unreachable_redis()
    metrics.incr(broken, "events_received", event="message", account="default")
    metrics.observe(broken, "wa_job_seconds", 1.0, operation="send_text", account="default")


def test_exporter_reports_redis_down_instead_of_failing_the_scrape():
    broken = unreachable_redis()
    samples = scrape(broken)
    assert samples["wagw_redis_up"][frozenset()] == 0
    assert "wagw_wa_jobs_total" not in samples


def test_devices_quarantines_and_session_gauge(conn):
    conn.hset(keys.DEVICE_STATUS.format(role="session"), mapping={"paired": "1", "connected": "1"})
    conn.hset(keys.DEVICE_STATUS.format(role="worker-1"), mapping={"paired": "1", "connected": "0"})
    conn.set(keys.QUARANTINE.format(operation="fetch_avatar"), "1")

    samples = scrape(conn)

    assert samples["wagw_redis_up"][frozenset()] == 1
    assert samples["wagw_session_connected"][frozenset({("account", "default")})] == 1
    assert samples["wagw_device_connected"][frozenset({("role", "worker-1")})] == 0
    assert samples["wagw_device_paired"][frozenset({("role", "worker-1")})] == 1
    assert samples["wagw_quarantined"] == {frozenset({("operation", "fetch_avatar")}): 1}


def test_poisoned_targets_are_counted_per_operation_never_labelled(conn):
    settings = Settings(_env_file=None, poison_crashes=1)
    for target in ("15551234567@s.whatsapp.net", "15557654321@s.whatsapp.net"):
        quarantine.record_crash(
            conn, settings, "fetch_avatar", target=Target.of(target), process="p", exit="signal SIGABRT", panic=""
        )

    samples = scrape(conn)

    poisoned = samples["wagw_poisoned_targets"]
    assert poisoned[frozenset({("operation", "fetch_avatar")})] == 2
    assert poisoned[frozenset({("operation", "send_text")})] == 0
    assert set(poisoned) == {frozenset({("operation", name)}) for name in OPERATIONS}  # bounded: one per operation
    assert "1555" not in generate_latest(exporter.registry_for(conn)).decode()


def test_session_gauge_is_zero_when_the_session_stops_reporting(conn):
    assert scrape(conn)["wagw_session_connected"][frozenset({("account", "default")})] == 0


def test_every_declared_metric_is_exposed_even_before_its_first_sample(conn):
    text = generate_latest(exporter.registry_for(conn)).decode()
    for name, metric in metrics.METRICS.items():
        declared = f"# TYPE wagw_{name} histogram" if metric.is_histogram else f"# TYPE wagw_{name}_total counter"
        assert declared in text
    assert "# TYPE wagw_queue_jobs gauge" in text


def test_accounts_have_their_own_session_gauge_and_queue(conn):
    conn.hset(keys.DEVICE_STATUS.format(role="sales/session"), mapping={"connected": "1", "paired": "1"})
    conn.hset(keys.DEVICE_STATUS.format(role="support/session"), mapping={"connected": "0", "paired": "1"})
    conn.sadd("rq:queues", "rq:queue:wa.sales")
    samples = scrape(conn)
    assert samples["wagw_session_connected"] == {
        frozenset({("account", "sales")}): 1,
        frozenset({("account", "support")}): 0,
    }
    queued = samples["wagw_queue_jobs"]
    assert {dict(labels)["queue"] for labels in queued} == {"wa", "wa.sales", "webhooks"}
