"""Benchmark: wa jobs through the native host vs bare RQ workers, and crash -> next attempt.

    .venv/bin/python bench/wa_jobs.py [--runs 7] [--jobs 300] [--fork-jobs 120] [--crashes 8]

One run of this script measures, against a private embedded Redis:
1. throughput, repeated --runs times, each worker warm (started and idle before the jobs
   arrive), the rate taken between the first and the last job's end:
   - `wagw wa-worker`: workers.wa.fetch_avatar through its native host (fake backend);
   - bare RQ SimpleWorker (`rq worker -w rq.worker.SimpleWorker`) on a trivial job (os.getpid);
   - RQ's default forking Worker on the same trivial job;
2. the latency from a native crash (a real Go panic in the host) to the next attempt of the
   job, with Retry(max=1, interval=1) and `wagw scheduler` running: from the crash's entry on
   wagw:crashes (written when the wa-worker saw the host die) to the fake backend's record of
   the second attempt's call (inside the respawned host). RQ keeps scheduled times in whole
   seconds (truncated), so a 1 s interval puts the retry 0-1 s after the failure, plus the
   scheduler's 0.2 s poll; samples start at random sub-second phases.
Prints each sample, then medians and ratios. Takes about a minute on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from rq import Queue, Retry, Worker  # noqa: E402
from rq.serializers import JSONSerializer  # noqa: E402

from chaos.polling import wait_for  # noqa: E402
from wagw import keys  # noqa: E402
from wagw.supervisor.embedded_redis import start_standalone  # noqa: E402

ALICE = "15551234567@s.whatsapp.net"
TRIVIAL = "os.getpid"


class Bench:
    def __init__(self, data_dir: Path, redis_url: str):
        self.data_dir = data_dir
        self.conn = Redis.from_url(redis_url)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WAGW_")}
        self.env.update(
            {
                "WAGW_REDIS_URL": redis_url,
                "WAGW_DATA_DIR": str(data_dir),
                "WAGW_BACKEND": "fake",
                # Every sample crashes the same target: neither a quarantine nor a poison target
                # may cut the crash -> next attempt measurement short.
                "WAGW_QUARANTINE_CRASHES": "100000",
                "WAGW_POISON_CRASHES": "100000",
                "PYTHONPATH": str(ROOT),
            }
        )

    def spawn(self, argv: list[str]) -> subprocess.Popen:
        return subprocess.Popen(
            argv, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        )

    def stop(self, proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    # Workers --------------------------------------------------------------------------
    def start_rq_worker(self, queue: str, worker_class: str) -> subprocess.Popen:
        proc = self.spawn(
            [
                sys.executable,
                "-m",
                "rq.cli",
                "worker",
                "-w",
                worker_class,
                "-S",
                "json",
                "-u",
                self.env["WAGW_REDIS_URL"],
                "-n",
                f"bench-{queue}-{time.monotonic_ns()}",
                queue,
            ]
        )
        wait_for(lambda: Worker.count(queue=Queue(queue, connection=self.conn)), 30, what=f"rq worker on {queue}")
        return proc

    def start_wa_worker(self) -> subprocess.Popen:
        proc = self.spawn([sys.executable, "-m", "wagw", "wa-worker", "--slot", "1"])
        key = keys.DEVICE_STATUS.format(role="worker-1")
        wait_for(
            lambda: (
                self.conn.hget(key, "worker_pid") == str(proc.pid).encode() and self.conn.hget(key, "connected") == b"1"
            ),
            30,
            what="the wa-worker's host",
        )
        return proc

    # Throughput -----------------------------------------------------------------------
    def rate(self, queue_name: str, func: str, kwargs: dict, count: int, **job_options) -> float:
        queue = Queue(queue_name, connection=self.conn, serializer=JSONSerializer)
        jobs = [Queue.prepare_data(func, kwargs=kwargs, **job_options) for _ in range(count)]
        with self.conn.pipeline() as pipe:
            enqueued = queue.enqueue_many(jobs, pipeline=pipe)
            pipe.execute()
        ids = [job.id for job in enqueued]
        # One worker takes them in order: poll the last one only (and gently: polling is load too).
        wait_for(
            lambda: self.conn.hget(f"rq:job:{ids[-1]}", "status") in (b"finished", b"failed"),
            300,
            0.05,
            f"{count} jobs on {queue_name}",
        )
        with self.conn.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hmget(f"rq:job:{job_id}", "status", "ended_at")
            rows = pipe.execute()
        if any(status != b"finished" for status, _ in rows):
            raise SystemExit(f"bench: a job on {queue_name} did not finish")
        ended = [parse(stamp) for _, stamp in rows]
        return (count - 1) / (max(ended) - min(ended))

    def throughput(self, jobs: int, fork_jobs: int) -> dict[str, float]:
        rates = {}
        simple = self.start_rq_worker("bench-simple", "rq.worker.SimpleWorker")
        rates["simple"] = self.rate("bench-simple", TRIVIAL, {}, jobs)
        self.stop(simple)
        forking = self.start_rq_worker("bench-fork", "rq.worker.Worker")
        rates["fork"] = self.rate("bench-fork", TRIVIAL, {}, fork_jobs)
        self.stop(forking)
        wa = self.start_wa_worker()
        # As wagw.client enqueues: timeout and Retry explicit, no defaults to apply.
        rates["wa"] = self.rate(
            keys.WA_QUEUE,
            "workers.wa.fetch_avatar",
            {"jid": ALICE},
            jobs,
            timeout=30,
            retry=Retry(max=2, interval=[2, 2]),
            meta={"wagw_defaults": False},
        )
        self.stop(wa)
        return rates

    # Crash -> next attempt ------------------------------------------------------------
    def crash_latencies(self, samples: int) -> list[float]:
        scheduler = self.spawn([sys.executable, "-m", "wagw", "scheduler"])
        wa = self.start_wa_worker()
        queue = Queue(keys.WA_QUEUE, connection=self.conn, serializer=JSONSerializer)
        latencies = []
        try:
            for _ in range(samples):
                # RQ schedules on whole seconds: a random phase gives the honest spread.
                time.sleep(random.uniform(0, 1))
                self.conn.delete(keys.FAKE_SENT, keys.CRASHES)
                job = queue.enqueue(
                    "workers.wa.fetch_avatar",
                    jid="crash@s.whatsapp.net",
                    retry=Retry(max=1, interval=1),
                    meta={"wagw_defaults": False},
                    job_timeout=30,
                )
                wait_for(lambda job=job: job.get_status() == "failed", 30, what="the crashing job to fail twice")
                calls = [json.loads(raw) for raw in self.conn.lrange(keys.FAKE_SENT, 0, -1)]
                crashes = [json.loads(raw) for raw in self.conn.lrange(keys.CRASHES, 0, -1)]
                first_crash = min(crash["time"] for crash in crashes)
                latencies.append(calls[1]["time"] - first_crash)
                # The next sample starts on a warm host, like the first one did.
                wait_for(
                    lambda: self.conn.hget(keys.DEVICE_STATUS.format(role="worker-1"), "connected") == b"1",
                    30,
                    what="the respawned host",
                )
        finally:
            self.stop(wa)
            self.stop(scheduler)
        return latencies


def parse(stamp: bytes) -> float:
    text = stamp.decode().rstrip("Z")
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="throughput repeats (default 7)")
    parser.add_argument("--jobs", type=int, default=300, help="jobs per SimpleWorker / wa-worker run")
    parser.add_argument("--fork-jobs", type=int, default=120, help="jobs per forking Worker run")
    parser.add_argument("--crashes", type=int, default=8, help="crash -> next attempt samples")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="wagw-bench-", dir="/tmp"))
    redis_proc, server = start_standalone(data_dir)
    try:
        bench = Bench(data_dir, server.url)
        runs = []
        for run in range(1, args.runs + 1):
            bench.conn.flushall()
            rates = bench.throughput(args.jobs, args.fork_jobs)
            runs.append(rates)
            print(
                f"run {run}: wa-worker {rates['wa']:.0f}/s  SimpleWorker {rates['simple']:.0f}/s  "
                f"forking Worker {rates['fork']:.0f}/s  wa/simple {rates['wa'] / rates['simple']:.2f}",
                flush=True,
            )
        bench.conn.flushall()
        latencies = bench.crash_latencies(args.crashes)
        print("crash -> next attempt (s): " + " ".join(f"{value:.2f}" for value in latencies))

        median = {name: statistics.median(run[name] for run in runs) for name in ("wa", "simple", "fork")}
        ratio = statistics.median(run["wa"] / run["simple"] for run in runs)
        print()
        print(f"medians over {args.runs} runs:")
        print(f"  wa-worker (native host, fake backend) {median['wa']:.0f} jobs/s")
        print(f"  bare SimpleWorker, trivial job        {median['simple']:.0f} jobs/s")
        print(f"  forking Worker, trivial job           {median['fork']:.0f} jobs/s")
        print(f"  wa-worker / SimpleWorker              {ratio:.2f} (goal >= 0.90)")
        print(f"  wa-worker / forking Worker            {statistics.median(r['wa'] / r['fork'] for r in runs):.1f}")
        print(
            f"  crash -> next attempt, median of {len(latencies)}: {statistics.median(latencies):.2f} s "
            f"(max {max(latencies):.2f} s; goal <= 1.5 s with a 1 s retry interval)"
        )
    finally:
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
