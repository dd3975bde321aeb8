"""Benchmark: the HTTP API (`wagw api`) against wagw.client, in one `wagw run` on the fake backend.

    .venv/bin/python bench/api.py [--runs 5] [--calls 200] [--enqueues 3000] [--connections 16]

One run of this script starts one daemon (fake backend, one wa-worker slot, the API on a
loopback port) and measures, each part against its baseline in the same run:
1. a synchronous send_text through the API (POST /wa/send_text, answered with the job's result)
   against the same job enqueued with wagw.client and awaited with wagw.client.wait_for, one
   call at a time, the two alternating; per run the medians and the API's over the client's;
2. asynchronous enqueues per second (`Prefer: respond-async`, --connections keep-alive
   connections of a minimal asyncio HTTP client, so the load generator costs little CPU),
   with the wa-worker stopped (SIGSTOP) meanwhile so that what is measured is the API and
   Redis, not the worker sharing the cores; and, as the baseline, wagw.client.enqueue from
   one process (the same job, the same validation);
3. PSS (/proc/<pid>/smaps_rollup) of the api process after that work, and of the whole daemon
   (every process under `wagw run`).
Prints each sample, then medians and ratios. Takes about a minute on two cores; --smoke runs every
part once, small, in seconds. A part that cannot be measured (the daemon or a child exiting, an
answer that is not the expected one, work that stops coming) stops the bench at once, naming it on
stderr, with exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
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


# 1. synchronous calls ------------------------------------------------------------------------
def api_call(client: httpx.Client, n: int) -> float:
    started = time.perf_counter()
    answer = client.post("/wa/send_text", json={"to": ALICE, "text": f"bench {n}"})
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise CannotMeasure(f"POST /wa/send_text answered {answer.status_code}: {answer.text[:300]}")
    return elapsed


def client_call(conn, n: int) -> float:
    from wagw import client

    started = time.perf_counter()
    job = client.enqueue_send_text(ALICE, f"bench {n}", connection=conn)
    result = client.wait_for(job, timeout=60)
    elapsed = time.perf_counter() - started
    if result.get("to") != ALICE:
        raise CannotMeasure(f"wagw.client send_text gave {result!r}")
    return elapsed


def measure_sync(daemon: Daemon, client: httpx.Client, calls: int) -> tuple[float, float]:
    conn = daemon.redis
    for n in range(3):  # warm both paths (connections, first imports in the worker)
        api_call(client, n)
        client_call(conn, n)
    api, baseline = [], []
    for n in range(calls):
        check(daemon) if n % 50 == 0 else None
        if n % 2:
            api.append(api_call(client, n))
            baseline.append(client_call(conn, n))
        else:
            baseline.append(client_call(conn, n))
            api.append(api_call(client, n))
    return statistics.median(api), statistics.median(baseline)


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


def measure_async(daemon: Daemon, port: int, count: int, connections: int, grace: float) -> tuple[float, float]:
    """(API enqueues a second, wagw.client enqueues a second), the wa-worker stopped meanwhile."""
    from wagw import client

    worker = daemon.child_pid("wa-worker-1")
    if worker is None:
        raise CannotMeasure("wa-worker-1 of wagw run is not running")
    limit = harness.deadline(count, FLOOR_RATE, grace)
    os.kill(worker, signal.SIGSTOP)
    try:
        seconds = asyncio.run(asyncio.wait_for(_enqueue_over(port, count, connections), limit))
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
    harness.wait_count(
        lambda: count * 2 - daemon.redis.llen("rq:queue:wa"),
        count * 2,
        FLOOR_RATE,
        grace,
        "the enqueued jobs done",
        lambda: check(daemon),
    )
    return count / seconds, count / baseline


# 3. memory ------------------------------------------------------------------------------------
def measure_pss(daemon: Daemon) -> tuple[float, float]:
    """(PSS of the api process, PSS of the whole daemon), MB."""
    named = tree(daemon)
    figures = {pid: rollup(pid) for pid in named}
    api = [figures[pid]["Pss"] for pid, name in named.items() if name == "api" and figures.get(pid)]
    if not api:
        raise CannotMeasure("no api process under wagw run")
    total = sum(f["Pss"] for f in figures.values() if f)
    return api[0] / 1024, total / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200, help="synchronous calls per run and path")
    parser.add_argument("--enqueues", type=int, default=3000, help="respond-async calls per run")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections for the enqueues")
    args = harness.parse(parser, SMOKE)
    data_dir = Path(tempfile.mkdtemp(prefix="wagw-bench-api-", dir="/tmp"))
    port = free_port()
    daemon = start_daemon(data_dir, port, args.grace)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=LOGIN, timeout=60) as client:
            harness.wait(lambda: _answers(client), args.grace, "the API to answer /health", lambda: check(daemon))
            ratios, rates, baselines, api_pss, total_pss = [], [], [], [], []
            for run in range(1, args.runs + 1):
                api, base = measure_sync(daemon, client, args.calls)
                ratios.append(api / base)
                rate, base_rate = measure_async(daemon, port, args.enqueues, args.connections, args.grace)
                rates.append(rate)
                baselines.append(base_rate)
                pss, total = measure_pss(daemon)
                api_pss.append(pss)
                total_pss.append(total)
                print(
                    f"run {run}: sync send_text median API {api * 1000:.1f} ms, wagw.client {base * 1000:.1f} ms, "
                    f"ratio {api / base:.2f}; respond-async {rate:.0f}/s (wagw.client.enqueue {base_rate:.0f}/s); "
                    f"PSS api {pss:.1f} MB, daemon {total:.1f} MB",
                    flush=True,
                )
            check(daemon)
        print(
            f"\nmedians of {args.runs} run(s): sync API/client {statistics.median(ratios):.2f} (target <= 1.3); "
            f"respond-async {statistics.median(rates):.0f}/s (target >= 1500; wagw.client.enqueue "
            f"{statistics.median(baselines):.0f}/s); PSS api {statistics.median(api_pss):.1f} MB (target <= 45), "
            f"whole daemon {statistics.median(total_pss):.1f} MB"
        )
    finally:
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
