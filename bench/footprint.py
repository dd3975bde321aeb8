"""Benchmark: resident memory (PSS) of the whole daemon on the fake backend, per process.

    .venv/bin/python bench/footprint.py [--accounts 1,2,4] [--runs 5] [--settle 3] [--native-runs 5]
                                        [--fork-server | --compare REF]
    .venv/bin/python bench/footprint.py --neonize [--runs 5] [--neonize-watch 30] [--fork-server | --compare REF]

For each accounts count N, --runs times: start `wagw run` (WAGW_BACKEND=fake, embedded Redis,
its own temporary data dir, default settings otherwise: 2 webhook workers, 1 wa-worker slot per
account), wait until every child is running and every wa-worker has its native host, let it
idle --settle seconds, then read the Pss line of /proc/<pid>/smaps_rollup for every process of
the supervisor's tree (named as chaos.procs names them: a forked child's title, else
WAGW_PROCESS_NAME, "<worker>/host" for a native host). PSS charges each shared page to its
sharers in equal parts, so the column adds up to what the daemon costs the machine. Prints the
median per process name and of the totals.

N=1 runs today's layout (WAGW_ACCOUNTS unset). N>1 sets WAGW_ACCOUNTS=a1,…,aN; a wagw that does
not start one session per account for it does not support accounts yet, and N>1 is reported as
not measured.

The native host with neonize: a wa-worker's host under WAGW_BACKEND=neonize cannot connect here
(no paired device, no network), and an unpaired host exits at once. So a child does what the
host does up to the connection: imports workers.wa.host, builds Settings (backend neonize) and
its logging, makes NeonizeBackend for worker-1 with an empty device store, and calls
loads neonize through wagw.whatsapp.native.load() (the Go runtime starts) and makes a NewClient
on that store as `wagw pair` does; then it reads its own smaps_rollup. Alone on the machine, its shared library
pages are all its own, so its PSS is an upper bound for a host inside the daemon.

--neonize measures one real account instead: `wagw run` with WAGW_BACKEND=neonize, offline, on
synthetic paired device stores for the session and worker-1 (chaos.devices), so the session and
the native host each load neonize, make their client, fail at the network and back off. The
daemon runs in a private namespace where WhatsApp accepts and never answers
(bench/stalled_whatsapp.py), so each holds neonize for whatsmeow's 10 s TLS handshake timeout
(where no namespace can be made, WhatsApp's names fail at DNS: ~0.1 s a try). Either way too
short to settle and read, so each run is read for --neonize-watch
seconds, every 30 ms: the name of every process of the tree and, for the session and the host,
whether neonize's Go library is in /proc/<pid>/maps. A snapshot counts when both have it mapped
and every child of the supervisor's status is there (the history store's migration over); then
every process's smaps_rollup is read, and the run's figure is its counted snapshot with the
largest total. A run with no counted snapshot is reported as no figure; none at all in any run
stops the bench (exit 1). Medians over the runs that measured, as above.

--compare REF measures REF's code too (extracted with git archive), runs alternating with this
checkout's. --fork-server measures this checkout twice, runs alternating: its children started
cold (WAGW_FORK_SERVER=false) and forked by the fork server (the default). --smoke runs every
part once, as small as it goes (cold and forked, 1 and 2 accounts, jobs, the native host), to
show the bench still runs: its figures are not measurements. A part that cannot be measured (a
daemon or a child exiting or restarting, a job failing, jobs slower than the floor rate) stops
the bench at once, named on stderr, exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench.harness import CannotMeasure  # noqa: E402
from chaos.daemon import Daemon  # noqa: E402
from chaos.devices import SESSION_JID, WORKER_JID, StoreError, make_paired_store  # noqa: E402
from chaos.procs import descendants, parent_map, process_name  # noqa: E402

MB = 1024.0  # smaps_rollup counts KiB
# fetch_avatar jobs a second below which putting the wa-worker to work is broken: it does 200-400.
FLOOR_RATE = 5.0
SMOKE = {
    "fork_server": True,
    "accounts": "1,2",
    "runs": 1,
    "settle": 0.0,
    "jobs": 2,
    "native_runs": 1,
    "native_settle": 0.0,
}
# --fork-server: this checkout with its children started cold, then forked (the default).
FORK_SERVER_MODES = (("cold (WAGW_FORK_SERVER=false)", "false"), ("fork server (default)", "true"))


def rollup(pid: int) -> dict[str, int] | None:
    """The KiB figures of /proc/<pid>/smaps_rollup, or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    figures = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0].endswith(":") and parts[2] == "kB":
            figures[parts[0][:-1]] = int(parts[1])
    return figures


ALICE = "15551234567@s.whatsapp.net"


def run_jobs(redis_url: str, count: int, grace: float, check) -> None:
    """Put the wa-worker and its host to work: `count` fetch_avatar jobs, done one by one as
    an app would enqueue them, before memory is read (pages touched by work are no longer
    shared after a fork). `check` raises CannotMeasure when a process the jobs need is gone."""
    if count <= 0:
        return
    from redis import Redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    conn = Redis.from_url(redis_url)
    queue = Queue("wa", connection=conn, serializer=JSONSerializer)
    jobs = [queue.enqueue("workers.wa.fetch_avatar", jid=ALICE) for _ in range(count)]

    def done() -> int:
        statuses = [job.get_status(refresh=True) for job in jobs]
        if "failed" in statuses:
            result = jobs[statuses.index("failed")].latest_result()
            raise CannotMeasure(f"a fetch_avatar job failed: {result.exc_string if result else 'no result recorded'}")
        return statuses.count("finished")

    try:
        harness.wait_count(done, count, FLOOR_RATE, grace, "fetch_avatar jobs done", check)
    finally:
        conn.close()


def tree(daemon: Daemon) -> dict[int, str]:
    """pid -> name for the supervisor and every process under it."""
    assert daemon.pid is not None
    parents = parent_map()
    named = {daemon.pid: "supervisor"}
    for pid in descendants(daemon.pid, parents):
        name = process_name(pid)
        if name is None or name == named.get(parents.get(pid, -1)):
            continue  # a helper caught between fork() and exec()
        named[pid] = name
    return named


def running(daemon: Daemon) -> dict | None:
    """The supervisor's snapshot once every child runs; CannotMeasure as soon as the daemon
    has exited or a child has exited (restarted or given up on): figures of a daemon that does
    not run cleanly are not its footprint."""
    daemon.check_alive()
    snap = daemon.snapshot()
    if snap is None:
        return None
    for proc in snap["processes"]:
        if proc.get("restarts") or proc["state"] == "fatal":
            raise CannotMeasure(
                f"{proc['name']} of wagw run exited ({proc.get('last_exit_reason') or proc['state']})"
                f"{harness.tail(daemon.log_path)}"
            )
    return snap if all(proc["state"] == "running" for proc in snap["processes"]) else None


def measure_daemon(
    root: Path,
    accounts: int,
    settle: float,
    jobs: int,
    grace: float,
    api: bool = False,
    extra_env: dict[str, str] | None = None,
) -> dict[str, dict[str, int]] | None:
    """name -> smaps_rollup figures of one daemon's processes, running the code in `root`; None
    when WAGW_ACCOUNTS is not supported for accounts > 1."""
    # PYTHONPATH: the processes run root's code, whichever checkout the venv was installed from.
    env = {"WAGW_BACKEND": "fake", "PYTHONPATH": str(root), **(extra_env or {})}
    if accounts > 1:
        env["WAGW_ACCOUNTS"] = ",".join(f"a{n}" for n in range(1, accounts + 1))
    if api:  # the optional HTTP API child, on a port of its own
        env["WAGW_API_ADDR"] = f"127.0.0.1:{free_port()}"
    data_dir = Path(tempfile.mkdtemp(prefix="wagw-bench-fp-", dir="/tmp"))
    daemon = Daemon(data_dir, env)
    try:
        # Every child (one of them the embedded Redis) starts in parallel: one grace each for
        # Redis and for the rest.
        daemon.start(wait=False)
        snap = harness.wait(lambda: running(daemon), 2 * grace, "every child of wagw run to be running")
        names = [p["name"] for p in snap["processes"]]
        if sum("session" in name for name in names) < accounts:  # one session per account
            return None
        workers = [n for n in names if "wa-worker" in n]

        def hosts_up():
            found = [n for n in tree(daemon).values() if n.endswith("/host")]
            return len(found) >= len(workers) and found

        harness.wait(hosts_up, grace, "a native host under every wa-worker", lambda: running(daemon))
        # The history writer's migration runs once at its start, in a process of its own (not
        # what the daemon keeps): read after it has ended.
        harness.wait(
            lambda: not any(n.endswith("/migrate") for n in tree(daemon).values()),
            grace,
            "the history store's migration to end",
            lambda: running(daemon),
        )
        run_jobs(daemon.redis_url, jobs, grace, lambda: running(daemon))
        time.sleep(settle)
        running(daemon)  # nothing restarted while it settled
        figures: dict[str, dict[str, int]] = {}
        for pid, name in tree(daemon).items():
            got = rollup(pid)
            if got is not None:
                figures[name if name not in figures else f"{name} ({pid})"] = got
        return figures
    finally:
        # Measured: how it stops is not this bench's business, and SIGKILL takes no time.
        daemon.kill_tree()
        shutil.rmtree(data_dir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


NATIVE_CHILD = r"""
import json, os, sys, time
import workers.wa.host  # the host's own imports, as `python -m workers.wa.host` has them
from wagw.config import Settings
from wagw.logs import configure_logging
from wagw.names import host_name, worker_role
from wagw.whatsapp import make_backend, native

settings = Settings(_env_file=None, backend="neonize", data_dir=sys.argv[1])
configure_logging(settings, host_name(1), wire=True)
backend = make_backend(settings, worker_role(1))
assert backend.device_jid() is None  # empty store: an unpaired host stops here, so go on
neonize = native.load()  # as the host's backend loads it: Go runtime up
client = neonize.client.NewClient(backend.store, uuid="wagw-worker-1")  # as `wagw pair` makes it
time.sleep(float(sys.argv[2]))
figures = {"Threads": len(os.listdir("/proc/self/task"))}
for line in open("/proc/self/smaps_rollup"):
    parts = line.split()
    if len(parts) == 3 and parts[2] == "kB":
        figures[parts[0].rstrip(":")] = int(parts[1])
print(json.dumps(figures))
"""


def measure_native_host(root: Path, pause: float, grace: float) -> dict[str, int]:
    """The native host's figures, `pause` seconds after neonize loaded."""
    data_dir = Path(tempfile.mkdtemp(prefix="wagw-bench-fpn-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGW_")}
    env["PYTHONPATH"] = str(root)
    try:
        out = subprocess.run(
            [sys.executable, "-c", NATIVE_CHILD, str(data_dir), str(pause)],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=grace + pause,
        )
    except subprocess.TimeoutExpired:
        raise CannotMeasure(f"the native host with neonize: not measured within {grace + pause:.0f} s") from None
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    if out.returncode != 0:
        last = "".join(f"\n    {line}" for line in out.stderr.splitlines()[-20:])
        raise CannotMeasure(f"the native host with neonize exited with {out.returncode}{last}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --neonize ---------------------------------------------------------------------------------
NEONIZE_WATCH = 30.0  # seconds: at the supervisor's backoff (0, 0.25, 0.5, 1, 2 s, ...), some 8 tries each
SAMPLE_EVERY = 0.03
# The two processes that load neonize for one account, as chaos.procs names them.
NEONIZE_LOADERS = ("session", "wa-worker-1/host")
GO_LIBRARY = re.compile(r"/neonize-[^/\s]*\.so$", re.MULTILINE)  # neonize-linux-amd64.so


def go_loaded(pid: int) -> bool:
    """Whether the process has neonize's Go library mapped."""
    try:
        with open(f"/proc/{pid}/maps") as handle:
            return GO_LIBRARY.search(handle.read()) is not None
    except OSError:
        return False


@dataclass
class NeonizeRun:
    figures: dict[str, dict[str, int]] | None = None  # the counted snapshot with the largest total
    counted: int = 0  # snapshots that counted
    loaded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(NEONIZE_LOADERS, 0))  # snapshots with neonize
    snapshots: int = 0

    def seen(self) -> str:
        loaded = ", ".join(f"{name} in {count}" for name, count in self.loaded.items())
        return f"of {self.snapshots}; neonize loaded in the {loaded}"


STALLED_WHATSAPP = ROOT / "bench" / "stalled_whatsapp.py"


def can_stall() -> bool:
    """Whether this machine can make the namespace where WhatsApp never answers
    (bench/stalled_whatsapp.py): without it WhatsApp's names fail at DNS, and each process
    holds neonize ~0.1 s a try instead of whatsmeow's 10 s TLS handshake timeout."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        return False
    with tempfile.TemporaryDirectory(prefix="wagw-bench-probe-") as probe:
        return subprocess.run([*stalled_whatsapp(Path(probe)), "true"], capture_output=True, timeout=30).returncode == 0


def stalled_whatsapp(data_dir: Path) -> list[str]:
    """The daemon's wrapper: that namespace, with its hosts file in data_dir."""
    return ["unshare", "-rmn", sys.executable, str(STALLED_WHATSAPP), str(data_dir / "hosts"), "--"]


def measure_neonize_account(
    root: Path, watch: float, grace: float, extra_env: dict[str, str], stall: bool = True
) -> NeonizeRun:
    """One real account of `wagw run` running root's code, offline: synthetic paired stores for
    the session and worker-1 (chaos.devices), so both load neonize, make their client, fail at
    the network and back off. For `watch` seconds, every SAMPLE_EVERY: the tree by name; a
    snapshot counts when every child of the supervisor's status is in it (the history store's
    migration over), and the session and the host each have the Go library mapped; then the
    smaps_rollup of every process, and the largest total is kept."""
    env = {"WAGW_BACKEND": "neonize", "PYTHONPATH": str(root), **extra_env}
    data_dir = Path(tempfile.mkdtemp(prefix="wagw-bench-fpneo-", dir="/tmp"))
    # The stores are whatsmeow's schema, made by the installed neonize through this checkout.
    store_env = {k: v for k, v in os.environ.items() if not k.startswith("WAGW_")}
    store_env["PYTHONPATH"] = str(ROOT)
    devices = data_dir.resolve() / "devices"
    daemon = Daemon(data_dir, env, wrapper=stalled_whatsapp(data_dir) if stall else None)
    run = NeonizeRun()
    go: set[int] = set()  # pids seen with the Go library mapped (it is never unmapped)
    try:
        try:
            make_paired_store(devices / "session.sqlite3", SESSION_JID, store_env)
            make_paired_store(devices / "worker-1.sqlite3", WORKER_JID, store_env)
        except StoreError as error:
            raise CannotMeasure(str(error)) from None
        daemon.start(wait=False)

        def children() -> set[str]:
            daemon.check_alive()
            snap = daemon.snapshot()
            return {proc["name"] for proc in snap["processes"]} if snap else set()

        expected = harness.wait(children, 2 * grace, "the supervisor's first status snapshot")
        end = time.monotonic() + watch
        next_status = time.monotonic() + 1.0  # the supervisor publishes its status once a second
        while time.monotonic() < end:
            if time.monotonic() >= next_status:
                expected, next_status = children() or expected, time.monotonic() + 1.0
            named = tree(daemon)
            run.snapshots += 1
            for pid, name in named.items():
                if name in NEONIZE_LOADERS and (pid in go or go_loaded(pid)):
                    go.add(pid)
            loaded = {name for pid, name in named.items() if pid in go}
            for name in loaded:
                run.loaded[name] += 1
            present = set(named.values())
            if (
                loaded >= set(NEONIZE_LOADERS)
                and present >= expected
                and not any(name.endswith("/migrate") for name in present)
            ):
                figures: dict[str, dict[str, int]] = {}
                for pid, name in named.items():
                    got = rollup(pid)
                    if got is not None:
                        figures[name if name not in figures else f"{name} ({pid})"] = got
                run.counted += 1
                if run.figures is None or total_pss(figures) > total_pss(run.figures):
                    run.figures = figures
            time.sleep(SAMPLE_EVERY)
        return run
    finally:
        daemon.kill_tree()
        shutil.rmtree(data_dir, ignore_errors=True)


def total_pss(figures: dict[str, dict[str, int]]) -> int:
    return sum(f["Pss"] for f in figures.values())


def measure_neonize(args: argparse.Namespace, labels: list[Label]) -> None:
    """--neonize: each label's one real account, runs alternating; medians of the runs that
    measured, and each label beside the first. CannotMeasure when no run measured at all."""
    runs: dict[str, list[dict[str, dict[str, int]]]] = defaultdict(list)
    stall = can_stall()
    print(
        f"one neonize account, offline: {args.runs} run(s) per label, each read for {args.neonize_watch:g} s "
        f"every {SAMPLE_EVERY * 1000:.0f} ms; WhatsApp "
        + ("stalled (a private namespace, bench/stalled_whatsapp.py)" if stall else "unreachable (fails at DNS)")
    )
    for number in range(1, args.runs + 1):
        for label, root, extra_env in labels:
            got = measure_neonize_account(root, args.neonize_watch, args.grace, extra_env, stall)
            if got.figures is None:
                print(
                    f"run {number}, {label}: no figure: no snapshot counted within {args.neonize_watch:g} s "
                    f"({got.seen()}; never both with every other child up)",
                    flush=True,
                )
                continue
            runs[label].append(got.figures)
            print(
                f"run {number}, {label}: {mb(total_pss(got.figures))} MB, the largest of {got.counted} counted "
                f"snapshots ({got.seen()})",
                flush=True,
            )
    if not runs:
        raise CannotMeasure(
            f"--neonize: no run measured (in none of {args.runs * len(labels)} did the session and "
            f"{NEONIZE_LOADERS[1]} both have neonize loaded with every other child up)"
        )
    for label, _root, _env in labels:
        if label not in runs:
            print(f"\n{label}: not measured (no run had a counted snapshot)")
            continue
        title = f"{label}, one neonize account" if len(labels) > 1 else "one neonize account"
        report(f"{title}, {len(runs[label])} of {args.runs} runs measured", runs[label])
    ref = labels[0][0]
    for this, _root, _env in labels[1:]:
        if ref in runs and this in runs:
            before_after(f"one neonize account, before ({ref}) and after ({this})", runs[ref], runs[this])


def mb(kib: float) -> str:
    return f"{kib / MB:.1f}"


def medians(runs: list[dict[str, dict[str, int]]]) -> dict[str, float]:
    """name -> median PSS in MB, and "total" -> the median of the runs' totals."""
    names = {name for run in runs for name in run}
    got = {name: statistics.median(run[name]["Pss"] for run in runs if name in run) / MB for name in names}
    got["total"] = statistics.median(sum(f["Pss"] for f in run.values()) for run in runs) / MB
    return got


def report(title: str, runs: list[dict[str, dict[str, int]]]) -> float:
    """Print the medians of `runs`; return the median total PSS in MB."""
    names = sorted({name for run in runs for name in run}, key=lambda n: (n != "supervisor", n))
    print(f"\n## {title}: PSS per process, MB (median of {len(runs)} runs)\n")
    print("| process | PSS | of which anonymous | USS (private) | runs |")
    print("|---|---|---|---|---|")
    for name in names:
        pss = [run[name]["Pss"] for run in runs if name in run]
        anon = [run[name].get("Pss_Anon", 0) for run in runs if name in run]
        uss = [run[name]["Private_Clean"] + run[name]["Private_Dirty"] for run in runs if name in run]
        print(
            f"| {name} | {mb(statistics.median(pss))} | {mb(statistics.median(anon))} "
            f"| {mb(statistics.median(uss))} | {len(pss)} |"
        )
    totals = [sum(f["Pss"] for f in run.values()) for run in runs]
    total = statistics.median(totals) / MB
    spread = ", ".join(mb(t) for t in totals)
    print(f"| **total** | **{total:.1f}** | | | runs: {spread} |")
    return total


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


Figures = dict[str, dict[str, int]]  # process name -> its smaps_rollup figures, KiB


def before_after(title: str, before_runs: list[Figures], after_runs: list[Figures]) -> None:
    """The medians of two labels side by side, with their ratio."""
    before, after = medians(before_runs), medians(after_runs)
    print(f"\n## {title}, PSS MB, medians\n")
    print("| process | before | after | after / before |")
    print("|---|---|---|---|")
    for name in sorted(before.keys() | after.keys(), key=lambda n: (n == "total", n != "supervisor", n)):
        was, now = before.get(name), after.get(name)
        ratio = f"{now / was:.2f}" if was and now is not None else "-"
        print(f"| {name} | {_shown(was)} | {_shown(now)} | {ratio} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", default="1", help="comma-separated accounts counts (default 1)")
    parser.add_argument("--runs", type=int, default=5, help="daemons started per accounts count")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of idle before reading")
    parser.add_argument("--native-runs", type=int, default=5, help="native host measurements (0: skip)")
    parser.add_argument(
        "--native-settle", type=float, default=2.0, help="seconds the native host idles after neonize loaded"
    )
    parser.add_argument("--jobs", type=int, default=0, help="fetch_avatar jobs run before reading (default 0)")
    parser.add_argument("--api", action="store_true", help="start the daemon with WAGW_API_ADDR set (the api child)")
    parser.add_argument(
        "--fork-server",
        action="store_true",
        help="measure this checkout with WAGW_FORK_SERVER=false and =true, runs alternating",
    )
    parser.add_argument(
        "--compare",
        metavar="REF",
        help="also measure git REF's code, runs alternating with this checkout's",
    )
    parser.add_argument(
        "--neonize",
        action="store_true",
        help="measure one real (neonize) account offline instead, while its session and host have neonize loaded",
    )
    parser.add_argument(
        "--neonize-watch",
        type=float,
        default=NEONIZE_WATCH,
        help=f"seconds each --neonize run is read for, from the supervisor's first status (default {NEONIZE_WATCH:g})",
    )
    args = harness.parse(parser, SMOKE)
    counts = sorted({int(n) for n in args.accounts.split(",")})

    print(f"load average at start: {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    if args.smoke:
        print("smoke run: every part once, small; the figures are not measurements")
    with tempfile.TemporaryDirectory(prefix="wagw-bench-ref-") as ref_dir:
        labels: list[Label] = [("this checkout", ROOT, {})]
        if args.fork_server:
            labels = [(label, ROOT, {"WAGW_FORK_SERVER": value}) for label, value in FORK_SERVER_MODES]
        if args.compare:
            labels.insert(0, (args.compare, harness.extract(ROOT, args.compare, Path(ref_dir)), {}))
        if args.neonize:
            measure_neonize(args, labels)
        else:
            measure(args, counts, labels)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


Label = tuple[str, Path, dict[str, str]]  # what is measured: its name, its code, its settings


def measure(args: argparse.Namespace, counts: list[int], labels: list[Label]) -> None:
    """Each label's code and settings (REF's, then this checkout's; cold, then forked), runs
    alternating, for each accounts count; medians, and each label beside the first when there
    are several. A count a label does not support is left out."""
    compared = len(labels) > 1
    runs: dict[tuple[str, int], list[dict[str, dict[str, int]]]] = defaultdict(list)
    natives: dict[str, list[dict[str, int]]] = defaultdict(list)
    unsupported: set[tuple[str, int]] = set()
    for _ in range(args.runs):
        for accounts in counts:
            for label, root, extra_env in labels:
                if (label, accounts) in unsupported:
                    continue
                got = measure_daemon(root, accounts, args.settle, args.jobs, args.grace, args.api, extra_env)
                if got is None:
                    unsupported.add((label, accounts))
                else:
                    runs[label, accounts].append(got)
    roots = {root: "this checkout" if root == ROOT else label for label, root, _env in labels}  # one host per code
    for _ in range(args.native_runs):
        for root, label in roots.items():
            natives[label].append(measure_native_host(root, args.native_settle, args.grace))

    totals: dict[tuple[str, int], float] = {}
    for (label, accounts), got in sorted(runs.items(), key=lambda item: (item[0][1], item[0][0] != labels[0][0])):
        totals[label, accounts] = report(
            f"{label}, {accounts} account(s)" if compared else f"{accounts} account(s)", got
        )
    for label, accounts in sorted(unsupported):
        print(f"\n{label}: {accounts} accounts not measured (this wagw does not support WAGW_ACCOUNTS)")
    ref = labels[0][0]
    for this, _root, _env in labels[1:]:
        for accounts in counts:
            if (ref, accounts) not in runs or (this, accounts) not in runs:
                continue
            title = f"{accounts} account(s), before ({ref}) and after ({this})"
            before_after(title, runs[ref, accounts], runs[this, accounts])
    print()
    for (label, accounts), total in sorted(totals.items()):
        if accounts > 1 and (label, 1) in totals:
            shown = f", {label}" if compared else ""
            print(f"per extra account{shown} ({accounts} vs 1): {(total - totals[label, 1]) / (accounts - 1):.1f} MB")

    for label, got in natives.items():
        pss, anon, rss = (statistics.median(n[key] for n in got) for key in ("Pss", "Pss_Anon", "Rss"))
        shown = f", {label}" if compared else ""
        print(
            f"\nnative host with neonize loaded, alone{shown} (median of {len(got)}): "
            f"PSS {mb(pss)} MB, of which anonymous {mb(anon)} MB; RSS {mb(rss)} MB"
        )


if __name__ == "__main__":
    raise SystemExit(harness.run(main))
