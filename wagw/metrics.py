"""Prometheus metrics for a daemon made of many processes.

Each process records what it did with one Redis command, through `incr` and `observe`
(they also take a pipeline, so the session adds its count to the write it already makes).
One exporter reads those numbers, plus queue depths from RQ's registries and device states
from the status heartbeats, and serves them on WAGW_METRICS_ADDR. Counters therefore survive
the restart of the process that counted them, and any process can be killed without losing
its numbers.

Storage: one hash per counter, field = the label set as JSON; one hash per histogram, fields
`<labels>\\t<bucket index>` (non-cumulative), `<labels>\\tsum` and `<labels>\\tcount`. A tab
never appears in JSON text, so the split is unambiguous.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loguru import logger
from redis.client import Pipeline
from redis.exceptions import RedisError

from wagw import keys

if TYPE_CHECKING:
    from redis import Redis

    Conn = Redis | Pipeline

PREFIX = "wagw_"
MAX_LABEL_VALUE = 64  # label values are bounded: operations, outcomes, process names
HTTP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
WA_JOB_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)


@dataclass(frozen=True)
class Metric:
    name: str  # without the wagw_ prefix and without _total
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()  # empty: a counter

    @property
    def is_histogram(self) -> bool:
        return bool(self.buckets)


# Every metric a process may record. Names are part of the public surface (dashboards,
# alerts): add freely, rename never.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("events_received", "Inbound WhatsApp events appended to the event log.", ("event", "account")),
        Metric(
            "events_duplicate",
            "Inbound events dropped as already seen (redelivered by WhatsApp).",
            ("event", "account"),
        ),
        Metric(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered, retry (will be tried again), failed (gave up).",
            ("outcome",),
        ),
        Metric("webhook_delivery_seconds", "Duration of webhook delivery attempts.", ("outcome",), HTTP_BUCKETS),
        Metric(
            "wa_jobs",
            "wa jobs by operation and outcome: ok, error, invalid, crashed, timeout, quarantined, poisoned, "
            "outcome_unknown, reach_out_limited.",
            ("operation", "outcome", "account"),
        ),
        Metric("wa_job_seconds", "Duration of wa jobs, host start included.", ("operation", "account"), WA_JOB_BUCKETS),
        Metric(
            "native_host_crashes",
            "Native hosts that died during a call (Go panic, signal).",
            ("operation", "account"),
        ),
        Metric(
            "quarantines",
            "Times an operation was quarantined after repeated native crashes.",
            ("operation", "account"),
        ),
        Metric(
            "poisonings",
            "Times a target (JID or phone number) was poisoned for an operation after repeated native crashes.",
            ("operation", "account"),
        ),
        Metric(
            "reach_out_limits",
            "Sends WhatsApp refused with its reach-out limit (error 463) after the warm-up and retry, "
            "each holding the account's first-contact sends.",
            ("account",),
        ),
        Metric("process_restarts", "Child processes restarted by the supervisor.", ("process",)),
        Metric(
            "redis_shed_jobs",
            "Failed or finished wa jobs removed, oldest first, to give inbound events their reserve in Redis.",
            ("registry",),
        ),
        Metric(
            "jobs_dead_lettered",
            "Job ids on a queue that could not be read as jobs, moved to the dead-letter list, by reason.",
            ("queue", "reason"),
        ),
    )
}


def _label_field(metric: Metric, labels: dict[str, object]) -> str:
    if set(labels) != set(metric.labels):
        raise ValueError(f"metric {metric.name} takes labels {metric.labels}, got {tuple(labels)}")
    values = {name: str(labels[name])[:MAX_LABEL_VALUE] for name in metric.labels}
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def _metric(name: str, histogram: bool) -> Metric:
    metric = METRICS.get(name)
    if metric is None or metric.is_histogram != histogram:
        kind = "histogram" if histogram else "counter"
        raise ValueError(f"unknown {kind} {name!r}")
    return metric


def _safely(conn: Conn, write) -> None:
    # Counting must never break the work being counted. On a pipeline the caller's
    # execute() reports errors; on a client a Redis hiccup costs one sample.
    try:
        write()
    except RedisError as error:
        logger.debug("metrics: sample lost: {}", error)


def incr(conn: Conn, name: str, amount: int = 1, **labels: object) -> None:
    """Add `amount` to counter `name` with these labels."""
    metric = _metric(name, histogram=False)
    field = _label_field(metric, labels)
    _safely(conn, lambda: conn.hincrby(keys.METRIC_COUNTER.format(name=name), field, amount))


def observe(conn: Conn, name: str, seconds: float, **labels: object) -> None:
    """Record one duration in histogram `name`."""
    metric = _metric(name, histogram=True)
    field = _label_field(metric, labels)
    bucket = next((i for i, bound in enumerate(metric.buckets) if seconds <= bound), len(metric.buckets))
    key = keys.METRIC_HISTOGRAM.format(name=name)

    def write() -> None:
        # On the caller's pipeline the three commands join its transaction; else one round trip.
        pipe = conn if isinstance(conn, Pipeline) else conn.pipeline(transaction=False)
        pipe.hincrby(key, f"{field}\t{bucket}", 1)
        pipe.hincrby(key, f"{field}\tcount", 1)
        pipe.hincrbyfloat(key, f"{field}\tsum", seconds)
        if pipe is not conn:
            pipe.execute()

    _safely(conn, write)


def observe_many(pipe: Pipeline, name: str, samples: list[tuple[str, float]]) -> None:
    """observe() for a batch of (outcome, seconds), summed per bucket: the same histogram
    fields in a few commands instead of three per sample."""
    if not samples:
        return
    metric = METRICS[name]
    key = keys.METRIC_HISTOGRAM.format(name=name)
    fields: dict[str, int] = {}
    sums: dict[str, float] = {}
    labels: dict[str, str] = {}  # a batch has a few outcomes: each label encoded once
    for outcome, seconds in samples:
        label = labels.get(outcome) or labels.setdefault(outcome, _label_field(metric, {"outcome": outcome}))
        bucket = next((i for i, bound in enumerate(metric.buckets) if seconds <= bound), len(metric.buckets))
        for field_name in (f"{label}\t{bucket}", f"{label}\tcount"):
            fields[field_name] = fields.get(field_name, 0) + 1
        sums[label] = sums.get(label, 0.0) + seconds
    for field_name, amount in fields.items():
        pipe.hincrby(key, field_name, amount)
    for label, total in sums.items():
        pipe.hincrbyfloat(key, f"{label}\tsum", total)
