"""The chaos run: `python -m chaos.run [--short | --soak SECONDS] [--json-out FILE]`.

Starts `wagw run` (fake backend, embedded Redis, two webhook endpoints on a local receiver,
two wa-workers), drives a steady stream of inbound events and wa jobs through the public
interface, and meanwhile breaks things on a fixed cycle: SIGKILLs the session, webhook
workers and wa-workers, makes the session die of a real Go panic, sends jobs whose calls
panic inside neonize, takes the receiver down and makes it answer 503 and 429. At the end of
the load it stops the daemon with SIGTERM (with a backlog in flight and the receiver down),
starts it again on the same data, breaks a few more things, lets everything drain, and
reports figures and targets as a table (stdout) and JSON (--json-out). Exit 1 if a target
is missed, 2 if the run itself could not be carried out.

Every wait has a deadline; on any error the daemon's whole process tree is killed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from redis.exceptions import RedisError
from rq import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from chaos import report as reporting
from chaos.daemon import Daemon, DaemonError
from chaos.diagnose import failed_deliveries_by_endpoint, undelivered_jobs, where_jobs_are
from chaos.load import CrashCollector, InboundLoad, JobLoad, JobTracker, sends_seen
from chaos.polling import Timeout, wait_for
from chaos.procs import TreeWatcher, process_name
from chaos.receiver import Receiver
from wagw import keys
from wagw.exitcodes import ExitCode
from wagw.names import SESSION, device_roles, slot_of_role, wa_worker_name
from wagw.webhooks.endpoints import endpoint_id

ENDPOINTS = ["hook-a", "hook-b"]
# About 4 minutes of tries instead of a day: outages here last seconds, but come every few.
RETRY_SCHEDULE = "1,1,2,2,4,4,8,8,16,16,30,30,30,30,30,30"


@dataclass(frozen=True)
class Profile:
    name: str
    load_seconds: float  # before the SIGTERM + restart
    after_restart_seconds: float
    cycle: float  # seconds per round of the chaos cycle below
    inbound_rate: float  # events per second
    job_rate: float  # wa jobs per second (besides the crash lane)
    drain_timeout: float
    start_timeout: float = 60.0
    stop_timeout: float = 45.0  # SIGTERM -> exit (grace is 10 s)


# A drain must outlast the longest wait a delivery can be given without a request: an open
# webhook circuit defers it up to a minute (workers/webhooks/lanes.py, CIRCUIT_MAX).
PROFILES = {
    # At most 5 minutes: ~15 s of starts and stops, 150 + 40 s of load, a drain of usually
    # under 30 s (bounded by 80 s).
    "full": Profile(
        "full", load_seconds=150, after_restart_seconds=40, cycle=30, inbound_rate=10, job_rate=3, drain_timeout=80
    ),
    # Inside `make test`: one cycle, then the restart; about 65 s.
    "short": Profile(
        "short", load_seconds=30, after_restart_seconds=10, cycle=30, inbound_rate=8, job_rate=2, drain_timeout=80
    ),
}

# One round of the chaos cycle: (fraction of the cycle, action, argument).
CYCLE = [
    (0.03, "kill", "session"),
    (0.13, "receiver", "down"),
    (0.17, "kill", "webhook-worker"),
    (0.30, "receiver", "ok"),
    (0.33, "kill", "wa-worker"),
    (0.43, "receiver", "503"),
    (0.50, "panic", "session"),
    (0.60, "receiver", "ok"),
    (0.67, "kill", "webhook-worker"),
    (0.73, "receiver", "429"),
    (0.80, "hang", ""),
    (0.83, "kill", "session"),
    (0.90, "receiver", "ok"),
    (0.93, "kill", "wa-worker"),
]
AFTER_RESTART = [(0.3, "kill", "session"), (0.5, "kill", "webhook-worker"), (0.7, "kill", "wa-worker")]


class ChaosError(RuntimeError):
    """The run cannot go on: the daemon exited under load, gave up on a child, or the run was
    interrupted."""


# What ends a run with its message alone: the daemon failing, not a bug in this script.
ABORTS = (ChaosError, DaemonError, Timeout)


def daemon_env(receiver: Receiver, secret: str) -> dict[str, str]:
    return {
        "WAGW_BACKEND": "fake",
        "WAGW_WA_WORKERS": "2",
        "WAGW_WEBHOOK_WORKERS": "2",
        "WAGW_WEBHOOK_URLS": ",".join(receiver.urls),
        "WAGW_WEBHOOK_SECRET": secret,
        "WAGW_WEBHOOK_RETRY_SCHEDULE": RETRY_SCHEDULE,
        "WAGW_SHUTDOWN_GRACE": "10",
        # Poison targets and quarantine in seconds rather than minutes, so one run sees many
        # panics, the crash lane's target poisoned and lifted again, and (its crashes coming
        # from one target) no operation quarantined.
        "WAGW_POISON_CRASHES": "2",
        "WAGW_POISON_DURATION": "8",
        "WAGW_QUARANTINE_CRASHES": "5",
        "WAGW_QUARANTINE_TARGETS": "3",
        "WAGW_QUARANTINE_WINDOW": "30",
        "WAGW_QUARANTINE_DURATION": "8",
        "WAGW_LOG_LEVEL": "INFO",
        # Media messages are downloaded by the wa-workers and delivered with their path (or,
        # for the ones staged to crash or expire, the URL and download_error).
        "WAGW_MEDIA_AUTO_DOWNLOAD": "true",
    }


class ChaosRun:
    def __init__(self, profile: Profile, data_dir: Path, log=print) -> None:
        self.profile = profile
        self.data_dir = data_dir
        self.log = log
        self.secret = secrets.token_hex(16)
        self.receiver = Receiver(self.secret, ENDPOINTS)
        self.env = daemon_env(self.receiver, self.secret)
        self.daemon = Daemon(data_dir, self.env)
        self.watcher = TreeWatcher()
        self.inbound = InboundLoad(self.daemon.redis_url, profile.inbound_rate)
        self.jobs = JobLoad(self.daemon.redis_url, profile.job_rate)
        self.tracker = JobTracker(self.daemon.redis_url, self.jobs)
        self.crashes = CrashCollector(self.daemon.redis_url)
        self.kills: list[reporting.Kill] = []
        self.notes: list[str] = []
        self.supervisor = {"pids": [], "stop_exit_codes": [], "unexpected_exit": None}
        self.last_snapshots: dict[int, dict] = {}
        self.running_seen: dict[tuple[str, int], float] = {}  # (name, pid) -> first seen running
        self.connected_seen: dict[tuple[str, int], float] = {}  # (name, pid) -> device first connected
        self.expect_alive = False
        self.redis_stalls: list[tuple[float, float]] = []  # (when, seconds) of slow status reads
        self.failure: str | None = None
        self._monitor_stop = threading.Event()
        self._monitor = threading.Thread(target=self._monitor_loop, name="monitor", daemon=True)
        self._rotation = {"webhook-worker": 0, "wa-worker": 0}
        self.started = time.time()
        self.drained = False
        self.webhook_failed = -1  # unknown until read from Redis
        self.webhook_failed_by_endpoint: dict[str, int] = {}
        self.sends_seen: dict[str, int] = {}  # the load's send_text texts the backend got, and how often
        self.malformed_rejected: int | None = None

    # The run ----------------------------------------------------------------------------
    def execute(self) -> reporting.RunRecord:
        p = self.profile
        try:
            self.receiver.start()
            self.watcher.start()
            self._start_daemon()
            for thread in (self.inbound, self.jobs, self.tracker, self.crashes):
                thread.start()
            self._monitor.start()
            self.log(f"load for {p.load_seconds:.0f} s with the chaos cycle every {p.cycle:.0f} s")
            self._timeline(self._cycle_actions(p.load_seconds), p.load_seconds)
            self._restart()
            self._timeline(
                [(f * p.after_restart_seconds, a, arg) for f, a, arg in AFTER_RESTART], p.after_restart_seconds
            )
            self._drain()
            self._final_stop()
        except Exception as error:  # a deadline, the daemon dying, a bug here: report what we have
            self.failure = str(error) if isinstance(error, ABORTS) else f"{type(error).__name__}: {error}"
            self.notes.append(f"run aborted: {self.failure}")
            if not isinstance(error, ABORTS):
                self.notes.append(traceback.format_exc(limit=8))
            self.log(f"chaos run aborted: {self.failure}")
        finally:
            self._shutdown()
        return self._record()

    def _start_daemon(self) -> None:
        self.daemon.start(wait=False)
        self.watcher.watch(self.daemon.pid)
        self.supervisor["pids"].append(self.daemon.pid)
        self.expect_alive = True
        began = time.monotonic()
        snap = self.daemon.wait_settled(self.profile.start_timeout)
        fatal = [p["name"] for p in snap["processes"] if p["state"] == "fatal"]
        if fatal:
            raise ChaosError(f"wagw run gave up on {', '.join(fatal)}:\n{self.daemon.log_tail()}")
        self.log(f"wagw run (pid {self.daemon.pid}) settled in {time.monotonic() - began:.1f} s")

    def _cycle_actions(self, seconds: float) -> list[tuple[float, str, str]]:
        actions, start = [], 0.0
        while start < seconds:
            actions += [
                (start + f * self.profile.cycle, a, arg)
                for f, a, arg in CYCLE
                if start + f * self.profile.cycle < seconds
            ]
            start += self.profile.cycle
        return actions

    def _timeline(self, actions: list[tuple[float, str, str]], seconds: float) -> None:
        t0 = time.monotonic()
        for offset, action, arg in sorted(actions, key=lambda a: a[0]):
            self._sleep_until(t0 + offset)
            self._act(action, arg)
        self._sleep_until(t0 + seconds)

    def _sleep_until(self, when: float) -> None:
        while True:
            if self.supervisor["unexpected_exit"]:
                raise ChaosError(f"wagw run exited unexpectedly: {self.supervisor['unexpected_exit']}")
            left = when - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.1))

    # Actions ----------------------------------------------------------------------------
    def _act(self, action: str, arg: str) -> None:
        if action == "receiver":
            self.receiver.set_mode(arg)
            self.log(f"  receiver: {arg}")
        elif action == "kill":
            self._kill(self._pick(arg))
        elif action == "panic":
            self._session_panic()
        elif action == "hang":
            job = self.jobs.enqueue_hang()
            self.log(f"  enqueued a hanging job {job.id} (timeout {self.jobs.hang_timeout} s)")

    def _pick(self, family: str) -> str:
        if family == "session":
            return "session"
        count = int(self.env["WAGW_WEBHOOK_WORKERS" if family == "webhook-worker" else "WAGW_WA_WORKERS"])
        self._rotation[family] += 1
        return f"{family}-{(self._rotation[family] - 1) % count + 1}"

    def _running_pid(self, name: str) -> int | None:
        proc = self.daemon.process(name)
        pid = proc.get("pid")
        if proc.get("state") != "running" or not pid or process_name(pid) != name:
            self.notes.append(f"skipped a kill of {name}: state {proc.get('state')}")
            return None
        return pid

    def _kill(self, name: str) -> None:
        pid = self._running_pid(name)
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.kills.append(reporting.Kill(name, pid, "SIGKILL", time.time()))
        self.log(f"  SIGKILL {name} (pid {pid})")

    def _session_panic(self) -> None:
        pid = self._running_pid("session")
        if pid is None:
            return
        try:
            self.inbound.push_session_crash()
        except RedisError as error:
            self.notes.append(f"could not push a session crash: {error}")
            return
        self.kills.append(reporting.Kill("session", pid, "go panic", time.time()))
        self.log(f"  session (pid {pid}): inbound {{'type': 'crash'}} -> Go panic")

    def _restart(self) -> None:
        """SIGTERM with a backlog in flight and the receiver down; start again on the same data."""
        self.receiver.set_mode("down")
        self.inbound.burst(int(self.profile.inbound_rate * 3))
        self._sleep_until(time.monotonic() + 2)
        self.inbound.paused.set()
        self.jobs.pause()
        self.expect_alive = False
        self.log("SIGTERM wagw run (backlog in flight, receiver down)")
        began = time.monotonic()
        self.supervisor["stop_sent_at"] = time.time()
        code = self.daemon.stop(self.profile.stop_timeout)
        self.supervisor["stop_exit_codes"].append(code)
        self.supervisor["stop_seconds"] = round(time.monotonic() - began, 2)
        self.log(f"wagw run exited with {code} after {time.monotonic() - began:.1f} s; starting it again")
        self.watcher.watch(None)
        self._start_daemon()
        self.supervisor["restarted_at"] = time.time()
        self.inbound.paused.clear()
        self.jobs.resume()
        self._sleep_until(time.monotonic() + 3)
        self.receiver.set_mode("ok")
        self.log("  receiver: ok")

    def _drain(self) -> None:
        self.inbound.stop()
        self.jobs.stop()
        self.receiver.set_mode("ok")
        self.log(f"load stopped; draining (at most {self.profile.drain_timeout:.0f} s)")
        began = time.monotonic()
        try:
            wait_for(self._drained, self.profile.drain_timeout, 0.25, "every event delivered and every job ended")
            self.drained = True
            self.log(f"drained in {time.monotonic() - began:.1f} s")
        except (Timeout, DaemonError) as error:
            self.notes.append(str(error) + f"; still waiting: {self._waiting_for()}")
            self.log(f"not drained: {self._waiting_for()}")
            self._diagnose_undelivered()

    def _diagnose_undelivered(self) -> None:
        open_jobs = [j for j in self.jobs.all_jobs() if j.ended is None]
        if open_jobs:
            try:
                places = where_jobs_are(self.daemon.redis, "wa", [j.id for j in open_jobs])
            except RedisError as error:
                places = {j.id: f"cannot look: {error}" for j in open_jobs}
            for job in open_jobs[:10]:
                job.where = places[job.id]
                self.notes.append(
                    f"wa job {job.id} ({job.kind} {job.operation}, enqueued "
                    f"{time.strftime('%H:%M:%S', time.localtime(job.enqueued))}) never ended: "
                    f"status {job.status}, in {job.where}"
                )
                self.log(f"  open wa job {job.id}: {job.status}, in {job.where}")
        pushed, uncertain = self.inbound.snapshot()
        for endpoint in ENDPOINTS:
            missing = set(pushed) - uncertain - self.receiver.delivered_ids(endpoint)
            if not missing:
                continue
            try:
                found = undelivered_jobs(self.daemon.redis, missing, [endpoint_id(self.receiver.url(endpoint))])
            except RedisError as error:
                found = [f"cannot look: {error}"]
            for entry in found:
                self.notes.append(f"undelivered at {endpoint}: {json.dumps(entry, default=str)}")
                self.log(f"  undelivered at {endpoint}: {entry}")

    def _waiting_for(self) -> str:
        pushed, uncertain = self.inbound.snapshot()
        missing = {e: len(set(pushed) - uncertain - self.receiver.delivered_ids(e)) for e in ENDPOINTS}
        return f"undelivered {missing}, open jobs {self.tracker.open_count()}, queues {self._queue_backlog()}"

    def _queue_backlog(self) -> dict:
        conn = self.daemon.redis
        backlog = {}
        for name in ("webhooks", "wa"):
            queue = Queue(name, connection=conn, serializer=JSONSerializer)
            backlog[name] = (
                queue.count + StartedJobRegistry(queue=queue).count + ScheduledJobRegistry(queue=queue).count
            )
        backlog["wa-intermediate"] = conn.llen("rq:queue:wa:intermediate")
        backlog["webhooks-intermediate"] = conn.llen("rq:queue:webhooks:intermediate")
        backlog["inbound"] = conn.llen("wagw:fake:inbound") + conn.llen("wagw:fake:pending")
        return backlog

    def _drained(self) -> bool:
        self.daemon.check_alive()
        pushed, uncertain = self.inbound.snapshot()
        expected = set(pushed) - uncertain
        if any(expected - self.receiver.delivered_ids(e) for e in ENDPOINTS):
            return False
        if self.tracker.open_count():
            return False
        try:
            return not any(self._queue_backlog().values())
        except RedisError:
            return False

    def _final_stop(self) -> None:
        self.expect_alive = False
        self._collect_from_redis()
        time.sleep(1.2)  # one more status snapshot with the final restart counters
        code = self.daemon.stop(self.profile.stop_timeout)
        self.supervisor["stop_exit_codes"].append(code)
        self.log(f"wagw run stopped with {code}")

    def _collect_from_redis(self) -> None:
        """What only the daemon's Redis knows; read before the daemon (and its Redis) stops."""
        self.crashes.poll()
        try:
            registry = FailedJobRegistry("webhooks", connection=self.daemon.redis, serializer=JSONSerializer)
            self.webhook_failed = registry.count
            self.webhook_failed_by_endpoint = failed_deliveries_by_endpoint(
                self.daemon.redis, {endpoint_id(self.receiver.url(e)): e for e in ENDPOINTS}
            )
            self.malformed_rejected = self.inbound.rejected_count()
            self.sends_seen = sends_seen(self.daemon.redis)
        except RedisError as error:
            self.notes.append(f"could not read the final counts from Redis: {error}")

    def _shutdown(self) -> None:
        self._monitor_stop.set()
        for thread in (self.inbound, self.jobs, self.tracker, self.crashes):
            if thread.is_alive():
                thread.stop()
        if self._monitor.is_alive():
            self._monitor.join(timeout=5)
        if self.daemon.alive() and self.malformed_rejected is None:
            self._collect_from_redis()
        self._resolve_kills()
        self.watcher.stop()
        survivors = self.daemon.kill_tree()
        if survivors:
            self.notes.append(f"processes survived the final kill: {survivors}")
        self.receiver.close()

    # Watching ---------------------------------------------------------------------------
    def _monitor_loop(self) -> None:
        while not self._monitor_stop.is_set():
            try:
                self._monitor_once()
            except Exception as error:  # never let the monitor die silently
                self.notes.append(f"monitor: {type(error).__name__}: {error}")
            self._monitor_stop.wait(0.2)

    def _monitor_once(self) -> None:
        if self.expect_alive and not self.daemon.alive():
            code = self.daemon.proc.returncode if self.daemon.proc else None
            self.supervisor["unexpected_exit"] = f"exit {code} at {time.time():.3f}"
            self.expect_alive = False
            return
        asked = time.monotonic()
        snap = self.daemon.snapshot()
        latency = time.monotonic() - asked
        if latency > 0.25:  # Redis (or this process) stalled: everything waiting on it did too
            self.redis_stalls.append((round(time.time() - latency, 3), round(latency, 3)))
        if snap is None:
            return
        now = time.time()
        self.last_snapshots[snap["pid"]] = snap
        for proc in snap["processes"]:
            if proc["state"] == "running" and proc.get("pid"):
                self.running_seen.setdefault((proc["name"], proc["pid"]), now)
        self._watch_devices()
        self._resolve_kills()

    def _watch_devices(self) -> None:
        """When each session / wa-worker incarnation reported its device connected."""
        roles = device_roles(int(self.env["WAGW_WA_WORKERS"]))
        names = [SESSION] + [wa_worker_name(slot) for role in roles if (slot := slot_of_role(role))]
        pipe = self.daemon.redis.pipeline(transaction=False)
        for role in roles:
            pipe.hgetall(keys.DEVICE_STATUS.format(role=role))
        try:
            statuses = pipe.execute()
        except RedisError:
            return
        now = time.time()
        for name, status in zip(names, statuses, strict=False):
            pid = status.get(b"pid" if name == SESSION else b"worker_pid")
            if status.get(b"connected") == b"1" and pid and pid.isdigit():
                self.connected_seen.setdefault((name, int(pid)), now)

    def _resolve_kills(self) -> None:
        for kill in self.kills:
            if kill.died is None:
                sighting = self.watcher.sightings.get(kill.pid)
                if kill.how == "SIGKILL":
                    kill.died = kill.at
                elif sighting is not None and time.time() - sighting.last_seen > 0.5:
                    kill.died = max(kill.at, sighting.last_seen)
            if kill.died is None:
                continue
            if kill.replacement_pid is None:
                replacement = self.watcher.replacement(kill.name, kill.pid, kill.at - 0.05)
                if replacement is None:
                    continue
                kill.replacement_pid = replacement.pid
                kill.respawned = replacement.first_seen
            key = (kill.name, kill.replacement_pid)
            kill.running = kill.running or self.running_seen.get(key)
            kill.connected = kill.connected or self.connected_seen.get(key)

    # Figures ----------------------------------------------------------------------------
    def _restart_counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for snap in self.last_snapshots.values():
            for proc in snap["processes"]:
                totals[proc["name"]] = totals.get(proc["name"], 0) + int(proc.get("restarts") or 0)
        return dict(sorted(totals.items()))

    def _record(self) -> reporting.RunRecord:
        pushed, uncertain = self.inbound.snapshot()
        return reporting.RunRecord(
            mode=self.profile.name,
            started=self.started,
            ended=time.time(),
            settings={k: v for k, v in self.env.items() if k != "WAGW_WEBHOOK_SECRET"},
            endpoints=ENDPOINTS,
            pushed=pushed,
            uncertain=uncertain,
            media=self.inbound.media_snapshot(),
            redelivered=self.inbound.redelivered,
            malformed_in=len(self.inbound.malformed),
            malformed_rejected=-1 if self.malformed_rejected is None else self.malformed_rejected,
            receipts=self.receiver.dump(),
            kills=self.kills,
            jobs=[asdict(j) for j in self.jobs.all_jobs()],
            native_crashes=self.crashes.native(),
            restarts=self._restart_counts(),
            supervisor=self.supervisor,
            peak_rss_kib=dict(self.watcher.peak_rss),
            rss_samples=list(self.watcher.rss_samples),
            webhook_failed=self.webhook_failed,
            webhook_failed_by_endpoint=self.webhook_failed_by_endpoint,
            sends_total=sum(self.sends_seen.values()),
            sends_twice={text: n for text, n in self.sends_seen.items() if n > 1},
            drained=self.drained and self.failure is None,
            redis_stalls=self.redis_stalls,
            receiver_modes=self.receiver.mode_changes,
            receiver_incomplete=self.receiver.incomplete,
            notes=self.notes,
        )


def _interrupted(signum: int, _frame) -> None:
    raise ChaosError(f"interrupted by {signal.Signals(signum).name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos.run", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--short", action="store_true", help="the shortened run (about 75 s) that CI runs")
    mode.add_argument("--soak", type=float, metavar="SECONDS", help="long mode: load for SECONDS, report memory growth")
    parser.add_argument("--json-out", type=Path, metavar="FILE", help="write the report as JSON here")
    parser.add_argument(
        "--raw-out",
        type=Path,
        metavar="FILE",
        help="write everything recorded (every receipt, kill, job) here; "
        "`python -m chaos.report FILE` rebuilds the report",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data dir (daemon log, Redis files)")
    parser.add_argument("--quiet", action="store_true", help="print only the report")
    args = parser.parse_args(argv)

    profile = PROFILES["short" if args.short else "full"]
    soak_window = None
    if args.soak:
        profile = Profile(
            "soak",
            load_seconds=args.soak,
            after_restart_seconds=30,
            cycle=60,
            inbound_rate=10,
            job_rate=3,
            drain_timeout=120,
        )
        soak_window = min(120.0, max(10.0, args.soak / 10))
    data_dir = Path(tempfile.mkdtemp(prefix="wagw-chaos-", dir="/tmp"))  # short: unix socket paths
    log = (
        (lambda *_: None)
        if args.quiet
        else (lambda msg: print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True))
    )
    log(f"data dir {data_dir} (daemon log: {data_dir / 'wagw-run.log'})")
    run = ChaosRun(profile, data_dir, log)
    # SIGTERM/SIGINT to this script: clean up the daemon's tree, then report what we have.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupted)
    record = run.execute()
    if args.raw_out:
        args.raw_out.parent.mkdir(parents=True, exist_ok=True)
        args.raw_out.write_text(json.dumps(reporting.record_to_json(record), default=str) + "\n")
    result = reporting.build(record, soak_window)
    result["data_dir"] = str(data_dir) if args.keep else None
    print(reporting.render(result), flush=True)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    if not args.keep:
        if not result["ok"] or run.failure:
            kept = Path(tempfile.gettempdir()) / f"wagw-chaos-log-{os.getpid()}.log"
            shutil.copy(run.daemon.log_path, kept) if run.daemon.log_path.exists() else None
            print(f"daemon log kept at {kept}")
        shutil.rmtree(data_dir, ignore_errors=True)
    if run.failure:
        return ExitCode.ABORTED
    return ExitCode.OK if result["ok"] else ExitCode.FAILURE


if __name__ == "__main__":
    raise SystemExit(main())
