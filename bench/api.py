"""Benchmark: the HTTP API (`wagw api`) against wagw.client, in one `wagw run` on the fake backend.

    .venv/bin/python bench/api.py [--runs 5] [--calls 200] [--enqueues 3000] [--connections 16] [--compare REF]

One run of this script starts one daemon (fake backend, one wa-worker slot, the API on a
loopback port) and measures, each part against its baseline in the same run:
1. a synchronous send_text through the API (POST /wa/send_text, answered with the job's result)
   against the same job enqueued with wagw.client and awaited with wagw.client.wait_for, one
   call at a time, the paths alternating; per run the medians and the API's over the client's.
   The API is called with httpx, and also with a minimal HTTP client (one keep-alive socket):
   httpx's own CPU in this process (~0.6 ms a call) is the caller's, not the API's;
2. asynchronous enqueues per second (`Prefer: respond-async`, --connections keep-alive
   connections of a minimal asyncio HTTP client, so the load generator costs little CPU),
   with the wa-worker stopped (SIGSTOP) meanwhile so that what is measured is the API and
   Redis, not the worker sharing the cores; and, as the baseline, wagw.client.enqueue from
   one process (the same job, the same validation);
3. PSS (/proc/<pid>/smaps_rollup) of the api process after that work, and of the whole daemon
   (every process under `wagw run`).
The CPU time each respond-async call cost the api process, Redis and this load generator is
printed with its rate. --compare REF also runs git REF's API (extracted with git archive):
then this checkout's and REF's `wagw api` each run as a process of their own beside the
daemon, on its Redis, measured the same way in every run (the order alternating), and each
run reports this checkout's figures over REF's: on a shared machine the ratio within a run is
the figure to trust.
Prints each sample, then medians and ratios. Takes about a minute on two cores; --smoke runs every
part once, small, in seconds. A part that cannot be measured (the daemon or a child exiting, an
answer that is not the expected one, work that stops coming) stops the bench at once, naming it on
stderr, with exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench import harness  # noqa: E402
from bench.footprint import rollup, tree  # noqa: E402
from bench.harness import CannotMeasure  # noqa: E402
from chaos.daemon import Daemon  # noqa: E402

ALICE = "15551234567@s.whatsapp.net"
LOGIN = ("bench", "correct-horse-battery-staple")
SMOKE = {"runs": 1, "calls": 5, "enqueues": 50, "connections": 4}
THIS = "this"
MINIMAL = "minimal client: "  # the synchronous calls made without httpx
FLOOR_RATE = 20.0  # enqueues a second below which the API is broken, not slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_daemon(data_dir: Path, port: int, grace: float) -> Daemon:
    env = {
        "WAGW_BACKEND": "fake",
        "WAGW_WEBHOOK_WORKERS": "1",
        "WAGW_SHUTDOWN_GRACE": "5",
        "WAGW_API_ADDR": f"127.0.0.1:{port}",
        "WAGW_API_BASIC_AUTH": ":".join(LOGIN),
        # Sends are paced per account by default; the bench measures the API, not the pacing.
        "WAGW_SEND_RATE": "0",
        "WAGW_FIRST_CONTACT_RATE": "0",
    }
    daemon = Daemon(data_dir, env)
    daemon.start(timeout=grace * 2)
    return daemon


def check(daemon: Daemon) -> None:
    try:
        daemon.check_alive()
    except AssertionError as error:
        raise CannotMeasure(str(error).splitlines()[0]) from None
    snap = daemon.snapshot() or {}
    for process in snap.get("processes", []):
        if process.get("restarts"):
            raise CannotMeasure(f"{process['name']} of wagw run restarted ({process.get('last_exit')})")


class Api:
    """One `wagw api` under test: the daemon's own, or one started by --compare."""

    def __init__(self, name: str, port: int, pid: int, proc: subprocess.Popen | None = None) -> None:
        self.name = name
        self.port = port
        self.pid = pid
        self.proc = proc
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=LOGIN, timeout=60)

    def close(self) -> None:
        self.client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_api(daemon: Daemon, name: str, code: Path, log_dir: Path, grace: float) -> Api:
    """`wagw api` running the code in `code` on a port of its own, on the daemon's Redis."""
    port = free_port()
    env = {**daemon.env, "PYTHONPATH": str(code)}
    with open(log_dir / f"api-{name.replace('/', '_')}.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wagw", "api", "--addr", f"127.0.0.1:{port}"],
            env=env,
            cwd=code,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    api = Api(name, port, proc.pid, proc)

    def ready() -> bool:
        if proc.poll() is not None:
            raise CannotMeasure(f"{name}'s wagw api exited {proc.returncode}{harness.tail(log_dir / log.name)}")
        return _answers(api.client)

    harness.wait(ready, grace, f"{name}'s API to answer /health", lambda: check(daemon))
    return api


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_pid(daemon: Daemon) -> int:
    pid = next((pid for pid, name in tree(daemon).items() if "redis" in name), None)
    if pid is None:
        raise CannotMeasure("no redis-server under wagw run")
    return pid


# 1. synchronous calls ------------------------------------------------------------------------
def api_call(client: httpx.Client, n: int) -> float:
    started = time.perf_counter()
    answer = client.post("/wa/send_text", json={"to": ALICE, "text": f"bench {n}"})
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise CannotMeasure(f"POST /wa/send_text answered {answer.status_code}: {answer.text[:300]}")
    return elapsed


class MinimalHttp:
    """One keep-alive connection and a blocking minimal HTTP/1.1 client: the same call as
    api_call without httpx's own CPU (about 0.6 ms a call in this process)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.auth = base64.b64encode(":".join(LOGIN).encode()).decode()
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def call(self, n: int) -> float:
        body = json.dumps({"to": ALICE, "text": f"bench {n}"}).encode()
        request = (
            f"POST /wa/send_text HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: Basic {self.auth}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        started = time.perf_counter()
        self.sock.sendall(request)
        status = self.reader.readline()
        length = 0
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        answer = self.reader.read(length)
        elapsed = time.perf_counter() - started
        if status.split(b" ")[1:2] != [b"200"]:
            raise CannotMeasure(f"POST /wa/send_text answered {status!r}: {answer[:300]!r}")
        return elapsed

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def client_call(conn, n: int) -> float:
    from wagw import client

    started = time.perf_counter()
    job = client.enqueue_send_text(ALICE, f"bench {n}", connection=conn)
    result = client.wait_for(job, timeout=60)
    elapsed = time.perf_counter() - started
    if result.get("to") != ALICE:
        raise CannotMeasure(f"wagw.client send_text gave {result!r}")
    return elapsed


def measure_sync(daemon: Daemon, apis: list[Api], calls: int) -> tuple[dict[str, float], float]:
    """(median seconds of a call through each API, with httpx under its name and with the
    minimal client under MINIMAL + its name; median of wagw.client's), one call at a time,
    every path in turn, the order rotating."""
    conn = daemon.redis
    minimal = [MinimalHttp(api.port) for api in apis]
    paths = [
        *((api.name, functools.partial(api_call, api.client)) for api in apis),
        *((MINIMAL + api.name, http.call) for api, http in zip(apis, minimal, strict=True)),
        ("", partial_client(conn)),
    ]
    try:
        for n in range(3):  # warm every path (connections, first imports in the worker)
            for _, call in paths:
                call(n)
        samples: dict[str, list[float]] = {name: [] for name, _ in paths}
        for n in range(calls):
            check(daemon) if n % 50 == 0 else None
            shift = n % len(paths)
            for name, call in paths[shift:] + paths[:shift]:
                samples[name].append(call(n))
    finally:
        for http in minimal:
            http.close()
    baseline = statistics.median(samples.pop(""))
    return {name: statistics.median(values) for name, values in samples.items()}, baseline


def partial_client(conn):
    return functools.partial(client_call, conn)


# 2. asynchronous enqueues ---------------------------------------------------------------------
async def _enqueue_over(port: int, count: int, connections: int) -> float:
    """Seconds for `count` respond-async calls over `connections` keep-alive connections."""
    body = json.dumps({"jid": ALICE}).encode()
    auth = base64.b64encode(":".join(LOGIN).encode()).decode()
    request = (
        f"POST /wa/fetch_avatar HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic {auth}\r\n"
        f"Prefer: respond-async\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining > 0:
                remaining -= 1
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = head.split(b" ", 2)[1]
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                answer = await reader.readexactly(length)
                if status != b"202":
                    raise CannotMeasure(f"a respond-async call answered {status.decode()}: {answer[:300]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started


@dataclass
class AsyncFigures:
    rate: float  # respond-async calls a second
    api_cpu: float  # ms of the api process's CPU per call
    redis_cpu: float  # ms of Redis's CPU per call
    client_cpu: float  # ms of this load generator's CPU per call


def measure_async(
    daemon: Daemon, apis: list[Api], count: int, connections: int, grace: float
) -> tuple[dict[str, AsyncFigures], float]:
    """(each API's figures, wagw.client enqueues a second), the wa-worker stopped meanwhile."""
    from wagw import client

    worker = daemon.child_pid("wa-worker-1")
    if worker is None:
        raise CannotMeasure("wa-worker-1 of wagw run is not running")
    redis = redis_pid(daemon)
    limit = harness.deadline(count, FLOOR_RATE, grace)
    figures: dict[str, AsyncFigures] = {}
    warm = max(10, count // 10)  # the first API measured in a run was slower: each is warmed first
    os.kill(worker, signal.SIGSTOP)
    try:
        for api in apis:
            asyncio.run(asyncio.wait_for(_enqueue_over(api.port, warm, connections), limit))
        for api in apis:
            before = (cpu_seconds(api.pid), cpu_seconds(redis), time.process_time())
            seconds = asyncio.run(asyncio.wait_for(_enqueue_over(api.port, count, connections), limit))
            after = (cpu_seconds(api.pid), cpu_seconds(redis), time.process_time())
            spent = [(end - start) * 1000 / count for start, end in zip(before, after, strict=True)]
            figures[api.name] = AsyncFigures(count / seconds, *spent)
        conn = daemon.redis
        started = time.perf_counter()
        for _ in range(count):
            client.enqueue_fetch_avatar(ALICE, connection=conn)
        baseline = time.perf_counter() - started
    except TimeoutError:
        raise CannotMeasure(f"{count} respond-async calls not done within {limit:.0f} s") from None
    finally:
        os.kill(worker, signal.SIGCONT)
    # Let the worker drain what was enqueued, so the next run starts from an empty queue.
    total = count * (len(apis) + 1) + warm * len(apis)
    harness.wait_count(
        lambda: total - daemon.redis.llen("rq:queue:wa"),
        total,
        FLOOR_RATE,
        grace,
        "the enqueued jobs done",
        lambda: check(daemon),
    )
    return figures, count / baseline


# 3. memory ------------------------------------------------------------------------------------
def measure_pss(daemon: Daemon, apis: list[Api]) -> tuple[dict[str, float], float]:
    """(PSS of each API's process, PSS of the whole daemon), MB."""
    named = tree(daemon)
    figures = {pid: rollup(pid) for pid in named}
    if not any(name == "api" and figures.get(pid) for pid, name in named.items()):
        raise CannotMeasure("no api process under wagw run")
    total = sum(f["Pss"] for f in figures.values() if f)
    pss = {}
    for api in apis:
        figure = rollup(api.pid)
        if figure is None:
            raise CannotMeasure(f"{api.name}'s api process is gone")
        pss[api.name] = figure["Pss"] / 1024
    return pss, total / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200, help="synchronous calls per run and path")
    parser.add_argument("--enqueues", type=int, default=3000, help="respond-async calls per run")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections for the enqueues")
    parser.add_argument("--compare", metavar="REF", help="also run git REF's wagw api in every run")
    args = harness.parse(parser, SMOKE)
    data_dir = Path(tempfile.mkdtemp(prefix="wagw-bench-api-", dir="/tmp"))
    port = free_port()
    daemon = start_daemon(data_dir, port, args.grace)
    apis: list[Api] = []
    try:
        if args.compare:
            ref = harness.extract(ROOT, args.compare, data_dir / "ref")
            apis = [
                start_api(daemon, THIS, ROOT, data_dir, args.grace),
                start_api(daemon, args.compare, ref, data_dir, args.grace),
            ]
        else:
            pid = daemon.child_pid("api")
            if pid is None:
                raise CannotMeasure("no api process under wagw run")
            apis = [Api(THIS, port, pid)]
            harness.wait(
                lambda: _answers(apis[0].client), args.grace, "the API to answer /health", lambda: check(daemon)
            )
        runs: list[dict[str, dict[str, float]]] = []
        for run in range(1, args.runs + 1):
            order = apis if run % 2 else apis[::-1]
            sync, base = measure_sync(daemon, order, args.calls)
            async_figures, base_rate = measure_async(daemon, order, args.enqueues, args.connections, args.grace)
            pss, total = measure_pss(daemon, apis)
            figures = {
                api.name: {
                    "sync": sync[api.name],
                    "ratio": sync[api.name] / base,
                    "ratio_minimal": sync[MINIMAL + api.name] / base,
                    **vars(async_figures[api.name]),
                    "pss": pss[api.name],
                }
                for api in apis
            }
            figures[""] = {"sync": base, "rate": base_rate, "total": total}
            runs.append(figures)
            print(
                f"run {run}: wagw.client sync {base * 1000:.1f} ms, enqueue {base_rate:.0f}/s; "
                f"daemon PSS {total:.1f} MB"
            )
            for api in apis:
                f = figures[api.name]
                print(
                    f"  {api.name}: sync {f['sync'] * 1000:.1f} ms (ratio {f['ratio']:.2f}; with the minimal client "
                    f"{f['ratio_minimal']:.2f}); respond-async "
                    f"{f['rate']:.0f}/s (CPU per call: api {f['api_cpu']:.2f} ms, Redis {f['redis_cpu']:.2f} ms, "
                    f"load generator {f['client_cpu']:.2f} ms); PSS api {f['pss']:.1f} MB",
                    flush=True,
                )
            if args.compare:
                this, other = figures[THIS], figures[args.compare]
                print(
                    f"  {THIS}/{args.compare}: sync ratio {this['ratio'] / other['ratio']:.2f}, respond-async "
                    f"{this['rate'] / other['rate']:.2f}, api CPU per call {this['api_cpu'] / other['api_cpu']:.2f}, "
                    f"PSS {this['pss'] - other['pss']:+.1f} MB",
                    flush=True,
                )
        check(daemon)

        def median(name: str, key: str) -> float:
            return statistics.median(figures[name][key] for figures in runs)

        print(
            f"\nmedians of {args.runs} run(s): wagw.client.enqueue {median('', 'rate'):.0f}/s, "
            f"whole daemon PSS {median('', 'total'):.1f} MB"
        )
        for api in apis:
            print(
                f"  {api.name}: sync API/client {median(api.name, 'ratio'):.2f} (target <= 1.3; with the minimal "
                f"client {median(api.name, 'ratio_minimal'):.2f}); respond-async "
                f"{median(api.name, 'rate'):.0f}/s (target >= 1500), api CPU {median(api.name, 'api_cpu'):.2f} ms "
                f"a call; PSS api {median(api.name, 'pss'):.1f} MB (target <= 45)"
            )
        if args.compare:
            ratios = {
                key: statistics.median(figures[THIS][key] / figures[args.compare][key] for figures in runs)
                for key in ("ratio", "rate", "api_cpu")
            }
            print(
                f"  {THIS}/{args.compare} (median of per-run ratios): sync ratio {ratios['ratio']:.2f}, "
                f"respond-async {ratios['rate']:.2f}, api CPU per call {ratios['api_cpu']:.2f}"
            )
    finally:
        for api in apis:
            api.close()
        code = daemon.stop()
        daemon.kill_tree()
        shutil.rmtree(data_dir, ignore_errors=True)
    if code != 0:
        raise CannotMeasure(f"wagw run exited {code} on SIGTERM")
    return 0


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/health").status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    sys.exit(harness.run(main))
