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
--compare REF also runs git REF's wa-worker (extracted with git archive) in every run, right
after this checkout's (alternating which goes first), on the same Redis and the same load, and
reports this checkout's rate over REF's per run: on a shared machine the ratio within a run is
the figure to trust. Prints each sample, then medians and ratios. Takes about a minute on two cores; --smoke runs
every part once, small, in a few seconds. A part that cannot be measured (a worker exiting, a
job failing, jobs not done in the time the slowest worker here would need) stops the bench at
once, naming it on stderr, with exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
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
from rq.job import Job  # noqa: E402
from rq.serializers import JSONSerializer  # noqa: E402

from bench import harness  # noqa: E402
from bench.harness import CannotMeasure  # noqa: E402
from wagw import keys  # noqa: E402
from wagw.supervisor.embedded_redis import start_standalone  # noqa: E402

ALICE = "15551234567@s.whatsapp.net"
TRIVIAL = "os.getpid"
# Jobs a second below which a throughput run cannot be a measurement: the slowest worker here,
# RQ's forking Worker, does 50-90.
FLOOR_RATE = 5.0
SMOKE = {"runs": 1, "jobs": 10, "fork_jobs": 3, "crashes": 1}
# A stock `rq worker` can take up to a minute to stop on SIGTERM (its command listener's read;
# wagw's workers end it within a second: rqcompat.PromptCommandListener). A baseline is done
# once measured, so it gets this long, then SIGKILL.
STOCK_RQ_STOP = 2.0


class Bench:
    def __init__(self, data_dir: Path, redis_url: str, grace: float = harness.GRACE):
        self.data_dir = data_dir
        self.grace = grace
        self.conn = Redis.from_url(redis_url)
        self.running: dict[str, subprocess.Popen] = {}
        self.env = harness.fake_backend_env(
            redis_url,
            data_dir,
            # Every sample crashes the same target: neither a quarantine nor a poison target
            # may cut the crash -> next attempt measurement short.
            WAGW_QUARANTINE_CRASHES="100000",
            WAGW_POISON_CRASHES="100000",
            PYTHONPATH=str(ROOT),
        )

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        # Its output, shown when it fails.
        with open(harness.child_log(self.data_dir, name), "a") as log:
            proc = subprocess.Popen(
                argv, env=self.env, cwd=self.env["PYTHONPATH"], stdout=log, stderr=log, stdin=subprocess.DEVNULL
            )
        self.running[name] = proc
        return proc

    def check(self) -> None:
        """CannotMeasure as soon as a worker or the scheduler has exited."""
        harness.check_running(self.running, self.data_dir)

    def wait(self, predicate, what: str, seconds: float | None = None):
        return harness.wait(predicate, self.grace if seconds is None else seconds, what, self.check)

    def stop(self, proc: subprocess.Popen, patience: float = 15.0) -> None:
        self.running = {name: running for name, running in self.running.items() if running is not proc}
        harness.stop([proc], patience)

    # Workers --------------------------------------------------------------------------
    def start_rq_worker(self, name: str, queue: str, worker_class: str) -> subprocess.Popen:
        proc = self.spawn(
            name,
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
            ],
        )
        self.wait(lambda: Worker.count(queue=Queue(queue, connection=self.conn)), f"rq worker on {queue} to register")
        return proc

    def start_wa_worker(self, code: Path = ROOT) -> subprocess.Popen:
        """`wagw wa-worker --slot 1` running the code in `code` (this checkout, or --compare's REF)."""
        env = self.env
        if code != ROOT:
            self.env = {**env, "PYTHONPATH": str(code)}
        try:
            proc = self.spawn("wa-worker", [sys.executable, "-m", "wagw", "wa-worker", "--slot", "1"])
        finally:
            self.env = env
        key = keys.DEVICE_STATUS.format(role="worker-1")
        self.wait(
            lambda: (
                self.conn.hget(key, "worker_pid") == str(proc.pid).encode() and self.conn.hget(key, "connected") == b"1"
            ),
            "the wa-worker's host to connect",
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

        def ended() -> int:
            # Two counters, gently (polling is load too); a failed job ends the run at once.
            with self.conn.pipeline(transaction=False) as pipe:
                finished, failed = pipe.zcard(f"rq:finished:{queue_name}").zcard(f"rq:failed:{queue_name}").execute()
            if failed:
                raise CannotMeasure(f"{func} on {queue_name}: {failed} job(s) failed:{self.first_failure(ids)}")
            return finished

        harness.wait_count(ended, count, FLOOR_RATE, self.grace, f"jobs done on {queue_name}", self.check, 0.05)
        with self.conn.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hmget(f"rq:job:{job_id}", "status", "ended_at")
            rows = pipe.execute()
        if any(status != b"finished" for status, _ in rows):
            raise CannotMeasure(f"{func} on {queue_name}: a job did not finish:{self.first_failure(ids)}")
        ended_at = [parse(stamp) for _, stamp in rows]
        return (count - 1) / (max(ended_at) - min(ended_at))

    def first_failure(self, ids: list[str]) -> str:
        """The last line of the first failed job's exception, for the message."""
        for job_id in ids:
            job = Job.fetch(job_id, connection=self.conn, serializer=JSONSerializer)
            if job.get_status() == "failed" and (result := job.latest_result()) is not None:
                lines = (result.exc_string or "").strip().splitlines() or ["(no exception recorded)"]
                return f" {job.func_name}: {lines[-1]}"
        return ""

    def wa_rate(self, jobs: int, code: Path = ROOT) -> tuple[float, float]:
        """Jobs a second, and the wa-worker's CPU milliseconds per job (its host's excluded):
        unlike the rate, CPU per job hardly moves with the load other processes put on the box."""
        wa = self.start_wa_worker(code)
        cpu_before = cpu_seconds(wa.pid)
        # As wagw.client enqueues: timeout and Retry explicit, no defaults to apply.
        rate = self.rate(
            keys.WA_QUEUE,
            "workers.wa.fetch_avatar",
            {"jid": ALICE},
            jobs,
            timeout=30,
            retry=Retry(max=2, interval=[2, 2]),
            meta={"wagw_defaults": False},
        )
        cpu_ms = 1000 * (cpu_seconds(wa.pid) - cpu_before) / jobs
        self.stop(wa)
        self.conn.delete(f"rq:finished:{keys.WA_QUEUE}")  # the next wa-worker's count starts at 0
        return rate, cpu_ms

    def throughput(
        self, jobs: int, fork_jobs: int, ref: Path | None = None, ref_first: bool = False
    ) -> dict[str, float]:
        rates = {}
        simple = self.start_rq_worker("SimpleWorker", "bench-simple", "rq.worker.SimpleWorker")
        cpu_before = cpu_seconds(simple.pid)
        rates["simple"] = self.rate("bench-simple", TRIVIAL, {}, jobs)
        rates["simple_cpu"] = 1000 * (cpu_seconds(simple.pid) - cpu_before) / jobs
        self.stop(simple, STOCK_RQ_STOP)
        forking = self.start_rq_worker("forking-Worker", "bench-fork", "rq.worker.Worker")
        rates["fork"] = self.rate("bench-fork", TRIVIAL, {}, fork_jobs)
        self.stop(forking, STOCK_RQ_STOP)
        if ref is not None and ref_first:
            rates["ref"], rates["ref_cpu"] = self.wa_rate(jobs, ref)
        rates["wa"], rates["wa_cpu"] = self.wa_rate(jobs)
        if ref is not None and not ref_first:
            rates["ref"], rates["ref_cpu"] = self.wa_rate(jobs, ref)
        return rates

    # Crash -> next attempt ------------------------------------------------------------
    def crash_latencies(self, samples: int) -> list[float]:
        scheduler = self.spawn("scheduler", [sys.executable, "-m", "wagw", "scheduler"])
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
                # Two attempts, each a crash and a host respawn, with a 1 s retry between them.
                self.wait(lambda job=job: job.get_status() == "failed", "the crashing job to fail twice")
                calls = [json.loads(raw) for raw in self.conn.lrange(keys.FAKE_SENT, 0, -1)]
                crashes = [json.loads(raw) for raw in self.conn.lrange(keys.CRASHES, 0, -1)]
                if len(calls) < 2 or not crashes:
                    raise CannotMeasure(
                        f"crash -> next attempt: {len(calls)} call(s) and {len(crashes)} crash(es) recorded, "
                        "expected two calls and a crash"
                    )
                first_crash = min(crash["time"] for crash in crashes)
                latencies.append(calls[1]["time"] - first_crash)
                # The next sample starts on a warm host, like the first one did.
                self.wait(
                    lambda: self.conn.hget(keys.DEVICE_STATUS.format(role="worker-1"), "connected") == b"1",
                    "the respawned host to connect",
                )
        finally:
            self.stop(wa)
            self.stop(scheduler)
        return latencies


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse(stamp: bytes) -> float:
    text = stamp.decode().rstrip("Z")
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="throughput repeats (default 7)")
    parser.add_argument("--jobs", type=int, default=300, help="jobs per SimpleWorker / wa-worker run")
    parser.add_argument("--fork-jobs", type=int, default=120, help="jobs per forking Worker run")
    parser.add_argument("--crashes", type=int, default=8, help="crash -> next attempt samples")
    parser.add_argument("--compare", metavar="REF", help="also run git REF's wa-worker in every run")
    args = harness.parse(parser, SMOKE)

    print(f"load average at start: {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs", flush=True)
    data_dir = Path(tempfile.mkdtemp(prefix="wagw-bench-", dir="/tmp"))
    ref = harness.extract(ROOT, args.compare, data_dir / "ref") if args.compare else None
    redis_proc, server = start_standalone(data_dir)
    bench = Bench(data_dir, server.url, args.grace)
    try:
        runs = []
        for run in range(1, args.runs + 1):
            bench.conn.flushall()
            rates = bench.throughput(args.jobs, args.fork_jobs, ref, ref_first=run % 2 == 0)
            runs.append(rates)
            compared = (
                f"  {args.compare} {rates['ref']:.0f}/s ({rates['ref'] / rates['simple']:.2f} of simple,"
                f" {rates['ref_cpu']:.2f} ms CPU/job)  this/{args.compare} {rates['wa'] / rates['ref']:.2f}"
                if ref is not None
                else ""
            )
            print(
                f"run {run}: wa-worker {rates['wa']:.0f}/s  SimpleWorker {rates['simple']:.0f}/s  "
                f"forking Worker {rates['fork']:.0f}/s  wa/simple {rates['wa'] / rates['simple']:.2f}  "
                f"wa {rates['wa_cpu']:.2f} ms CPU/job (simple {rates['simple_cpu']:.2f}){compared}",
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
        print(f"  wa-worker / SimpleWorker              {ratio:.2f} (goal >= 1.0)")
        print(f"  wa-worker CPU per job                 {statistics.median(r['wa_cpu'] for r in runs):.2f} ms")
        print(f"  SimpleWorker CPU per job              {statistics.median(r['simple_cpu'] for r in runs):.2f} ms")
        print(f"  wa-worker / forking Worker            {statistics.median(r['wa'] / r['fork'] for r in runs):.1f}")
        if ref is not None:
            ref_median = statistics.median(run["ref"] for run in runs)
            print(f"  {args.compare} wa-worker                  {ref_median:.0f} jobs/s")
            ref_ratio = statistics.median(r["ref"] / r["simple"] for r in runs)
            print(f"  {args.compare} wa-worker / SimpleWorker   {ref_ratio:.2f}")
            print(f"  {args.compare} wa-worker CPU per job      {statistics.median(r['ref_cpu'] for r in runs):.2f} ms")
            this_ratio = statistics.median(r["wa"] / r["ref"] for r in runs)
            print(f"  this / {args.compare} wa-worker           {this_ratio:.2f}")
        print(
            f"  crash -> next attempt, median of {len(latencies)}: {statistics.median(latencies):.2f} s "
            f"(max {max(latencies):.2f} s; goal <= 1.5 s with a 1 s retry interval)"
        )
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    finally:
        for proc in list(bench.running.values()):
            bench.stop(proc)
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(harness.run(main))
