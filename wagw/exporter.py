"""The metrics exporter process (`wagw metrics`): reads what every process recorded through
wagw.metrics, plus queue depths, device heartbeats, quarantines and poisoned targets, from
Redis at each scrape and serves them on WAGW_METRICS_ADDR."""

from __future__ import annotations

import json
import math
import signal
import threading
from typing import TYPE_CHECKING

from loguru import logger
from redis.exceptions import RedisError, ResponseError

from wagw import __version__, devices, headroom, keys, quarantine, reachout, sendorder
from wagw.accounts import DEFAULT
from wagw.hostcheck import host_guard
from wagw.metrics import MAX_LABEL_VALUE, METRICS, PREFIX, Metric
from wagw.names import SESSION
from wagw.operations import OPERATIONS
from wagw.redisconn import hash_text, memory

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


class Malformed(ValueError):
    """A stored sample that is not what wagw.metrics writes."""


class WagwCollector:
    """A prometheus_client collector that reads everything from Redis at each scrape.

    Anyone who can write to Redis can write to wagw's metric keys: a sample that is not what
    wagw.metrics writes is skipped and counted (`wagw_malformed_samples`), never a failed
    scrape, and logged once (again only when the set of skipped samples changes)."""

    def __init__(self, conn: Redis, settings: Settings | None = None) -> None:
        self.conn = conn
        self.settings = settings  # for the reserve and headroom gauges (wagw.headroom)
        self._lock = threading.Lock()
        self._reported: int | None = None  # a digest of the skipped samples last logged

    def collect(self) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily(PREFIX + "redis_up", "1 if the exporter could read Redis at this scrape.")
        skipped: list[tuple[str, bytes]] = []  # (key, field) per scrape: scrapes may run at once
        try:
            families = list(self._families(skipped))
        except RedisError as error:
            logger.warning("metrics: cannot read Redis: {}", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families
        malformed = GaugeMetricFamily(
            PREFIX + "malformed_samples",
            "Values in wagw's metric, heartbeat and poison keys that wagw did not write, skipped at this scrape.",
        )
        malformed.add_metric([], len(skipped))
        yield malformed
        self._report(skipped)

    def _report(self, skipped: list[tuple[str, bytes]]) -> None:
        digest = hash(frozenset(skipped))
        with self._lock:
            if not skipped or digest == self._reported:
                return
            self._reported = digest
        key, field = skipped[0]
        logger.warning(
            "metrics: skipped {} malformed samples that wagw did not write (someone with Redis access did), "
            "e.g. {} field {!r}",
            len(skipped),
            key,
            field[:80],
        )

    def _families(self, skipped: list[tuple[str, bytes]]) -> Iterator:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        info = GaugeMetricFamily(PREFIX + "build_info", "wagw version.", labels=["version"])
        info.add_metric([__version__], 1)
        yield info

        names = {name: _key(metric) for name, metric in METRICS.items()}
        pipe = self.conn.pipeline(transaction=False)
        for key in names.values():
            pipe.hgetall(key)
        # A key someone replaced by another type answers WRONGTYPE: that metric only is skipped.
        stored = dict(zip(METRICS, pipe.execute(raise_on_error=False), strict=True))

        for name, metric in METRICS.items():
            fields = stored[name]
            if isinstance(fields, ResponseError):
                skipped.append((names[name], b"(not a hash)"))
                fields = {}
            if metric.is_histogram:
                histogram = HistogramMetricFamily(PREFIX + name, metric.help, labels=list(metric.labels))
                for labels, (buckets, total) in _histograms(metric, fields, names[name], skipped).items():
                    histogram.add_metric(list(labels), buckets, total)
                yield histogram
            else:
                counter = CounterMetricFamily(PREFIX + name, metric.help, labels=list(metric.labels))
                for labels, value in sorted(_counters(metric, fields, names[name], skipped).items()):
                    counter.add_metric(list(labels), value)
                yield counter

        yield from self._queues()
        yield from self._devices(skipped)
        yield from self._quarantines(skipped)
        yield from self._reach_out_holds()
        yield from self._sends_waiting()
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
        room = headroom.measure(self.conn, self.settings, mem) if self.settings is not None else None
        if room is None:
            return
        for name, value, text in (
            ("redis_reserve_bytes", room.reserve_bytes, "The part of the ceiling kept for inbound events."),
            ("redis_headroom_bytes", room.headroom_bytes, "Room left below the ceiling."),
            (
                "redis_headroom_events",
                room.headroom_events,
                "About how many more inbound events fit below the ceiling (their log entries and deliveries).",
            ),
        ):
            gauge = GaugeMetricFamily(PREFIX + name, text)
            gauge.add_metric([], value)
            yield gauge

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

    def _devices(self, skipped: list[tuple[str, bytes]]) -> Iterator:
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
        blocked = GaugeMetricFamily(
            PREFIX + "device_blocked",
            "1 while a device role's process is alive but Redis refuses its writes (a session then holds its "
            "inbound events).",
            labels=["role"],
        )
        session_blocked = GaugeMetricFamily(
            PREFIX + "session_blocked",
            "1 while an account's session holds an inbound event that Redis refuses (full, read-only).",
            labels=["account"],
        )
        sessions: dict[str, int] = {}
        sessions_blocked: dict[str, int] = {}
        pattern = keys.DEVICE_STATUS.format(role="*")
        prefix = pattern[:-1]
        for key in sorted(self.conn.scan_iter(match=pattern, count=100)):
            role = key.decode(errors="backslashreplace")[len(prefix) :]
            try:
                status = hash_text(self.conn.hgetall(key))
            except (ResponseError, UnicodeDecodeError):  # not a heartbeat wagw wrote
                skipped.append((key.decode(errors="backslashreplace"), b"(not a heartbeat)"))
                continue
            is_connected = 1 if status.get("connected") == "1" else 0
            connected.add_metric([role], is_connected)
            paired.add_metric([role], 1 if status.get("paired") == "1" else 0)
            is_blocked = 1 if devices.stalled(status) or status.get("blocked_since") else 0
            blocked.add_metric([role], is_blocked)
            account, _, base = role.rpartition("/")
            if base == SESSION:
                sessions[account or DEFAULT] = is_connected
                sessions_blocked[account or DEFAULT] = is_blocked
        for account, value in sorted((sessions or {DEFAULT: 0}).items()):
            session.add_metric([account], value)
        for account, value in sorted((sessions_blocked or {DEFAULT: 0}).items()):
            session_blocked.add_metric([account], value)
        yield session
        yield session_blocked
        yield blocked
        yield connected
        yield paired

    def _quarantines(self, skipped: list[tuple[str, bytes]]) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            PREFIX + "quarantined", "1 for each operation currently quarantined (failing fast).", labels=["operation"]
        )
        pattern = keys.QUARANTINE.format(operation="*")
        prefix = pattern[:-1]
        for key in sorted(self.conn.scan_iter(match=pattern, count=100)):
            family.add_metric([key.decode(errors="backslashreplace")[len(prefix) :]], 1)
        yield family
        # A count per operation, never a label per target: targets are phone numbers and
        # unbounded (`wagw status` lists them, masked).
        poisoned = GaugeMetricFamily(
            PREFIX + "poisoned_targets",
            "Targets (JIDs or phone numbers) currently failing fast for an operation after repeated native crashes.",
            labels=["operation"],
        )
        try:
            counts = quarantine.poisoned_counts(self.conn, OPERATIONS)
        except (ResponseError, ValueError, KeyError, TypeError):  # a poison record wagw did not write
            skipped.append((keys.POISON.format(operation="*"), b"(unreadable)"))
            counts = {}
        for operation, count in counts.items():
            poisoned.add_metric([operation], count)
        yield poisoned

    def _reach_out_holds(self) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            PREFIX + "reach_out_held_until_seconds",
            "Unix time at which the account's first-contact sends, held after WhatsApp's reach-out limit, go again.",
            labels=["account"],
        )
        for account, held in reachout.all_holds(self.conn).items():
            family.add_metric([account[:MAX_LABEL_VALUE]], held.until)
        yield family

    def _sends_waiting(self) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily

        count = GaugeMetricFamily(
            PREFIX + "sends_waiting",
            "Sends waiting off the queue, holding no worker, by reason: turn (an earlier send to the chat), "
            "pacing (WAGW_SEND_RATE / WAGW_FIRST_CONTACT_RATE), reachout (a reach-out hold), typing.",
            labels=["account", "reason"],
        )
        clears = GaugeMetricFamily(
            PREFIX + "sends_waiting_clears_seconds",
            "Unix time the first waiting send of the reason is looked at again (a turn's comes earlier with "
            "the end of the send before it).",
            labels=["account", "reason"],
        )
        for account in sendorder.waiting_accounts(self.conn):
            for reason, entry in sendorder.waiting(self.conn, account).items():
                labels = [account[:MAX_LABEL_VALUE], reason]
                count.add_metric(labels, entry["count"])
                if entry["next"] is not None:
                    clears.add_metric(labels, entry["next"])
        yield count
        yield clears


def _key(metric: Metric) -> str:
    return (keys.METRIC_HISTOGRAM if metric.is_histogram else keys.METRIC_COUNTER).format(name=metric.name)


def _label_values(metric: Metric, field: bytes) -> tuple[str, ...]:
    """The label values a stored label set (JSON text) holds. Label sets an older wagw wrote
    (a label missing: empty; an extra one: ignored) still count; anything else is Malformed."""
    try:
        values = json.loads(field.decode())
    except ValueError:  # UnicodeDecodeError included
        raise Malformed("not JSON") from None
    if not isinstance(values, dict) or not all(isinstance(value, str) for value in values.values()):
        raise Malformed("not an object of texts")
    return tuple(values.get(name, "")[:MAX_LABEL_VALUE] for name in metric.labels)


def _number(value: bytes, kind: type[int] | type[float]) -> float:
    try:
        number = kind(value.decode())
    except ValueError:  # UnicodeDecodeError included
        raise Malformed("not a number") from None
    if not math.isfinite(number):
        raise Malformed("not a finite number")
    return number


def _counters(
    metric: Metric, fields: dict[bytes, bytes], key: str, skipped: list[tuple[str, bytes]]
) -> dict[tuple[str, ...], float]:
    """Value per label values. Fields that spell one label set differently add up: each
    series appears once (Prometheus refuses a scrape's duplicates)."""
    result: dict[tuple[str, ...], float] = {}
    for field, value in fields.items():
        try:
            labels, number = _label_values(metric, field), _number(value, float)
        except Malformed:
            skipped.append((key, field))
            continue
        result[labels] = result.get(labels, 0) + number
    return result


def _histograms(
    metric: Metric, fields: dict[bytes, bytes], key: str, skipped: list[tuple[str, bytes]]
) -> dict[tuple[str, ...], tuple[list, float]]:
    """Cumulative buckets and sum per label values, from the non-cumulative stored counts
    (fields `<labels>\\t<bucket index>`, `…\\tcount`, `…\\tsum`; the index past the last bound
    is the overflow, counted in `count`)."""
    parts = {str(index) for index in range(len(metric.buckets) + 1)} | {"count", "sum"}
    per_labels: dict[tuple[str, ...], dict[str, float]] = {}
    for field, value in fields.items():
        labels_field, tab, part = field.partition(b"\t")
        try:
            if not tab or part.decode(errors="replace") not in parts:
                raise Malformed("no such bucket")
            labels = _label_values(metric, labels_field)
            number = _number(value, float if part == b"sum" else int)
        except Malformed:
            skipped.append((key, field))
            continue
        stored = per_labels.setdefault(labels, {})
        stored[part.decode()] = stored.get(part.decode(), 0) + number
    result = {}
    for labels, stored in sorted(per_labels.items()):
        running = 0.0
        buckets = []
        for index, bound in enumerate(metric.buckets):
            running += stored.get(str(index), 0)
            buckets.append((_format_bound(bound), running))
        buckets.append(("+Inf", stored.get("count", 0)))
        result[labels] = (buckets, stored.get("sum", 0.0))
    return result


def _format_bound(bound: float) -> str:
    return repr(float(bound))


def registry_for(conn: Redis, settings: Settings | None = None):
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(WagwCollector(conn, settings))
    return registry


def serve(settings: Settings, addr: str | None = None):
    """Serve /metrics in a daemon thread (for the supervisor). Returns (server, thread);
    stop with server.shutdown()."""
    import socket
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer

    from wagw.redisconn import connect

    host, _, port = (addr or settings.metrics_addr).rpartition(":")
    host = host.strip("[]")
    # The app is guarded before the socket listens: no request is ever served unchecked.
    metrics_app = make_wsgi_app(registry_for(connect(settings), settings))
    app = host_guard(metrics_app, settings.metrics_hosts, "WAGW_METRICS_HOSTS")
    family, *_, sockaddr = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)[0]

    class Server(ThreadingWSGIServer):
        address_family = family

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # a line per scrape is noise

    server = make_server(str(sockaddr[0]), int(port), app, Server, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
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
