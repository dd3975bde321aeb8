"""Webhook delivery benchmark: events stored the way the session stores them (handed one by one
to its EventFeed, whose writer stores those waiting in batches through its EventSink: dedup
key, event log, `enqueue_deliveries`, one script call per batch), delivered by real
`wagw webhook-worker` processes (M = --workers) and `wagw scheduler` to a local receiver.
One invocation, --runs times each (medians reported):

  1. inline POST: one thread signing and POSTing the same bodies back to back (the limit);
  2. latency p50/p99 at a fixed --rate (default 200 events/s), store -> receipt;
  3. sustained events/s: producers store as fast as they can for --seconds; delivered/s is
     counted at the receiver over the same window, backlog left at the end reported; once
     with one producer (what one session can offer) and once with two;
  4. drain: delivery capacity alone, a backlog of --drain events, workers started after;
  5. RQ's default forking Worker (M of them) running workers.webhooks.deliver.

--compare REF also runs git REF's webhook workers and scheduler (extracted with git archive)
in parts 2-4 of every run, right after this checkout's (alternating which goes first), on the
same Redis, receiver and load, and reports this checkout's figures over REF's: on a shared
machine the ratio within a run is the figure to trust. The sustained runs' producers are REF's
own (its bench script's --producer: REF's session store); the latency run's is this checkout's.

    .venv/bin/python bench/webhooks.py            # ~4 min; --runs 1 for a quick look
    .venv/bin/python bench/webhooks.py --smoke    # every part once, small: does it still run?

Everything runs on this machine: Redis, the receiver, the scheduler, the workers and the
producers share its cores, as they would on a VPS. Figures: bench/README.md.

A part that cannot be measured stops the bench at once with exit status 1, naming it on
stderr: a process exiting (a worker, a producer, the receiver), a baseline failing, or
deliveries not all in by the time the slowest rate that is still a measurement allows, or
none arriving for --grace seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench.harness import CannotMeasure  # noqa: E402

DEVICE = "15550001111@s.whatsapp.net"
ALICE = "15551234567@s.whatsapp.net"
# Deliveries a second below which a run cannot be a measurement: wagw's workers deliver
# 1,000-2,400/s here, RQ's forking Worker 55-90/s.
FLOOR_RATE = 50.0
FORKING_FLOOR_RATE = 5.0
STORE_TIMEOUT = 60.0  # for the producer's last events to be stored
SMOKE = {
    "runs": 1,
    "seconds": 0.5,
    "latency_seconds": 0.5,
    "rate": 50.0,
    "inline": 20,
    "forking": 10,
    "drain": 50,
}


# ---- the receiver: a minimal asyncio HTTP/1.1 server in its own process ---------------------------


def receiver_main(port: int, ready_path: str) -> None:
    """Answers 200 to every POST, keeps (arrival time, X-Wagw-Event-Id); GET /records returns them."""
    records: list[tuple[float, str]] = []

    def answer(method: str, path: str, headers: dict[str, str]) -> bytes:
        if method == "GET" and path.startswith("/records"):
            return json.dumps(records).encode()
        if method == "GET" and path.startswith("/count"):
            return str(len(records)).encode()
        if method == "POST" and path.startswith("/reset"):
            records.clear()
            return b""
        records.append((time.time(), headers.get("x-wagw-event-id", "")))
        return b"ok"

    harness.serve_http(port, ready_path, answer)


class ReceiverClient:
    def __init__(self, port: int) -> None:
        import httpx

        self.base = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(timeout=30)

    def count(self) -> int:
        return int(self.http.get(self.base + "/count").text)

    def records(self) -> list[tuple[float, str]]:
        return [tuple(r) for r in self.http.get(self.base + "/records").json()]

    def reset(self) -> None:
        self.http.post(self.base + "/reset")


# ---- the bench harness --------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        from redis import Redis

        from wagw.supervisor.embedded_redis import start_standalone

        self.args = args
        self.dir = Path(tempfile.mkdtemp(prefix="wagw-whbench-", dir="/tmp"))
        self.redis_proc, server = start_standalone(self.dir)
        self.redis_url = server.url
        self.redis = Redis.from_url(self.redis_url)
        ready = self.dir / "receiver.port"
        with open(harness.child_log(self.dir, "receiver"), "w") as log:
            self.receiver = subprocess.Popen(
                [sys.executable, __file__, "--receiver", str(ready)], cwd=ROOT, stdout=log, stderr=log
            )
        # Redis and the receiver serve every part; the workers of a part come and go.
        self.servers = {"redis": self.redis_proc, "receiver": self.receiver}
        self.children: dict[str, subprocess.Popen] = {}
        self.port = int(
            harness.wait(lambda: ready.exists() and ready.read_text(), args.grace, "the receiver to start", self.check)
        )
        self.rx = ReceiverClient(self.port)
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WAGW_")}
        self.env.update(
            WAGW_REDIS_URL=self.redis_url,
            WAGW_DATA_DIR=str(self.dir),
            WAGW_BACKEND="fake",
            WAGW_WEBHOOK_URLS=self.url,
            WAGW_WEBHOOK_SECRET="bench-secret-of-sixteen-bytes",
            WAGW_LOG_LEVEL=args.log_level,
            PYTHONUNBUFFERED="1",
        )
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("WAGW_")})
        from wagw.config import Settings

        self.settings = Settings(_env_file=None)
        self.serial = 0
        self.tag = ""  # keeps message ids of parallel producers apart

    def spawn(self, name: str, *argv: str, env: dict[str, str] | None = None, code: Path = ROOT) -> subprocess.Popen:
        """`python argv` running the code in `code` (this checkout, or --compare's REF)."""
        # Its output goes to <dir>/<name>.log, shown when it fails.
        env = {**(env or self.env), "PYTHONPATH": str(code)}
        with open(harness.child_log(self.dir, name), "a") as log:
            proc = subprocess.Popen([sys.executable, *argv], env=env, cwd=code, stdout=log, stderr=subprocess.STDOUT)
        self.children[name] = proc
        return proc

    def check(self, may_finish: Collection[str] = ()) -> None:
        """CannotMeasure as soon as Redis, the receiver or a child has exited (those in
        `may_finish` may exit 0)."""
        harness.check_running({**self.servers, **self.children}, self.dir, may_finish)

    def stop_children(self) -> None:
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.send_signal(signal.SIGCONT)  # a stopped child (SIGSTOP, a debugger) stops too
        for proc in self.children.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.children.clear()

    def close(self) -> None:
        self.stop_children()
        for proc in (self.receiver, self.redis_proc):
            proc.terminate()
            proc.wait(timeout=10)
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def empty_redis(self) -> None:
        """Between parts, with no worker running: what earlier parts left (tens of thousands of
        events, delivered markers, finished jobs) would otherwise fill Redis in a long run."""
        self.redis.flushall()

    def reset(self) -> None:
        # Not FLUSHALL: running workers' registrations must stay (a worker whose registration
        # vanished looks dead to the scheduler's reaper).
        self.rx.reset()

    # ---- producing events like the session ---------------------------------------------------

    def sink(self):
        from wagw import accounts
        from wagw.session.sink import EventSink

        return EventSink(
            self.settings, self.redis, device_jid=lambda: DEVICE, account=accounts.find(self.settings, None)
        )

    def next_event(self):
        from wagw import events

        self.serial += 1
        return events.message(
            id=f"BENCH{self.tag}{self.serial:012d}",
            chat=ALICE,
            sender=ALICE,
            timestamp=1764412200 + self.serial,
            push_name="Alice",
            body=f"hello {self.serial}",
        )

    def produce(
        self, count: int | None = None, seconds: float | None = None, rate: float | None = None
    ) -> dict[str, float]:
        """Store events as the session does, handing each to its EventFeed (as the backend's
        thread does); returns event id -> time handed over, once all are stored."""
        from wagw.events import event_id
        from wagw.session.feed import EventFeed

        sink = EventFeed(self.sink())
        sent: dict[str, float] = {}
        start = time.monotonic()
        n = 0
        while True:
            if count is not None and n >= count:
                break
            if seconds is not None and time.monotonic() - start >= seconds:
                break
            if rate:
                lag = start + n / rate - time.monotonic()
                if lag > 0:
                    time.sleep(lag)
            event = self.next_event()
            sent[event_id(DEVICE, event.source_key)] = time.time()
            sink(event)
            n += 1
        if not sink.close(STORE_TIMEOUT):
            raise CannotMeasure(f"the producer: {sink.unstored()} event(s) not stored within {STORE_TIMEOUT:g}s")
        return sent

    def wait_delivered(
        self, total: int, what: str, floor_rate: float = FLOOR_RATE, burst: Collection[str] = ()
    ) -> None:
        """Until `total` deliveries have reached the receiver; CannotMeasure as soon as a
        process exits (a `burst` worker may exit 0, but not all of them with deliveries
        missing), when none has arrived for --grace seconds, or when they take longer than
        `floor_rate` allows."""

        def check() -> None:
            self.check(may_finish=burst)
            finished = burst and all(self.children[name].poll() is not None for name in burst)
            if finished and (got := self.rx.count()) < total:
                raise CannotMeasure(f"{what}: its workers emptied the queue with {got} of {total} delivered")

        try:
            harness.wait_count(self.rx.count, total, floor_rate, self.args.grace, f"{what}: deliveries", check)
        except CannotMeasure as error:
            raise CannotMeasure(f"{error}{self.job_failures()}") from None

    def job_failures(self) -> str:
        """What the delivery jobs' registries say, for a failure's message."""
        from rq import Queue
        from rq.registry import FailedJobRegistry, ScheduledJobRegistry

        from wagw.redisconn import SERIALIZER

        queue = Queue("webhooks", connection=self.redis, serializer=SERIALIZER)
        failed, scheduled = FailedJobRegistry(queue=queue), ScheduledJobRegistry(queue=queue)
        text = f"; jobs queued {queue.count}, failed {failed.count}, scheduled to retry {scheduled.count}"
        for job_id in failed.get_job_ids(0, 0) + scheduled.get_job_ids(0, 0):
            job = queue.fetch_job(job_id)
            result = job.latest_result() if job is not None else None
            if result is not None and result.exc_string:
                text += f"; first failure: {result.exc_string.strip().splitlines()[-1]}"
                break
        return text

    # ---- measurements ----------------------------------------------------------------------------

    def start_wagw_workers(self, code: Path = ROOT) -> None:
        self.spawn("scheduler", "-m", "wagw", "scheduler", code=code)
        for n in range(1, self.args.workers + 1):
            name = f"webhook-worker-{n}"
            self.spawn(name, "-m", "wagw", "webhook-worker", env={**self.env, "WAGW_PROCESS_NAME": name}, code=code)
        self.wait_workers(self.args.workers)

    def wait_workers(self, count: int) -> None:
        from rq import Worker

        harness.wait(
            lambda: len(Worker.all(connection=self.redis)) >= count,
            self.args.grace,
            "the workers to register",
            self.check,
        )

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by each process of the run."""
        procs = {"producer": os.getpid(), "redis": self.redis_proc.pid, "receiver": self.receiver.pid}
        for name, proc in self.children.items():
            procs[name] = proc.pid
        ticks = os.sysconf("SC_CLK_TCK")
        usage = {}
        for name, pid in procs.items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
                usage[name] = (int(fields[11]) + int(fields[12])) / ticks
            except (OSError, IndexError):
                pass
        return usage

    def produce_in_parallel(self, producers: int, seconds: float, code: Path = ROOT) -> tuple[dict[str, float], float]:
        """`producers` processes, each storing events through the session's EventSink path of
        the code in `code` (its own bench script runs it). Returns event id -> enqueue time, and
        the producers' CPU seconds (0 if `code`'s producer does not say)."""
        outs = [self.dir / f"producer-{n}.json" for n in range(producers)]
        names = [f"producer-{n}" for n in range(producers)]
        for name, out in zip(names, outs, strict=True):
            out.with_suffix(".cpu").unlink(missing_ok=True)
            self.spawn(name, str(code / "bench" / "webhooks.py"), "--producer", str(seconds), str(out), code=code)
        harness.wait(
            lambda: all(self.children[name].poll() == 0 for name in names),
            seconds + self.args.grace,
            "the producers to finish",
            lambda: self.check(may_finish=names),
        )
        for name in names:
            del self.children[name]
        sent: dict[str, float] = {}
        cpu = 0.0
        for out in outs:
            sent.update(json.loads(out.read_text()))
            if out.with_suffix(".cpu").exists():
                cpu += float(out.with_suffix(".cpu").read_text())
        return sent, cpu

    def sustained(self, producers: int, code: Path = ROOT) -> dict:
        """Producers of `code` (each its own process, as the session is) store as fast as they
        can while the running workers deliver."""
        self.reset()
        seconds = self.args.seconds
        cpu_before = self.cpu_seconds()
        sent, producer_cpu = self.produce_in_parallel(producers, seconds, code)
        produced_at_end = time.time()
        cpu_after = self.cpu_seconds()
        cpu_after["producer"] = cpu_before.get("producer", 0) + producer_cpu
        records = self.rx.records()
        backlog = self.redis.llen("rq:queue:webhooks")
        self.wait_delivered(len(sent), f"sustained, {producers} producer(s)")
        all_records = self.rx.records()
        first = min(sent.values())
        # Delivered rate over the producing window, skipping the first second (warm-up).
        window = [t for t, _ in records if first + 1 <= t <= produced_at_end]
        delivered_rate = len(window) / max(produced_at_end - first - 1, 1e-9)
        drained_at = max(t for t, _ in all_records)
        return {
            "producers": producers,
            "events": len(sent),
            "enqueue_rate": len(sent) / (produced_at_end - first),
            "delivered_rate_in_window": delivered_rate,
            "backlog_at_end": backlog,
            "overall_rate": len(sent) / (drained_at - first),
            "all_delivered": len({e for _, e in all_records}) == len(sent),  # not twice either
            "cpu_ms_per_event": {
                name: round(1000 * (cpu_after[name] - cpu_before.get(name, 0)) / len(sent), 3) for name in cpu_after
            },
        }

    def latency(self, rate: float, seconds: float) -> dict:
        self.reset()
        sent = self.produce(seconds=seconds, rate=rate)
        self.wait_delivered(len(sent), f"latency at {rate:g}/s")
        arrivals = {}
        for t, eid in self.rx.records():
            arrivals.setdefault(eid, t)
        lat = sorted((arrivals[e] - t0) * 1000 for e, t0 in sent.items() if e in arrivals)
        return {
            "rate": rate,
            "events": len(sent),
            "all_delivered": True,
            "p50_ms": percentile(lat, 50),
            "p99_ms": percentile(lat, 99),
            "max_ms": lat[-1] if lat else None,
        }

    def drain(self, count: int, code: Path = ROOT) -> dict:
        """Delivery capacity alone: a backlog of `count` events enqueued (as the session
        does) while no worker runs, then M workers started; rate from the first to the last
        receipt, and CPU per event of each process."""
        self.stop_children()
        self.empty_redis()
        self.reset()
        sent = self.produce(count=count)
        cpu_before = self.cpu_seconds()
        self.start_wagw_workers(code)
        self.wait_delivered(len(sent), "drain")
        cpu_after = self.cpu_seconds()
        records = self.rx.records()
        first, last = min(t for t, _ in records), max(t for t, _ in records)
        self.stop_children()
        return {
            "events": count,
            "all_delivered": True,
            "rate": count / (last - first),
            "cpu_ms_per_event": {
                name: round(1000 * (cpu_after[name] - cpu_before.get(name, 0)) / count, 3)
                for name in cpu_after
                if name != "producer"
            },
        }

    def inline_post(self, count: int) -> dict:
        """The limit: one thread signing and POSTing the same bodies back to back."""
        from wagw.events import build_body
        from workers.webhooks.delivery import DeliveryContext

        self.reset()
        ctx = DeliveryContext(self.settings)
        [endpoint] = ctx.endpoints.values()
        bodies = [build_body(self.next_event(), DEVICE) for _ in range(count)]
        lat = []
        start = time.perf_counter()
        for eid, body in bodies:
            t0 = time.perf_counter()
            outcome = ctx.attempt(endpoint, eid, body, 1)
            lat.append((time.perf_counter() - t0) * 1000)
            if outcome.status != 200:
                raise CannotMeasure(f"inline POST: the receiver answered {outcome}")
        elapsed = time.perf_counter() - start
        ctx.close()
        lat.sort()
        return {"events": count, "rate": count / elapsed, "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99)}

    def forking_worker(self, count: int) -> dict:
        """RQ's default Worker (a fork per job) running workers.webhooks.deliver. The parent
        imports and configures wagw first, so each forked job starts warm (fair to RQ)."""
        self.reset()
        sent = self.produce(count=count)
        start = time.time()
        names = [f"forking-worker-{n}" for n in range(1, self.args.workers + 1)]
        for name in names:
            self.spawn(name, __file__, "--forking-worker")
        # Burst workers: each exits 0 once the queue is empty.
        self.wait_delivered(len(sent), "forking Worker", FORKING_FLOOR_RATE, burst=names)
        records = self.rx.records()
        last = max(t for t, _ in records)
        self.stop_children()
        return {"events": len(sent), "all_delivered": True, "rate": len(sent) / (last - start)}


def producer_main(seconds: float, out: Path) -> int:
    from loguru import logger

    logger.remove()
    bench = Bench.__new__(Bench)  # only what producing needs: settings, Redis, a sink
    from redis import Redis

    from wagw.config import load_settings

    bench.settings = load_settings()
    bench.redis = Redis.from_url(bench.settings.effective_redis_url)
    bench.serial, bench.tag = 0, f"P{os.getpid()}"
    sent = bench.produce(seconds=seconds)
    out.with_suffix(".cpu").write_text(str(time.process_time()))  # the bench reads it (all of it producing)
    out.write_text(json.dumps(sent))
    return 0


def forking_worker_main() -> int:
    from rq import Worker

    from wagw.config import load_settings
    from wagw.logs import configure_logging
    from wagw.redisconn import SERIALIZER, connect
    from workers.webhooks import delivery

    settings = load_settings()
    configure_logging(settings, "forking-worker")
    delivery.configure(settings)
    Worker(["webhooks"], connection=connect(settings), serializer=SERIALIZER).work(burst=True, logging_level="WARNING")
    return 0


def medians(runs: dict[str, list[dict]], ref: str | None = None) -> dict:
    keys: dict[str, list[str]] = {
        "inline_post": ["rate", "p50_ms", "p99_ms"],
        "latency": ["p50_ms", "p99_ms", "max_ms"],
        "sustained_1p": ["enqueue_rate", "delivered_rate_in_window", "overall_rate", "backlog_at_end"],
        "sustained_2p": ["enqueue_rate", "delivered_rate_in_window", "overall_rate", "backlog_at_end"],
        "drain": ["rate"],
        "forking_worker": ["rate"],
    }
    for part in list(keys):
        keys[f"ref_{part}"] = keys[part]
    summary: dict = {
        part: {k: round(statistics.median(r[k] for r in results), 2) for k in keys[part]}
        for part, results in runs.items()
        if part in keys
    }
    if ref is not None:
        # This checkout over REF, per run (the same load), then the median of those ratios.
        rated = {
            "sustained_1p": "delivered_rate_in_window",
            "sustained_2p": "delivered_rate_in_window",
            "drain": "rate",
        }
        for part, key in rated.items():
            if part in runs and f"ref_{part}" in runs:
                ratios = [a[key] / b[key] for a, b in zip(runs[part], runs[f"ref_{part}"], strict=True) if b[key]]
                if ratios:  # a smoke run's window may hold no delivery at all
                    summary[f"{part}_this_vs_{ref}"] = round(statistics.median(ratios), 2)
        for part in ("drain", "ref_drain"):
            if part in runs:
                cpu = [
                    sum(v for k, v in r["cpu_ms_per_event"].items() if k.startswith("webhook-worker"))
                    for r in runs[part]
                ]
                summary[f"{part}_workers_cpu_ms_per_event"] = round(statistics.median(cpu), 3)
    if "drain" in summary and "forking_worker" in summary:
        summary["drain_vs_forking_worker"] = round(summary["drain"]["rate"] / summary["forking_worker"]["rate"], 1)
    for part in ("drain", "ref_drain"):
        if part in summary and "inline_post" in summary:
            summary[f"{part}_vs_inline_post"] = round(summary[part]["rate"] / summary["inline_post"]["rate"], 2)
    for part in ("sustained_1p", "sustained_2p", "ref_sustained_1p", "ref_sustained_2p"):
        if part in summary and "inline_post" in summary:
            summary[f"{part}_vs_inline_post"] = round(
                summary[part]["delivered_rate_in_window"] / summary["inline_post"]["rate"], 2
            )
        if part in summary and "forking_worker" in summary:
            summary[f"{part}_vs_forking_worker"] = round(
                summary[part]["delivered_rate_in_window"] / summary["forking_worker"]["rate"], 1
            )
    return summary


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the sustained run")
    parser.add_argument("--rate", type=float, default=200.0, help="fixed rate for the latency run")
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="webhook worker processes (M)")
    parser.add_argument("--inline", type=int, default=3000, help="events for the inline-POST baseline")
    parser.add_argument("--forking", type=int, default=400, help="events for the forking-Worker baseline")
    parser.add_argument("--drain", type=int, default=10000, help="backlog for the delivery-capacity run")
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each part (medians reported)")
    parser.add_argument("--log-level", default="INFO", help="WAGW_LOG_LEVEL of the workers")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory (logs) in /tmp")
    parser.add_argument(
        "--only",
        choices=["inline", "latency", "sustained", "drain", "forking"],
        action="append",
        help="run only these parts (default: all)",
    )
    parser.add_argument(
        "--producers",
        default="1,2",
        help="sustained runs with these numbers of enqueuing processes (1 = like the one session)",
    )
    parser.add_argument("--compare", metavar="REF", help="also run git REF's workers in every run")
    parser.add_argument("--producer", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--receiver", help=argparse.SUPPRESS)
    parser.add_argument("--forking-worker", action="store_true", help=argparse.SUPPRESS)
    args = harness.parse(parser, SMOKE)
    if args.receiver:
        receiver_main(0, args.receiver)
        return 0
    if args.forking_worker:
        return forking_worker_main()
    if args.producer:
        return producer_main(float(args.producer[0]), Path(args.producer[1]))
    from loguru import logger

    logger.remove()  # the producer stands in for the session, which logs events at DEBUG only
    logger.add(sys.stderr, level="WARNING")
    bench = Bench(args)
    results: dict = {"cpus": os.cpu_count(), "workers": args.workers, "log_level": args.log_level}
    codes = {"": ROOT}
    if args.compare:
        codes["ref_"] = harness.extract(ROOT, args.compare, bench.dir / "ref")
        results["compare"] = args.compare
    parts = set(args.only or ["inline", "latency", "sustained", "drain", "forking"])
    runs: dict[str, list[dict]] = {}

    def record(part: str, result: dict) -> None:
        runs.setdefault(part, []).append(result)
        print(f"{part}:", json.dumps(result), flush=True)

    try:
        for run in range(args.runs):
            if "inline" in parts:
                record("inline_post", bench.inline_post(args.inline))
            order = list(codes.items())
            for prefix, code in order[run % len(order) :] + order[: run % len(order)]:
                bench.empty_redis()  # no worker runs here
                if parts & {"latency", "sustained"}:
                    bench.start_wagw_workers(code)
                if "latency" in parts:
                    record(f"{prefix}latency", bench.latency(args.rate, args.latency_seconds))
                if "sustained" in parts:
                    for producers in (int(n) for n in args.producers.split(",")):
                        record(f"{prefix}sustained_{producers}p", bench.sustained(producers, code))
                bench.stop_children()
                if "drain" in parts:
                    record(f"{prefix}drain", bench.drain(args.drain, code))
            if "forking" in parts:
                record("forking_worker", bench.forking_worker(args.forking))
    finally:
        bench.close()
        if args.keep:
            print("logs:", bench.dir)
    results["runs"] = runs
    results["medians"] = medians(runs, args.compare)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(harness.run(main))
