"""Backfill benchmark: `wagw events replay` of --events stored events (default 10,000) to a new
endpoint while live events flow, against the same live traffic without a replay, in one run.

Real parts: the embedded redis-server, a SQLite history store filled as its writer fills it,
--workers `wagw webhook-worker` processes and `wagw scheduler`, the real `wagw events replay` command, and a local
receiver answering 200 on two paths (the live endpoint and the new one). Live events are
stored the way the session stores them (`enqueue_deliveries` in one MULTI/EXEC) at --rate a
second, each to both endpoints; a live event's latency is store -> receipt at the live endpoint.

  1. baseline: live traffic alone for --seconds, before the backfill and again after it (a
     loaded machine drifts); latency p50/p99;
  2. backfill: the same live traffic while the replay runs, until every stored event has reached
     the new endpoint; latency p50/p99 over that window, the replay's events/s, and checks:
     every stored event exactly once at the new endpoint, each with X-Wagw-Replay: 1, none at
     the live endpoint, every live event at both.

The figure is p99 with the backfill over p99 without (target: within 2x).

    .venv/bin/python bench/replay.py            # ~2 min
    .venv/bin/python bench/replay.py --smoke    # small: does it still run?
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
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench.harness import CannotMeasure  # noqa: E402

FLOOR_RATE = 50.0  # replayed deliveries a second below which a run is no measurement
SMOKE = {"events": 50, "seconds": 0.5, "rate": 50.0, "workers": 1}
DAY = 1_764_400_000  # the stored events' first time (2025-11-29T07:06:40Z)


# ---- the receiver: a minimal asyncio HTTP/1.1 server in its own process -----------------------------


def receiver_main(port: int, ready_path: str) -> None:
    """Answers 200 to every POST and keeps (arrival time, path, event id, replay header);
    GET /records returns them."""
    records: list[tuple[float, str, str, str]] = []

    def answer(method: str, path: str, headers: dict[str, str]) -> bytes:
        if method == "GET" and path.startswith("/count"):  # /count?<path>&<event id prefix>
            where, _, prefix = path.partition("?")[2].partition("&")
            return str(sum(1 for r in records if r[1] == where and r[2].startswith(prefix))).encode()
        if method == "GET":
            return json.dumps(records).encode()
        event = headers.get("x-wagw-event-id", "")
        records.append((time.time(), path.split("?")[0], event, headers.get("x-wagw-replay", "")))
        return b"ok"

    harness.serve_http(port, ready_path, answer)


# ---- the bench --------------------------------------------------------------------------------------


def body(event_id: str, unix: float, text: str) -> str:
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))
    payload = {"id": f"M{event_id}", "chat_id": "15551234567@s.whatsapp.net", "from": "15551234567@s.whatsapp.net"}
    head = {"event": "message", "device_id": "15550001111@s.whatsapp.net", "account": "default", "id": event_id}
    return json.dumps({**head, "timestamp": iso, "payload": {**payload, "timestamp": iso, "body": text}})


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        import httpx
        from redis import Redis

        from wagw.supervisor.embedded_redis import start_standalone

        self.args = args
        self.dir = Path(tempfile.mkdtemp(prefix="wagw-replaybench-", dir="/tmp"))
        self.redis_proc, server = start_standalone(self.dir)
        self.redis = Redis.from_url(server.url)
        ready = self.dir / "receiver.port"
        with open(harness.child_log(self.dir, "receiver"), "w") as log:
            receiver = subprocess.Popen(
                [sys.executable, __file__, "--receiver", str(ready)], cwd=ROOT, stdout=log, stderr=log
            )
        self.children: dict[str, subprocess.Popen] = {"redis": self.redis_proc, "receiver": receiver}
        port = int(harness.wait(lambda: ready.exists() and ready.read_text(), args.grace, "the receiver", self.check))
        self.http = httpx.Client(timeout=60, base_url=f"http://127.0.0.1:{port}")
        self.live_url, self.new_url = f"http://127.0.0.1:{port}/live", f"http://127.0.0.1:{port}/new"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WAGW_")}
        self.env.update(
            WAGW_REDIS_URL=server.url,
            WAGW_DATA_DIR=str(self.dir),
            WAGW_BACKEND="fake",
            WAGW_WEBHOOK_URLS=f"{self.live_url},{self.new_url}",
            WAGW_WEBHOOK_SECRET="bench-secret-of-sixteen-bytes",
            WAGW_LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            PYTHONPATH=str(ROOT),
        )
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("WAGW_")})
        from wagw.config import Settings

        self.settings = Settings(_env_file=None)
        self.sent: dict[str, float] = {}  # live event id -> when it was stored

    def check(self) -> None:
        harness.check_running(self.children, self.dir, may_finish=("replay",))

    def spawn(self, name: str, *argv: str) -> subprocess.Popen:
        with open(harness.child_log(self.dir, name), "a") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "wagw", *argv], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        self.children[name] = proc
        return proc

    def records(self) -> list[tuple[float, str, str, str]]:
        return [tuple(r) for r in self.http.get("/records").json()]

    def count(self, path: str, prefix: str) -> int:
        """Deliveries to `path` of events whose id starts with `prefix` (cheap: polled while measuring)."""
        return int(self.http.get(f"/count?{path}&{prefix}").text)

    def fill_store(self) -> set[str]:
        from wagw.history import ingest, write
        from wagw.history.store import migrate, open_store
        from wagw.webhooks.signing import event_log_key, event_mac

        store = open_store(self.settings, create=True)
        migrate(store)
        secret = self.settings.webhook_secret_of("default")
        key = event_log_key(secret.get_secret_value().encode() if secret else b"")
        ids = set()
        for start in range(0, self.args.events, 1000):
            changes = ingest.Changes()
            for n in range(start, min(start + 1000, self.args.events)):
                event_id, unix = f"stored{n:06d}", DAY + n
                text = body(event_id, unix, "past")
                mac = event_mac(key, "default", event_id, text)  # as the session marks it: a replay checks it
                fields = {"id": event_id, "name": "message", "event": text, "mac": mac}
                ingest.add_event(changes, fields, f"{unix}000-0")
                ids.add(event_id)
            with store.engine.begin() as conn:
                write.apply(conn, changes, {})
        store.close()
        return ids

    def live(self, stop: threading.Event, tag: str) -> None:
        """Store one live event every 1/rate s (the session's MULTI/EXEC) until `stop`."""
        from wagw.webhooks.enqueue import enqueue_deliveries

        period, next_at, n = 1.0 / self.args.rate, time.monotonic(), 0
        while not stop.is_set():
            event_id = f"live-{tag}-{n:06d}"
            with self.redis.pipeline() as pipe:
                enqueue_deliveries(pipe, self.settings, event_id, "message", body(event_id, time.time(), "now"))
                self.sent[event_id] = time.time()
                pipe.execute()
            n += 1
            next_at += period
            stop.wait(max(0.0, next_at - time.monotonic()))

    def latencies(self, tag: str) -> list[float]:
        """Store -> receipt at the live endpoint of this phase's live events (all must be in)."""
        mine = {e: t for e, t in self.sent.items() if e.startswith(f"live-{tag}-")}
        harness.wait_count(
            lambda: self.count("/live", f"live-{tag}-"),
            len(mine),
            FLOOR_RATE,
            self.args.grace,
            f"the {tag} phase's live events",
            self.check,
            interval=0.25,
        )
        got = {r[2]: r[0] for r in self.records() if r[1] == "/live" and r[2] in mine}
        return [got[e] - mine[e] for e in mine]

    def alone(self, tag: str) -> list[float]:
        """Live traffic alone for --seconds: its latencies."""
        stop = threading.Event()
        traffic = threading.Thread(target=self.live, args=(stop, tag), daemon=True)
        traffic.start()
        time.sleep(self.args.seconds)
        stop.set()
        traffic.join()
        return self.latencies(tag)

    def run(self) -> int:
        stored = self.fill_store()
        self.spawn("scheduler", "scheduler")  # deferred and retried deliveries come back through it
        for n in range(1, self.args.workers + 1):
            self.spawn(f"webhook-worker-{n}", "webhook-worker")
        self.check()
        # Warm-up: the workers take a first live event to both endpoints.
        warm = threading.Event()
        warm_thread = threading.Thread(target=self.live, args=(warm, "warm"), daemon=True)
        warm_thread.start()
        harness.wait(
            lambda: any(r[1] == "/live" for r in self.records()), self.args.grace, "a first delivery", self.check
        )
        warm.set()
        warm_thread.join()

        base = self.alone("before")

        stop = threading.Event()
        traffic = threading.Thread(target=self.live, args=(stop, "fill"), daemon=True)
        traffic.start()
        started = time.monotonic()
        replay = self.spawn("replay", "events", "replay", "--since", "2025-11-29T00:00:00Z", "--to", self.new_url)
        try:
            harness.wait_count(
                lambda: self.count("/new", "stored"),
                len(stored),
                FLOOR_RATE,
                self.args.grace,
                "the replayed events at the new endpoint",
                self.check,
                interval=0.25,
            )
        finally:
            stop.set()
            traffic.join()
        took = time.monotonic() - started
        if replay.wait(self.args.grace) != 0:
            raise CannotMeasure(f"wagw events replay exited {replay.returncode}{harness.tail(self.dir / 'replay.log')}")
        during = self.latencies("fill")
        base += self.alone("after")  # the baseline on both sides: a loaded machine drifts

        harness.wait_count(
            lambda: self.count("/new", "live-"), len(self.sent), FLOOR_RATE, self.args.grace, "live at /new", self.check
        )
        records = self.records()
        at_new = [r for r in records if r[1] == "/new" and r[2] in stored]
        if len(at_new) != len(stored) or any(r[3] != "1" for r in at_new):
            raise CannotMeasure(f"{len(at_new)} replayed deliveries for {len(stored)} stored events, or unmarked")
        if any(r[1] == "/live" and r[2] in stored for r in records):
            raise CannotMeasure("a stored event reached the live endpoint")
        live_ids = [e for e in self.sent if not e.startswith("live-warm-")]
        at_both = {(r[1], r[2]) for r in records}
        if not all(("/new", e) in at_both for e in live_ids):
            raise CannotMeasure("a live event did not reach the new endpoint")

        ms = 1000.0
        print(f"backfill of {len(stored)} stored events to a new endpoint, {self.args.workers} webhook workers, live")
        print(f"traffic {self.args.rate:g} events/s to two endpoints ({len(live_ids)} live events in all)")
        print(
            f"  live latency without backfill: p50 {statistics.median(base) * ms:.1f} ms, "
            f"p99 {percentile(base, 99) * ms:.1f} ms ({len(base)} events)"
        )
        print(
            f"  live latency during backfill:  p50 {statistics.median(during) * ms:.1f} ms, "
            f"p99 {percentile(during, 99) * ms:.1f} ms ({len(during)} events)"
        )
        print(f"  p99 ratio (during / without): {percentile(during, 99) / percentile(base, 99):.2f}")
        print(
            f"  backfill: {len(stored)} events in {took:.1f} s ({len(stored) / took:.0f}/s), each exactly once, "
            "all marked X-Wagw-Replay: 1"
        )
        return 0

    def close(self) -> None:
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.children.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--receiver":
        receiver_main(0, sys.argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000, help="stored events to replay (default 10,000)")
    parser.add_argument("--rate", type=float, default=100.0, help="live events a second (default 100)")
    parser.add_argument("--seconds", type=float, default=20.0, help="the baseline's live window (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="webhook workers (default 2)")
    args = harness.parse(parser, SMOKE)
    bench = Bench(args)
    try:
        return bench.run()
    finally:
        bench.close()


if __name__ == "__main__":
    sys.exit(harness.run(main))
