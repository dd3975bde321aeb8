"""Benchmark: unpaced sends with per-chat order on vs off, on this checkout.

    .venv/bin/python bench/send_order.py [--runs 5] [--sends 2000] [--chats 50] [--latency 60]

Against a private embedded Redis, with the fake backend and WAGW_SEND_RATE=0, each run starts
three `wagw wa-worker`s (slots 1-3: an account's most, the session taking WhatsApp's fourth
linked device) with the order on, then off (alternating which goes first):

1. throughput: --sends `send_text` jobs over --chats chats, interleaved (chat 0, 1, …, 49, 0,
   …), queued in one round trip while the workers are idle; the rate is taken between the
   first and the last job's end. With the order on, each chat's sends go one at a time, in
   enqueue order; with it off, as they come;
2. the latency of one send on an idle account: enqueue one `send_text`, and time until the
   fake backend's record of the call (its time, taken inside the native host), --latency
   samples 20 ms apart; p50 and p90 of each, and the p50 with the order on minus off;
3. once, after the runs: pacing. A backlog of sends to new chats on the same workers with
   WAGW_SEND_RATE=--pace-rate and `wagw scheduler` running, for about --pace-seconds: the rate
   the fake got them at, first to last (goal: within 5 % of the rate);
4. with --two-hosts, after that: the same rate on two `wagw run` against this Redis serving
   the same account (one wa-worker each, each its own data dir, as two hosts), sends enqueued
   at twice the pace until as many went out: the rate the fake got them at from both together
   (goal: within 5 %, the pace being one GCRA in Redis per account), as the slope of send time
   over send number from the second send (the first of a fresh worker runs late), and how many
   each daemon's worker ran.

"Off" is the same checkout with the order taken out at the wa-worker (bench/order_off: no
ticket taken, no send registered or held back), so the figures are the order's own cost.
Prints each run, then medians: throughput, on / off (goal >= 0.9), and the added p50 latency
(goal <= 2 ms). --smoke runs every part once, small. A part that cannot be measured (a worker
exiting, a send failing, sends not done
in the time the slowest run here would need) stops the bench with exit status 1, naming it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from rq import Queue  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.serializers import JSONSerializer  # noqa: E402

from bench import harness  # noqa: E402
from bench.harness import CannotMeasure  # noqa: E402
from chaos.daemon import Daemon, DaemonError  # noqa: E402
from wagw import keys  # noqa: E402
from wagw.supervisor.embedded_redis import start_standalone  # noqa: E402

ORDER_OFF = Path(__file__).resolve().parent / "order_off"  # a sitecustomize that takes the order out
SLOTS = (1, 2, 3)  # the wa-workers of the account (--workers): an account has at most three
FLOOR_RATE = 20.0  # sends a second: a tenth of the slowest run measured here
SMOKE = {"runs": 1, "sends": 60, "chats": 10, "latency": 3, "workers": 2, "pace_rate": 600, "pace_seconds": 1}


class Bench:
    def __init__(self, data_dir: Path, redis_url: str, grace: float, workers: int = len(SLOTS)) -> None:
        self.slots = SLOTS[:workers]
        self.data_dir = data_dir
        self.grace = grace
        self.conn = Redis.from_url(redis_url)
        self.running: dict[str, subprocess.Popen] = {}
        self.env = harness.fake_backend_env(
            redis_url, data_dir, WAGW_WA_WORKERS=str(workers), WAGW_SEND_RATE="0", WAGW_FIRST_CONTACT_RATE="0"
        )

    def check(self) -> None:
        harness.check_running(self.running, self.data_dir)

    def start_workers(self, order: bool, **extra_env: str) -> list[subprocess.Popen]:
        env = {**self.env, "PYTHONPATH": str(ROOT) if order else f"{ORDER_OFF}:{ROOT}", **extra_env}
        procs = []
        for slot in self.slots:
            name = f"wa-worker-{slot}"
            with open(harness.child_log(self.data_dir, name), "a") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "wagw", "wa-worker", "--slot", str(slot)],
                    env=env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=log,
                    stdin=subprocess.DEVNULL,
                )
            self.running[name] = proc
            procs.append(proc)

        def connected() -> bool:
            for slot, proc in zip(self.slots, procs, strict=True):
                status = self.conn.hgetall(keys.DEVICE_STATUS.format(role=f"worker-{slot}"))
                if status.get(b"worker_pid") != str(proc.pid).encode() or status.get(b"connected") != b"1":
                    return False
            return True

        harness.wait(connected, self.grace, "the wa-workers' hosts to connect", self.check)
        return procs

    def stop_workers(self, procs: list[subprocess.Popen]) -> None:
        self.running = {name: proc for name, proc in self.running.items() if proc not in procs}
        harness.stop(procs)

    def enqueue_texts(self, sends: Iterable[tuple[str, str]]) -> list[str]:
        """Queue one send_text per (to, text) on `wa` in one round trip; their job ids."""
        queue = Queue(keys.WA_QUEUE, connection=self.conn, serializer=JSONSerializer)
        calls = [
            Queue.prepare_data(
                "workers.wa.send_text",
                kwargs={"to": to, "text": text},
                timeout=30,
                meta={"wagw_defaults": False},
            )
            for to, text in sends
        ]
        with self.conn.pipeline() as pipe:
            ids = [job.id for job in queue.enqueue_many(calls, pipeline=pipe)]
            pipe.execute()
        return ids

    def throughput(self, sends: int, chats: int) -> float:
        ids = self.enqueue_texts(
            (f"1555{n % chats:07d}@s.whatsapp.net", f"{n % chats}:{n // chats}") for n in range(sends)
        )

        def ended() -> int:
            with self.conn.pipeline(transaction=False) as pipe:
                finished, failed = pipe.zcard("rq:finished:wa").zcard("rq:failed:wa").execute()
            if failed:
                raise CannotMeasure(f"{failed} send(s) failed")
            return finished

        harness.wait_count(ended, sends, FLOOR_RATE, self.grace, "sends done", self.check, 0.05)
        with self.conn.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hget(f"rq:job:{job_id}", "ended_at")
            stamps = [parse(stamp) for stamp in pipe.execute()]
        return (sends - 1) / (max(stamps) - min(stamps))

    def latency(self, samples: int) -> list[float]:
        """Seconds from enqueue to the fake's record of the call, one send at a time."""
        queue = Queue(keys.WA_QUEUE, connection=self.conn, serializer=JSONSerializer)
        found = []
        for n in range(samples):
            before = self.conn.llen(keys.FAKE_SENT)
            started = time.time()
            queue.enqueue(
                "workers.wa.send_text",
                to="15559999999@s.whatsapp.net",
                text=f"latency {n}",
                job_timeout=30,
                meta={"wagw_defaults": False},
            )
            harness.wait(
                lambda before=before: self.conn.llen(keys.FAKE_SENT) > before, self.grace, "a send", self.check
            )
            record = json.loads(self.conn.lindex(keys.FAKE_SENT, before))
            found.append(record["time"] - started)
            time.sleep(0.02)
        return found

    def measure(self, order: bool, sends: int, chats: int, samples: int) -> dict:
        self.conn.flushall()
        procs = self.start_workers(order)
        try:
            rate = self.throughput(sends, chats)
            self.check_order(chats)
            delays = self.latency(samples)
        finally:
            self.stop_workers(procs)
        return {"rate": rate, "p50": statistics.median(delays), "p90": quantile(delays, 0.9)}

    def check_order(self, chats: int) -> int:
        """How many sends reached the backend before an earlier one of their chat."""
        last: dict[str, int] = {}
        overtaken = 0
        for raw in self.conn.lrange(keys.FAKE_SENT, 0, -1):
            chat, _, seq = json.loads(raw)["args"]["text"].partition(":")
            if last.get(chat, -1) > int(seq):
                overtaken += 1
            last[chat] = max(last.get(chat, -1), int(seq))
        self.overtaken = overtaken
        return overtaken

    def pace(self, rate: float, seconds: float) -> tuple[float, int]:
        """Sends a minute the fake got from a backlog paced at `rate` (WAGW_SEND_RATE) on every
        wa-worker, over about `seconds`, with `wagw scheduler` letting each go at its slot; and
        how many."""
        self.conn.flushall()
        count = int(rate * seconds / 60) + 1
        with open(harness.child_log(self.data_dir, "scheduler"), "a") as log:
            scheduler = subprocess.Popen(
                [sys.executable, "-m", "wagw", "scheduler"],
                env={**self.env, "PYTHONPATH": str(ROOT)},
                cwd=ROOT,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        self.running["scheduler"] = scheduler
        procs = self.start_workers(True, WAGW_SEND_RATE=f"{rate:g}")
        try:
            self.enqueue_texts((f"1555{n:07d}@s.whatsapp.net", f"paced {n}") for n in range(count))
            harness.wait_count(
                lambda: int(self.conn.llen(keys.FAKE_SENT)),
                count,
                min(FLOOR_RATE, rate / 60 / 2),
                self.grace,
                "paced sends",
                self.check,
                0.2,
            )
            times = sorted(json.loads(raw)["time"] for raw in self.conn.lrange(keys.FAKE_SENT, 0, -1))
        finally:
            self.stop_workers([*procs, scheduler])
        return (count - 1) / (times[-1] - times[0]) * 60, count


def two_hosts(
    data_dir: Path, redis_url: str, rate: float, seconds: float, grace: float
) -> tuple[float, int, list[int]]:
    """Sends a minute the fake got from a backlog paced at `rate` on two `wagw run` serving
    the one account over about `seconds`; how many; and how many each daemon's wa-worker ran."""
    conn = Redis.from_url(redis_url)
    conn.flushall()
    count = int(rate * seconds / 60) + 1
    env = {"WAGW_BACKEND": "fake", "WAGW_REDIS_URL": redis_url, "WAGW_WA_WORKERS": "1", "WAGW_SEND_RATE": f"{rate:g}"}
    daemons = []
    for n in (1, 2):
        (data_dir / f"host-{n}").mkdir()
        daemons.append(Daemon(data_dir / f"host-{n}", env, None if n == 1 else ["default"]))

    def check() -> None:
        for daemon in daemons:
            if not daemon.alive():
                raise CannotMeasure(f"wagw run of {daemon.data_dir.name} exited:\n{daemon.log_tail(20)}")

    try:
        for daemon in daemons:
            daemon.start(wait=False)
        for daemon in daemons:
            try:
                daemon.wait_settled(grace * 2)
            except DaemonError as error:
                raise CannotMeasure(f"{daemon.data_dir.name}: {error}") from None
        pids = [daemon.child_pid("wa-worker-1") for daemon in daemons]
        queue = Queue(keys.WA_QUEUE, connection=conn, serializer=JSONSerializer)
        ids: list[str] = []
        started = time.monotonic()

        def sent_times() -> list[float]:  # the daemons' sessions record calls of their own
            records = (json.loads(raw) for raw in conn.lrange(keys.FAKE_SENT, 0, -1))
            return sorted(record["time"] for record in records if record["op"] == "send_text")

        def enough() -> bool:
            # Sends trickle in at twice the pace: both idle workers take fresh ones and their
            # slots (a backlog queued at once is slotted by whichever worker comes first).
            while len(ids) < (time.monotonic() - started) * rate / 30:
                n = len(ids)
                to = f"1555{n:07d}@s.whatsapp.net"
                ids.append(queue.enqueue("workers.wa.send_text", to=to, text=f"paced {n}", job_timeout=30).id)
            return len(sent_times()) >= count

        harness.wait(enough, grace + seconds * 2, "paced sends", check)
        times = sent_times()[:count]
        done = [job for job in Job.fetch_many(ids, conn, JSONSerializer) if job and job.get_status() == "finished"]
        ran_by = [job.worker_name.rpartition(".")[2] for job in done if job.worker_name]
        each = [ran_by.count(str(pid)) for pid in pids]
        for daemon in daemons:
            if (code := daemon.stop()) != 0:
                raise CannotMeasure(f"wagw run of {daemon.data_dir.name} stopped with {code}")
    finally:
        for daemon in daemons:
            daemon.kill_tree()
        conn.close()
    # From the second send (the first of a fresh worker and host runs late: its first-use
    # imports), the slope of send time over send number (each send jitters by the delay
    # before a worker takes it back after its slot; the slots do not).
    every = statistics.linear_regression(range(count - 1), times[1:]).slope
    return 60 / every, count, each


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def parse(stamp: bytes) -> float:
    return datetime.fromisoformat(stamp.decode().rstrip("Z")).replace(tzinfo=UTC).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of order on and off (default 5; 0: pacing only)")
    parser.add_argument("--sends", type=int, default=2000, help="sends per throughput run (default 2000)")
    parser.add_argument("--chats", type=int, default=50, help="chats they go to, interleaved (default 50)")
    parser.add_argument("--latency", type=int, default=60, help="one-send latency samples per run (default 60)")
    parser.add_argument("--pace-rate", type=float, default=60, help="WAGW_SEND_RATE of the pacing part (default 60)")
    parser.add_argument("--pace-seconds", type=float, default=60, help="length of the pacing part (default 60)")
    parser.add_argument("--two-hosts", action="store_true", help="then pacing on two `wagw run` serving one account")
    parser.add_argument("--workers", type=int, default=len(SLOTS), choices=range(1, len(SLOTS) + 1), help="wa-workers")
    args = harness.parse(parser, SMOKE)

    print(f"load average at start: {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs", flush=True)
    data_dir = Path(tempfile.mkdtemp(prefix="wagw-bench-", dir="/tmp"))
    redis_proc = None
    try:
        redis_proc, server = start_standalone(data_dir)
        bench = Bench(data_dir, server.url, args.grace, args.workers)
        runs = []
        for run in range(1, args.runs + 1):
            order = [("on", True), ("off", False)]
            if run % 2 == 0:
                order.reverse()
            got: dict[str, dict] = {}
            for name, on in order:
                got[name] = bench.measure(on, args.sends, args.chats, args.latency)
                got[name]["overtaken"] = bench.overtaken
            if got["on"]["overtaken"]:
                raise CannotMeasure(f"{got['on']['overtaken']} send(s) overtook an earlier one of their chat")
            runs.append(got)
            print(
                f"run {run}: order on {got['on']['rate']:.0f}/s, off {got['off']['rate']:.0f}/s "
                f"({got['off']['overtaken']} sends overtook an earlier one of their chat), "
                f"ratio {got['on']['rate'] / got['off']['rate']:.2f}; one send p50 "
                f"{got['on']['p50'] * 1000:.1f} ms vs {got['off']['p50'] * 1000:.1f} ms "
                f"(p90 {got['on']['p90'] * 1000:.1f} vs {got['off']['p90'] * 1000:.1f})",
                flush=True,
            )
        if runs:  # --runs 0: the pacing part alone
            ratio = statistics.median(r["on"]["rate"] / r["off"]["rate"] for r in runs)
            added = statistics.median((r["on"]["p50"] - r["off"]["p50"]) * 1000 for r in runs)
            shape = f"{args.sends} sends over {args.chats} chats, {args.workers} wa-workers"
            print(f"medians of {len(runs)} run(s), {shape}:")
            print(f"  order on / off throughput    {ratio:.2f}  (goal >= 0.9)")
            print(f"  order on throughput          {statistics.median(r['on']['rate'] for r in runs):.0f} sends/s")
            print(f"  order off throughput         {statistics.median(r['off']['rate'] for r in runs):.0f} sends/s")
            print(f"  added p50 latency, one send  {added:.2f} ms  (goal <= 2 ms)")
        paced, count = bench.pace(args.pace_rate, args.pace_seconds)
        off = (paced - args.pace_rate) / args.pace_rate * 100
        print(
            f"pacing at {args.pace_rate:g} a minute, {count} sends on {args.workers} wa-workers: "
            f"{paced:.2f} a minute ({off:+.1f} %; goal within 5 %)"
        )
        if args.two_hosts:
            paced, count, each = two_hosts(data_dir, server.url, args.pace_rate, args.pace_seconds, args.grace)
            off = (paced - args.pace_rate) / args.pace_rate * 100
            print(
                f"pacing at {args.pace_rate:g} a minute, {count} sends on two wagw run serving one account "
                f"(their wa-workers ran {each[0]} and {each[1]}): {paced:.2f} a minute ({off:+.1f} %; goal within 5 %)"
            )
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(harness.run(main))
