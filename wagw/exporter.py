"""The metrics exporter process (`wagw metrics`): reads what every process recorded through
wagw.metrics, plus queue depths, device heartbeats, quarantines and poisoned targets, from
Redis at each scrape and serves them on WAGW_METRICS_ADDR."""

from __future__ import annotations

import json
import signal
import threading
from typing import TYPE_CHECKING

from loguru import logger
from redis.exceptions import RedisError

from wagw import __version__, keys, quarantine
from wagw.accounts import DEFAULT
from wagw.metrics import METRICS, PREFIX, Metric
from wagw.names import SESSION
from wagw.operations import OPERATIONS
from wagw.redisconn import as_text, hash_text, memory

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from redis import Redis

    from wagw.config import Settings


QUEUES = (keys.WA_QUEUE, keys.WEBHOOKS_QUEUE)  # always shown; each account's `wa.<name>` once it exists


def queue_names(conn: Redis) -> list[str]:
    """wagw's queues in Redis: `wa`, every account's `wa.<name>` (from RQ's own set of
    queues, so accounts on other hosts count too) and `webhooks`."""
    from rq import Queue

    names = set(QUEUES) | {queue.name for queue in Queue.all(connection=conn) if queue.name.startswith("wa.")}
    return sorted(names, key=lambda name: (name == keys.WEBHOOKS_QUEUE, name))


class WagwCollector:
    """A prometheus_client collector that reads everything from Redis at each scrape."""

    def __init__(self, conn: Redis) -> None:
        self.conn = conn

    def collect(self) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily(PREFIX + "redis_up", "1 if the exporter could read Redis at this scrape.")
        try:
            families = list(self._families())
        except RedisError as error:
            logger.warning("metrics: cannot read Redis: {}", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterator:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        info = GaugeMetricFamily(PREFIX + "build_info", "wagw version.", labels=["version"])
        info.add_metric([__version__], 1)
        yield info

        pipe = self.conn.pipeline(transaction=False)
        for metric in METRICS.values():
            key = keys.METRIC_HISTOGRAM if metric.is_histogram else keys.METRIC_COUNTER
            pipe.hgetall(key.format(name=metric.name))
        stored = dict(zip(METRICS, pipe.execute(), strict=False))

        for name, metric in METRICS.items():
            fields = {k.decode(): v.decode() for k, v in stored[name].items()}
            if metric.is_histogram:
                histogram = HistogramMetricFamily(PREFIX + name, metric.help, labels=list(metric.labels))
                for labels, (buckets, total) in _histograms(metric, fields).items():
                    histogram.add_metric(labels, buckets, total)
                yield histogram
            else:
                counter = CounterMetricFamily(PREFIX + name, metric.help, labels=list(metric.labels))
                for field, value in sorted(fields.items()):
                    counter.add_metric(_label_values(metric, field), float(value))
                yield counter

        yield from self._queues()
        yield from self._devices()
        yield from self._quarantines()
        yield from self._memory()

    def _memory(self) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily

        mem = memory(self.conn)
        if mem is None:
            return
        used = GaugeMetricFamily(PREFIX + "redis_memory_used_bytes", "Memory Redis uses.")
        used.add_metric([], mem["used_bytes"])
        ceiling = GaugeMetricFamily(
            PREFIX + "redis_memory_max_bytes", "Redis's memory ceiling (0: none); past it writes are refused."
        )
        ceiling.add_metric([], mem["max_bytes"])
        yield used
        yield ceiling

    def _queues(self) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily
        from rq import Queue
        from rq.registry import (
            DeferredJobRegistry,
            FailedJobRegistry,
            FinishedJobRegistry,
            ScheduledJobRegistry,
            StartedJobRegistry,
        )

        family = GaugeMetricFamily(
            PREFIX + "queue_jobs",
            "Jobs per queue and state (queued, started, scheduled, deferred, failed, finished).",
            labels=["queue", "state"],
        )
        registries = {
            "started": StartedJobRegistry,
            "scheduled": ScheduledJobRegistry,
            "deferred": DeferredJobRegistry,
            "failed": FailedJobRegistry,
            "finished": FinishedJobRegistry,
        }
        for name in queue_names(self.conn):
            family.add_metric([name, "queued"], Queue(name, connection=self.conn).count)
            for state, registry in registries.items():
                count = registry(name, connection=self.conn).get_job_count(cleanup=False)
                family.add_metric([name, state], count)
        yield family

    def _devices(self) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily

        connected = GaugeMetricFamily(
            PREFIX + "device_connected", "1 while a device role reports a live WhatsApp connection.", labels=["role"]
        )
        paired = GaugeMetricFamily(
            PREFIX + "device_paired", "1 while a device role reports paired keys.", labels=["role"]
        )
        session = GaugeMetricFamily(
            PREFIX + "session_connected",
            "1 while an account's session (inbound) is connected to WhatsApp; 0 when it says otherwise or stops "
            "reporting.",
            labels=["account"],
        )
        sessions: dict[str, int] = {}
        pattern = keys.DEVICE_STATUS.format(role="*")
        prefix = pattern[:-1]
        for key in sorted(self.conn.scan_iter(match=pattern, count=100)):
            role = str(as_text(key))[len(prefix) :]
            status = hash_text(self.conn.hgetall(key))
            is_connected = 1 if status.get("connected") == "1" else 0
            connected.add_metric([role], is_connected)
            paired.add_metric([role], 1 if status.get("paired") == "1" else 0)
            account, _, base = role.rpartition("/")
            if base == SESSION:
                sessions[account or DEFAULT] = is_connected
        for account, value in sorted((sessions or {DEFAULT: 0}).items()):
            session.add_metric([account], value)
        yield session
        yield connected
        yield paired

    def _quarantines(self) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            PREFIX + "quarantined", "1 for each operation currently quarantined (failing fast).", labels=["operation"]
        )
        pattern = keys.QUARANTINE.format(operation="*")
        prefix = pattern[:-1]
        for key in sorted(self.conn.scan_iter(match=pattern, count=100)):
            family.add_metric([key.decode()[len(prefix) :]], 1)
        yield family
        # A count per operation, never a label per target: targets are phone numbers and
        # unbounded (`wagw status` lists them, masked).
        poisoned = GaugeMetricFamily(
            PREFIX + "poisoned_targets",
            "Targets (JIDs or phone numbers) currently failing fast for an operation after repeated native crashes.",
            labels=["operation"],
        )
        for operation, count in quarantine.poisoned_counts(self.conn, OPERATIONS).items():
            poisoned.add_metric([operation], count)
        yield poisoned


def _label_values(metric: Metric, field: str) -> list[str]:
    values = json.loads(field)
    return [str(values.get(name, "")) for name in metric.labels]


def _histograms(metric: Metric, fields: dict[str, str]) -> dict[tuple[str, ...], tuple[list, float]]:
    """Cumulative buckets and sum per label set, from the non-cumulative stored counts."""
    per_labels: dict[str, dict[str, str]] = {}
    for field, value in fields.items():
        labels, _, part = field.partition("\t")
        per_labels.setdefault(labels, {})[part] = value
    result = {}
    for labels, parts in sorted(per_labels.items()):
        running = 0
        buckets = []
        for index, bound in enumerate(metric.buckets):
            running += int(parts.get(str(index), 0))
            buckets.append((_format_bound(bound), running))
        buckets.append(("+Inf", int(parts.get("count", 0))))
        result[tuple(_label_values(metric, labels))] = (buckets, float(parts.get("sum", 0.0)))
    return result


def _format_bound(bound: float) -> str:
    return repr(float(bound))


def registry_for(conn: Redis):
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(WagwCollector(conn))
    return registry


def serve(settings: Settings, addr: str | None = None):
    """Serve /metrics in a daemon thread (for the supervisor). Returns (server, thread);
    stop with server.shutdown()."""
    from prometheus_client import start_http_server

    from wagw.redisconn import connect

    host, _, port = (addr or settings.metrics_addr).rpartition(":")
    server, thread = start_http_server(int(port), host.strip("[]"), registry=registry_for(connect(settings)))
    logger.info("metrics on http://{}/metrics", addr or settings.metrics_addr)
    return server, thread


def main(settings: Settings, args: argparse.Namespace) -> int:
    """`wagw metrics`: the exporter alone (supervisord setups, or a separate host)."""
    from wagw.exitcodes import ExitCode

    addr = getattr(args, "addr", None) or settings.metrics_addr or "127.0.0.1:9182"
    try:
        server, _ = serve(settings, addr)
    except (OSError, ValueError) as error:
        logger.error("metrics cannot listen on {}: {}", addr, error)
        return ExitCode.CONFIG if isinstance(error, ValueError) else ExitCode.TEMPFAIL
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    server.shutdown()
    return ExitCode.OK
