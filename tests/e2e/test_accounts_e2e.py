"""Several accounts under `wagw run` (fake backend), end to end (issue 15, SPEC "Accounts"):

- isolation: one account's session crash-looping on real Go panics (and its wa jobs crashing
  hosts into a quarantine of its own), another's device logged out with a backlog of events
  waiting for it, while the third account's events all arrive exactly once and its jobs all
  succeed, with unchanged pids; the logged-out account, paired again, gets its backlog;
- the upgrade path: a single-account data dir, as today's code and as the previous release
  leave it, keeps its roles, JID, queue `wa`, device stores, queued deliveries and process
  names under the new code, with WAGW_ACCOUNTS unset and with a second account;
- past one machine: two `wagw run --accounts` daemons on one Redis (as two hosts), each doing
  its own accounts' jobs and events (per-account endpoint and secret, a hyphenated name),
  scheduled jobs run once, an extra wa-worker for one account alone, one daemon down while the
  other carries on; `wagw.client` with `account=`.

Jobs are enqueued as other apps do (plain rq, JSON serializer, by function path).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.job import Job
from rq.serializers import JSONSerializer

from chaos.daemon import Daemon
from chaos.polling import wait_for
from chaos.receiver import Receiver
from tests.conftest import E2E_ENV, short_tempdir
from tests.e2e.conftest import start_side_by_side
from wagw import accounts as wagw_accounts
from wagw import client, devices
from wagw.config import Settings
from wagw.supervisor.embedded_redis import start_standalone
from wagw.whatsapp.fake import fake_phone

pytestmark = pytest.mark.e2e
SECRET = "e2e-accounts-secret-of-16-bytes"
SECRET_HD = "help-desk-own-secret-of-16-bytes"
ALICE = "15551234567@s.whatsapp.net"
GAMMA_BACKLOG = 1100  # more than the fake sorts onto the accounts' lists at once (wagw.whatsapp.fake)
FAST_RETRIES = {"WAGW_WEBHOOK_RETRY_SCHEDULE": "1,1,1,2,2,2,4,4"}


@dataclass
class Delivery:
    account_header: str | None
    body: dict


class AccountReceiver(Receiver):
    """The chaos receiver, also keeping each 2xx delivery's account header and parsed body."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.deliveries: list[Delivery] = []

    def _answer(self, endpoint, body, headers, accepted, peer):
        status, extra = super()._answer(endpoint, body, headers, accepted, peer)
        if 200 <= status < 300:
            with self._lock:
                self.deliveries.append(Delivery(headers.get("X-Wagw-Account"), json.loads(body)))
        return status, extra

    def of_payloads(self, ids: set[str]) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.body.get("payload", {}).get("id") in ids]


@pytest.fixture
def receiver():
    rec = AccountReceiver(SECRET, ["hook"]).start()
    yield rec
    rec.close()


def webhook_env(receiver: Receiver) -> dict[str, str]:
    return {"WAGW_WEBHOOK_URLS": receiver.url("hook"), "WAGW_WEBHOOK_SECRET": SECRET, **FAST_RETRIES}


def account_jid(account: str) -> str:
    """The account's JID as webhook bodies carry it (`device_id`: no device part)."""
    return f"{fake_phone(account)}@s.whatsapp.net"


def push_messages(conn, account: str | None, prefix: str, first: int, count: int) -> list[str]:
    """Push `count` inbound text messages for `account` (None: unnamed); their WhatsApp ids."""
    ids = []
    pipe = conn.pipeline(transaction=False)
    for n in range(first, first + count):
        message = {
            "type": "message",
            "id": f"{prefix}{n:08d}",
            "chat": ALICE,
            "sender": ALICE,
            "push_name": "Alice",
            "text": f"hello {account} {n}",
            "timestamp": 1764412200 + n,
        }
        if account is not None:
            message["account"] = account
        ids.append(message["id"])
        pipe.rpush("wagw:fake:inbound", json.dumps(message))
    pipe.execute()
    return ids


def enqueue_text(conn, queue: str, text: str) -> Job:
    return Queue(queue, connection=conn, serializer=JSONSerializer).enqueue("workers.wa.send_text", to=ALICE, text=text)


def wait_jobs(jobs: list[Job], timeout: float = 30) -> None:
    def ended():
        return all(job.get_status(refresh=True) in ("finished", "failed") for job in jobs)

    wait_for(ended, timeout, 0.1, f"{len(jobs)} job(s) to end")
    for job in jobs:
        result = job.latest_result()
        assert job.get_status() == "finished", result.exc_string if result else job.id


def sent_records(conn, op: str = "send_text") -> list[dict]:
    return [r for r in (json.loads(raw) for raw in conn.lrange("wagw:fake:sent", 0, -1)) if r["op"] == op]


def ran_by(job: Job) -> tuple[str, int]:
    """The name of the wa-worker that ran the job, and its pid (the name's last part, as
    workers.wa.worker names it: `<account>.wa-worker-<slot>.<pid>`)."""
    name = job.latest_result().worker_name
    return name, int(name.rsplit(".", 1)[1])


def assert_delivered_once(
    receiver: AccountReceiver, ids: list[str], account: str, phone: str | None = None, timeout: float = 60
) -> None:
    """Each event delivered once (2xx), signed, with the account's header, name and JID
    (`phone`: the one its device was paired to; else the fake's phone of the account)."""
    wanted = set(ids)
    wait_for(
        lambda: {d.body["payload"]["id"] for d in receiver.of_payloads(wanted)} >= wanted,
        timeout,
        0.1,
        f"{len(ids)} event(s) of {account} delivered",
    )
    deliveries = receiver.of_payloads(wanted)
    counts = Counter(d.body["payload"]["id"] for d in deliveries)
    assert max(counts.values()) == 1, f"delivered twice: {[i for i, c in counts.items() if c > 1][:5]}"
    for delivery in deliveries:
        assert delivery.account_header == account, delivery
        assert delivery.body["account"] == account, delivery.body
        assert delivery.body["device_id"] == (f"{phone}@s.whatsapp.net" if phone else account_jid(account))
    assert all(r.signature_ok for r in receiver.snapshot())


def logged_ids(conn) -> set[str]:
    """WhatsApp message ids in the event log."""
    return {json.loads(fields[b"event"])["payload"].get("id") for _, fields in conn.xrange("wagw:events")}


def wait_connected(conn, roles: list[str], timeout: float = 30) -> None:
    """Until each role's process reports its device connected (a slow start outlasts `running`)."""
    wait_for(
        lambda: all(devices.read(conn, role).get("connected") == "1" for role in roles),
        timeout,
        0.05,
        f"{', '.join(roles)} connected",
    )


def wagw_cli(daemon, *args: str) -> subprocess.CompletedProcess:
    """A `wagw` command on the daemon's host (its settings and Redis)."""
    env = {**daemon.env, "WAGW_REDIS_URL": daemon.redis_url, "COLUMNS": "200"}  # a table shows whole names
    return subprocess.run([sys.executable, "-m", "wagw", *args], env=env, capture_output=True, text=True, timeout=30)


def status_json(daemon, *args: str) -> dict:
    result = wagw_cli(daemon, "status", "--json", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


# Isolation ------------------------------------------------------------------------------------


def test_crash_loop_and_logout_of_two_accounts_leave_the_third_untouched(daemon_factory, receiver):
    # Two native crashes on two targets quarantine an operation (of that account only).
    quarantine = {"WAGW_QUARANTINE_CRASHES": "2", "WAGW_QUARANTINE_TARGETS": "2"}
    daemon = daemon_factory({"WAGW_ACCOUNTS": "alpha,beta,gamma", **quarantine, **webhook_env(receiver)}).start(
        timeout=60
    )
    conn = daemon.redis
    before = {p["name"]: p["pid"] for p in daemon.snapshot()["processes"]}
    assert {"alpha/session", "alpha/wa-worker-1", "beta/session", "gamma/session"} <= set(before), before
    wait_connected(conn, ["alpha/session", "beta/session", "gamma/session", "alpha/worker-1"])
    alpha_host = devices.read(conn, "alpha/worker-1")["host_pid"]

    # beta's wa jobs crash its native host until beta's fetch_avatar is quarantined.
    beta_queue = Queue("wa.beta", connection=conn, serializer=JSONSerializer)
    beta_crashing = [
        beta_queue.enqueue("workers.wa.fetch_avatar", jid=jid) for jid in ("crash@s.whatsapp.net", "crash@g.us")
    ]

    # gamma: the phone removes the session device (it stays removed: a restart would not help).
    conn.hset("wagw:fake:device-state", "gamma/session", "logged_out")
    conn.rpush("wagw:fake:inbound", json.dumps({"type": "disconnect", "reason": "logged_out", "account": "gamma"}))
    # Its events pile up meanwhile, ahead of everybody else's.
    gamma_events = push_messages(conn, "gamma", "3EBC", 0, GAMMA_BACKLOG)
    # beta: every incarnation of its session dies of a real Go panic at once.
    crashes = 6
    for _ in range(crashes):
        conn.rpush("wagw:fake:inbound", json.dumps({"type": "crash", "account": "beta"}))

    # alpha: events and jobs, in rounds while the others fail.
    events: list[str] = []
    jobs: list[Job] = []
    beta_restarts: list[int] = []
    deadline = time.monotonic() + 45
    rounds = 0
    while rounds < 12 or (daemon.process("beta/session").get("restarts", 0) < 4 and time.monotonic() < deadline):
        events += push_messages(conn, "alpha", "3EBA", len(events), 20)
        jobs.append(enqueue_text(conn, "wa.alpha", f"alpha job {rounds}"))
        beta_restarts.append(daemon.process("beta/session").get("restarts", 0))
        for name in ("alpha/session", "alpha/wa-worker-1"):  # throughout, not only at the end
            assert daemon.child_pid(name) == before[name], f"{name} lost its pid in round {rounds}"
        rounds += 1
        time.sleep(0.5)  # rate pacing: a round of traffic every half second while beta restarts
    assert_delivered_once(receiver, events, "alpha")
    wait_jobs(jobs)
    for job in jobs:
        assert ran_by(job) == (f"alpha.wa-worker-1.{before['alpha/wa-worker-1']}", before["alpha/wa-worker-1"])
    sent = sent_records(conn)
    assert Counter(r["args"]["text"] for r in sent) == Counter(f"alpha job {n}" for n in range(rounds))
    assert {(r["account"], r["role"], r["slot"]) for r in sent} == {("alpha", "alpha/worker-1", 1)}

    # beta's fetch_avatar is quarantined after its hosts' crashes; alpha's is not.
    wait_for(lambda: all(job.get_status(refresh=True) == "failed" for job in beta_crashing), 30, 0.1, "beta's crashes")
    assert all("panic:" in job.latest_result().exc_string for job in beta_crashing)
    fenced = beta_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
    alpha_avatar = Queue("wa.alpha", connection=conn, serializer=JSONSerializer).enqueue(
        "workers.wa.fetch_avatar", jid=ALICE
    )
    wait_for(lambda: fenced.get_status(refresh=True) == "failed", 30, 0.1, "beta's fetch_avatar fenced")
    assert "quarantined" in fenced.latest_result().exc_string
    wait_jobs([alpha_avatar])
    assert alpha_avatar.return_value()["jid"] == ALICE
    assert devices.read(conn, "alpha/worker-1")["host_pid"] == alpha_host  # never crashed

    # beta's session crash-looped on Go panics, slower and slower; alpha never noticed.
    beta = daemon.process("beta/session")
    assert beta["restarts"] >= 4 and beta["last_exit"] == -6, beta  # SIGABRT: a Go panic
    assert beta_restarts == sorted(beta_restarts) and beta_restarts[-1] > beta_restarts[0]
    backoff = r"beta/session: \S+ -> backoff.*?restarting in ([\d.]+)s"
    delays = [float(d) for d in re.findall(backoff, daemon.log_text())]
    # Backing off more each time (0, 0.25, 0.5, 1 s …; a run of 10 s would start it over).
    assert len(delays) >= 4 and delays[0] == 0 and max(delays) >= 0.5, delays
    assert daemon.log_text().count("panic:") >= 4

    # gamma: logged out, given up on (fatal, not restarted), its events untouched.
    gamma = daemon.process("gamma/session")
    assert (gamma["state"], gamma["last_exit"], gamma["restarts"]) == ("fatal", 81, 0), gamma
    assert "device 'gamma/session' was logged out" in daemon.log_text()
    assert not logged_ids(conn) & set(gamma_events) and not receiver.of_payloads(set(gamma_events))
    assert conn.llen("wagw:fake:rejected") == 0

    after = {p["name"]: p for p in daemon.snapshot()["processes"]}
    for name in ("alpha/session", "alpha/wa-worker-1", "webhook-worker-1", "scheduler", "redis", "gamma/wa-worker-1"):
        assert after[name]["pid"] == before[name] and after[name]["restarts"] == 0, (name, after[name])
    assert after["gamma/session"]["restarts"] == 0  # still not retried

    report = status_json(daemon)
    assert report["accounts"] == ["alpha", "beta", "gamma"]
    shown = {d["role"]: d for d in report["devices"]}
    assert shown["gamma/session"]["state"] == "logged_out" and shown["gamma/session"]["account"] == "gamma"
    assert shown["alpha/session"]["connected"] and shown["alpha/session"]["account"] == "alpha"
    accounts_of = {p["name"]: p["account"] for p in report["processes"]}
    assert accounts_of["alpha/wa-worker-1"] == "alpha" and accounts_of["scheduler"] is None
    assert report["queues"]["wa.alpha"]["failed"] == 0
    # One account's view: its own processes, crashes and fences, not the others'.
    alpha_view = status_json(daemon, "--account", "alpha")
    assert {p["name"] for p in alpha_view["processes"]} == {"alpha/session", "alpha/wa-worker-1"}
    assert (alpha_view["crashes"], alpha_view["quarantines"], alpha_view["poisoned_targets"]) == ([], [], [])
    beta_view = status_json(daemon, "--account", "beta")
    assert [q["operation"] for q in beta_view["quarantines"]] == ["beta/fetch_avatar"]
    assert {c["process"] for c in beta_view["crashes"]} >= {"beta/session"}
    assert all(c["process"].startswith("beta/") for c in beta_view["crashes"])

    # Paired again, gamma's session is started by the running daemon and its backlog arrives.
    pair = wagw_cli(daemon, "pair", "--account", "gamma", "--role", "session")
    assert pair.returncode == 0, pair.stdout + pair.stderr
    assert_delivered_once(receiver, gamma_events, "gamma", timeout=90)
    assert daemon.process("gamma/session")["restarts"] == 1
    assert daemon.child_pid("alpha/session") == before["alpha/session"]
    assert daemon.stop() == 0


# Past one machine: two daemons on one Redis ----------------------------------------------------


HD = "help-desk"  # a hyphen: its overrides are spelled WAGW_ACCOUNT__HELP_DESK__…


@dataclass
class TwoHosts:
    conn: Redis
    receiver: AccountReceiver  # a's and b's endpoint (the global one)
    receiver_hd: AccountReceiver  # help-desk's own endpoint, with its own secret
    ab: Daemon  # `wagw run --accounts a,b`
    hd: Daemon  # `wagw run --accounts help-desk`

    def owner(self, account: str) -> Daemon:
        return self.hd if account == HD else self.ab


@pytest.fixture(scope="module")
def two_hosts():
    """One redis-server of our own (not a daemon's embedded one) and two `wagw run`, as two
    hosts would run them: WAGW_ACCOUNTS=a,b,help-desk on both, each running its own accounts."""
    redis_dir = short_tempdir("wagw-shared-redis-")
    proc, server = start_standalone(redis_dir)
    receiver = AccountReceiver(SECRET, ["hook"]).start()
    receiver_hd = AccountReceiver(SECRET_HD, ["hook-hd"]).start()
    env = {**E2E_ENV, "WAGW_REDIS_URL": server.url, "WAGW_ACCOUNTS": f"a,b,{HD}", **webhook_env(receiver)}
    env.update(
        {
            "WAGW_ACCOUNT__HELP_DESK__WEBHOOK_URLS": receiver_hd.url("hook-hd"),
            "WAGW_ACCOUNT__HELP_DESK__WEBHOOK_SECRET": SECRET_HD,
        }
    )
    daemons = [Daemon(short_tempdir("wagw-e2e-host-"), env, run) for run in (["a", "b"], [HD])]
    conn = Redis.from_url(server.url)
    try:
        start_side_by_side(daemons)
        wait_connected(conn, ["a/session", "b/session", f"{HD}/session"])
        yield TwoHosts(conn, receiver, receiver_hd, *daemons)
        for daemon in daemons:
            assert daemon.stop() == 0
    finally:
        for daemon in daemons:
            daemon.kill_tree()
            shutil.rmtree(daemon.data_dir, ignore_errors=True)
        receiver.close()
        receiver_hd.close()
        conn.close()
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(redis_dir, ignore_errors=True)


def test_two_daemons_on_one_redis_each_do_their_own_accounts(two_hosts):
    hosts = two_hosts
    names = {id(d): {p["name"] for p in d.snapshot()["processes"]} for d in (hosts.ab, hosts.hd)}
    assert {"a/session", "a/wa-worker-1", "b/session", "b/wa-worker-1"} <= names[id(hosts.ab)]
    assert {f"{HD}/session", f"{HD}/wa-worker-1"} <= names[id(hosts.hd)]
    assert not any(name.startswith(f"{HD}/") for name in names[id(hosts.ab)])
    assert not any(name.startswith(("a/", "b/")) for name in names[id(hosts.hd)])

    # Jobs: each account's queue, and queue `wa` (the first account's, so a's host).
    jobs = []
    for queue, account in [("wa.a", "a"), ("wa.b", "b"), (f"wa.{HD}", HD), ("wa", "a")]:
        for n in range(3):
            jobs.append((account, enqueue_text(hosts.conn, queue, f"{queue} job {n}")))
    wait_jobs([job for _, job in jobs])
    for account, job in jobs:
        pid = hosts.owner(account).child_pid(f"{account}/wa-worker-1")
        assert ran_by(job) == (f"{account}.wa-worker-1.{pid}", pid), (job.origin, account)
    by_text = {r["args"]["text"]: r for r in sent_records(hosts.conn)}
    for account, job in jobs:
        record = by_text[job.kwargs["text"]]
        assert (record["account"], record["role"]) == (account, f"{account}/worker-1"), record

    # Events: each account's session takes its own; unnamed ones are the first account's.
    pushed = {account: push_messages(hosts.conn, account, f"3EB{n}", 0, 10) for n, account in enumerate(["a", "b", HD])}
    pushed["a"] += push_messages(hosts.conn, None, "3EB9", 0, 5)
    for account, ids in pushed.items():
        assert_delivered_once(hosts.receiver_hd if account == HD else hosts.receiver, ids, account)
    # help-desk's events went to its endpoint only, signed with its secret (checked by its receiver).
    assert not hosts.receiver.of_payloads(set(pushed[HD]))
    assert not hosts.receiver_hd.of_payloads(set(pushed["a"] + pushed["b"]))
    # One WhatsApp message seen by two accounts (a group both are in) is two events.
    same = {account: push_messages(hosts.conn, account, "3EBSAME", 0, 3) for account in ("a", "b")}
    assert same["a"] == same["b"]

    def both_delivered():
        seen = Counter((d.account_header, d.body["payload"]["id"]) for d in hosts.receiver.of_payloads(set(same["a"])))
        return seen if len(seen) == 6 else None

    seen = wait_for(both_delivered, 30, 0.1, "the shared messages delivered for both accounts")
    assert set(seen.values()) == {1}, seen
    event_ids = {(d.body["account"], d.body["id"]) for d in hosts.receiver.of_payloads(set(same["a"]))}
    assert len({event_id for _, event_id in event_ids}) == 6, event_ids
    for daemon in (hosts.ab, hosts.hd):
        assert all(p["restarts"] == 0 for p in daemon.snapshot()["processes"])

    # `wagw status` on either host shows both daemons' processes, each with its account.
    report = status_json(hosts.hd)
    assert {d["accounts"] and ",".join(d["accounts"]) for d in report["supervisors"]} >= {"a,b", HD}
    shown = {p["name"]: p["account"] for p in report["processes"]}
    assert shown["a/session"] == "a" and shown[f"{HD}/wa-worker-1"] == HD
    # One account's view on the host that does not run it, and its events.
    hd_view = status_json(hosts.ab, "--account", HD)
    assert {p["name"] for p in hd_view["processes"]} == {f"{HD}/session", f"{HD}/wa-worker-1"}
    table = wagw_cli(hosts.ab, "status")
    assert table.returncode == 0 and f"{HD}/session" in table.stdout and "a/wa-worker-1" in table.stdout, table
    tail = wagw_cli(hosts.ab, "events", "tail", "--account", HD, "-n", "4", "--no-follow")
    assert tail.returncode == 0, tail.stderr
    bodies = [json.loads(line) for line in tail.stdout.splitlines()]
    assert [(b["account"], b["payload"]["id"]) for b in bodies] == [(HD, i) for i in pushed[HD][-4:]]


def test_client_with_account_runs_on_that_accounts_queue_and_worker(two_hosts):
    hosts = two_hosts
    result = client.send_text("+1 555 123 4567", "client to b", account="b", connection=hosts.conn, wait=30)
    assert result["to"] == ALICE and result["id"].startswith("3EB0"), result
    record = next(r for r in sent_records(hosts.conn) if r["args"]["text"] == "client to b")
    assert (record["account"], record["role"], record["slot"]) == ("b", "b/worker-1", 1)

    for account, owner in (("b", hosts.ab), (HD, hosts.hd)):
        job = client.enqueue_send_text(ALICE, f"client job to {account}", account=account, connection=hosts.conn)
        assert job.origin == f"wa.{account}"
        client.wait_for(job, 30)
        pid = owner.child_pid(f"{account}/wa-worker-1")
        assert ran_by(job) == (f"{account}.wa-worker-1.{pid}", pid)
    with pytest.raises(ValueError, match="not an account name"):
        client.enqueue_send_text(ALICE, "x", account="B!", connection=hosts.conn)


def test_scheduled_jobs_run_once_with_two_daemons_on_one_host(two_hosts):
    """Each daemon runs RQ's scheduler; on one Redis only one of them may enqueue a due job
    (RQ's scheduler lock), even when both run on the same host."""
    hosts = two_hosts
    queue = Queue(f"wa.{HD}", connection=hosts.conn, serializer=JSONSerializer)
    start = datetime.now(UTC) + timedelta(seconds=2)
    jobs = []
    for second in range(6):
        for n in range(100):
            jobs.append(
                queue.enqueue_at(
                    start + timedelta(seconds=second), "workers.wa.send_text", to=ALICE, text=f"due {second} {n}"
                )
            )
    wait_jobs(jobs, 60)
    runs = Counter(r["args"]["text"] for r in sent_records(hosts.conn) if r["args"]["text"].startswith("due "))
    assert set(runs) == {job.kwargs["text"] for job in jobs}
    assert [text for text, count in runs.items() if count > 1] == []


def test_an_extra_wa_worker_for_one_account_on_another_host(two_hosts):
    """`wagw wa-worker --account a --slot 2` alone, as on a third host: it takes a's jobs with
    a's second device, next to the slot that a's daemon runs."""
    hosts = two_hosts
    data_dir = short_tempdir("wagw-e2e-extra-")
    env = {k: v for k, v in hosts.ab.env.items() if k != "WAGW_DATA_DIR"}
    env.update({"WAGW_DATA_DIR": str(data_dir), "WAGW_ACCOUNT__A__WA_WORKERS": "2"})
    with open(data_dir / "wa-worker.log", "w") as log:
        extra = subprocess.Popen(
            [sys.executable, "-m", "wagw", "wa-worker", "--account", "a", "--slot", "2"],
            env=env,
            cwd=data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_connected(hosts.conn, ["a/worker-2"])
        name = f"a.wa-worker-2.{extra.pid}"
        wait_for(lambda: name in {w.name for w in Worker.all(connection=hosts.conn)}, 30, 0.1, "slot 2 taking jobs")
        jobs = []
        for batch in range(4):
            jobs += [enqueue_text(hosts.conn, "wa.a", f"a, spread {batch} {n}") for n in range(10)]
            time.sleep(0.2)  # rate pacing: batches apart, so both slots are idle and take some
        wait_jobs(jobs)
        slot_1 = hosts.ab.child_pid("a/wa-worker-1")
        ran = Counter(ran_by(job) for job in jobs)
        assert set(ran) == {(f"a.wa-worker-1.{slot_1}", slot_1), (f"a.wa-worker-2.{extra.pid}", extra.pid)}, ran
        records = [r for r in sent_records(hosts.conn) if r["args"]["text"].startswith("a, spread ")]
        assert Counter(r["args"]["text"] for r in records) == Counter(job.kwargs["text"] for job in jobs)
        assert {(r["role"], r["slot"]) for r in records} == {("a/worker-1", 1), ("a/worker-2", 2)}
        extra.terminate()
        assert extra.wait(timeout=30) == 0
    finally:
        if extra.poll() is None:
            extra.kill()
            extra.wait(timeout=10)
        print((data_dir / "wa-worker.log").read_text(errors="replace")[-3000:])
        shutil.rmtree(data_dir, ignore_errors=True)


def test_one_daemon_stopped_the_other_carries_on_and_its_work_waits(two_hosts):
    """A stop of one host's daemon is nothing to the other: its processes keep their pids and
    do their work; the stopped one's jobs and events wait in Redis until it is back."""
    hosts = two_hosts
    hd_before = {p["name"]: p["pid"] for p in hosts.hd.snapshot()["processes"]}
    assert hosts.ab.stop() == 0

    hd_job = enqueue_text(hosts.conn, f"wa.{HD}", "help-desk while a,b are down")
    waiting = [enqueue_text(hosts.conn, queue, f"{queue} while a,b are down") for queue in ("wa.a", "wa")]
    hd_events = push_messages(hosts.conn, HD, "3EB7", 0, 3)
    a_events = push_messages(hosts.conn, "a", "3EB8", 0, 3)
    wait_jobs([hd_job])
    assert_delivered_once(hosts.receiver_hd, hd_events, HD)
    assert [job.get_status(refresh=True) for job in waiting] == ["queued", "queued"]
    assert not logged_ids(hosts.conn) & set(a_events)
    after = {p["name"]: p for p in hosts.hd.snapshot()["processes"]}
    assert {name: p["pid"] for name, p in after.items()} == hd_before
    assert all(p["restarts"] == 0 and p["state"] == "running" for p in after.values())

    hosts.ab.start(timeout=60)
    wait_jobs(waiting)
    pid = hosts.ab.child_pid("a/wa-worker-1")
    assert all(ran_by(job) == (f"a.wa-worker-1.{pid}", pid) for job in waiting)
    assert_delivered_once(hosts.receiver, a_events, "a")


def test_an_account_added_live_on_one_host_is_known_to_the_other(two_hosts):
    """`wagw accounts add` on one host only: the other host's sessions leave the new account's
    messages to it, and its webhook workers deliver the new account's events (main 8acadfe).
    Runs last on the two hosts: it adds an account to one of them."""
    hosts = two_hosts
    added = wagw_cli(hosts.hd, "accounts", "add", "desk-2")
    assert added.returncode == 0, added.stdout + added.stderr
    wait_for(lambda: hosts.hd.child_pid("desk-2/session"), 30, 0.1, "desk-2's session on the help-desk host")
    wait_connected(hosts.conn, ["desk-2/session"])
    events = push_messages(hosts.conn, "desk-2", "3EB5", 0, 20)
    assert_delivered_once(hosts.receiver, events, "desk-2", timeout=15)


# The upgrade path ------------------------------------------------------------------------------

# The last commit before accounts existed: its `wagw run` lays out a data dir as installations
# made before the upgrade have it.
PREVIOUS_RELEASE = "61fa91b6822d65dd84aff7bb214977847f67688b"
PAIRED_PHONE = "15557771234"  # the phone the old install's devices were linked to
OLD_SINGLE_PROCESSES = {"redis", "scheduler", "webhook-worker-1", "wa-worker-1", "session"}
# Today's single account runs the history store's writer too, and the fork server.
SINGLE_PROCESSES = OLD_SINGLE_PROCESSES | {"history", "fork-server"}


def previous_release_code(into: Path) -> Path:
    """The previous release's wagw and workers packages, extracted from git; skip without them."""
    repo = Path(__file__).resolve().parents[2]
    try:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", PREVIOUS_RELEASE, "wagw", "workers"],
            capture_output=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"the previous release {PREVIOUS_RELEASE[:10]} is not in this checkout's git history: {error}")
    into.mkdir()
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True, timeout=30)
    return into


def names_of(daemon: Daemon) -> dict[str, int]:
    return {p["name"]: p["pid"] for p in daemon.snapshot()["processes"]}


@pytest.mark.parametrize("written_by", ["single-account", "previous-release"])
def test_single_account_data_dir_keeps_roles_queue_stores_and_names(daemon_factory, receiver, written_by):
    data_dir = short_tempdir("wagw-e2e-upgrade-")
    env = {**webhook_env(receiver)}
    if written_by == "previous-release":
        env["PYTHONPATH"] = str(previous_release_code(data_dir / "previous-release"))
    # Device stores as a neonize install has them (the fake backend itself never opens them).
    stores = data_dir / "devices"
    stores.mkdir()
    for role in ("session", "worker-1"):
        (stores / f"{role}.sqlite3").write_bytes(f"device keys of {role}".encode())

    # Before: one account, as installed before accounts existed.
    old = daemon_factory(env, data_dir=data_dir).start()
    assert set(names_of(old)) == (OLD_SINGLE_PROCESSES if written_by == "previous-release" else SINGLE_PROCESSES)
    old.redis.hset("wagw:devices", mapping={"session": f"{PAIRED_PHONE}:3@s.whatsapp.net"})
    old.redis.hset("wagw:devices", mapping={"worker-1": f"{PAIRED_PHONE}:4@s.whatsapp.net"})
    before_job = enqueue_text(old.redis, "wa", "before the upgrade")
    before_events = push_messages(old.redis, None, "3EB1", 0, 3)
    wait_jobs([before_job])
    wait_for(
        lambda: {d.body["payload"]["id"] for d in receiver.of_payloads(set(before_events))} >= set(before_events),
        30,
        0.1,
        "the old install's events delivered",
    )
    assert {d.body["device_id"] for d in receiver.deliveries} == {f"{PAIRED_PHONE}@s.whatsapp.net"}
    # The previous release knew no accounts (the proof that its code ran); today's says `default`.
    expected_account = None if written_by == "previous-release" else "default"
    assert {d.body.get("account") for d in receiver.deliveries} == {expected_account}
    assert [r.get("account") for r in sent_records(old.redis)] == [expected_account]
    # Deliveries the old install could not make (its endpoint answering 503) wait for retries.
    receiver.set_mode("503")
    undelivered = push_messages(old.redis, None, "3EB6", 0, 2)
    wait_for(
        lambda: {r.payload_id for r in receiver.snapshot() if r.status == 503} >= set(undelivered),
        30,
        0.1,
        "the old install's failed attempts",
    )
    assert old.stop() == 0
    receiver.set_mode("ok")

    # While wagw is down (its embedded Redis alone): an app enqueues, WhatsApp has an event.
    redis_proc, server = start_standalone(data_dir)
    with Redis.from_url(server.url) as conn:
        left_job_id = enqueue_text(conn, "wa", "while wagw was down").id
        left_events = push_messages(conn, None, "3EB2", 0, 2)
    redis_proc.terminate()
    redis_proc.wait(timeout=10)

    # After, with WAGW_ACCOUNTS unset: the same names, roles, queue and stores.
    new_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    new = daemon_factory(new_env, data_dir=data_dir).start()
    conn = new.redis
    processes = names_of(new)
    assert set(processes) == SINGLE_PROCESSES
    left_job = Job.fetch(left_job_id, connection=conn, serializer=JSONSerializer)
    wait_jobs([left_job, after_job := enqueue_text(conn, "wa", "after the upgrade")])
    for job in (left_job, after_job):
        assert ran_by(job) == (f"wa-worker-1.{processes['wa-worker-1']}", processes["wa-worker-1"])
    assert Job.fetch(before_job.id, connection=conn, serializer=JSONSerializer).return_value()["to"] == ALICE
    # The old install's deliveries, sealed and queued by it, are made by the new code.
    wait_for(lambda: len(receiver.of_payloads(set(undelivered))) >= 2, 30, 0.1, "the old install's deliveries")
    retried = receiver.of_payloads(set(undelivered))
    assert sorted(d.body["payload"]["id"] for d in retried) == undelivered
    for delivery in retried:
        assert delivery.account_header == "default" and delivery.body.get("account") == expected_account
        assert delivery.body["device_id"] == f"{PAIRED_PHONE}@s.whatsapp.net"
    assert_delivered_once(receiver, left_events + push_messages(conn, None, "3EB3", 0, 2), "default", PAIRED_PHONE)
    report = status_json(new)
    assert report["accounts"] == ["default"]
    assert [(d["role"], d["account"], d["jid"]) for d in report["devices"]] == [
        ("session", "default", f"{PAIRED_PHONE}:3@s.whatsapp.net"),
        ("worker-1", "default", f"{PAIRED_PHONE}:4@s.whatsapp.net"),
    ]
    assert new.stop() == 0

    # After, with a second account: the first keeps its roles, stores, JID and queue `wa`.
    two = daemon_factory({**new_env, "WAGW_ACCOUNTS": "default,support"}, data_dir=data_dir).start()
    conn = two.redis
    processes = names_of(two)
    assert set(processes) == {"redis", "fork-server", "scheduler", "history", "webhook-worker-1"} | {
        f"{account}/{base}" for account in ("default", "support") for base in ("session", "wa-worker-1")
    }
    wait_connected(conn, ["session", "support/session"])
    jobs = {queue: enqueue_text(conn, queue, f"on {queue}") for queue in ("wa", "wa.default", "wa.support")}
    wait_jobs(list(jobs.values()))
    for queue, job in jobs.items():
        account = "support" if queue == "wa.support" else "default"
        pid = processes[f"{account}/wa-worker-1"]
        assert ran_by(job) == (f"{account}.wa-worker-1.{pid}", pid), queue
    by_text = {r["args"]["text"]: r for r in sent_records(conn)}
    assert by_text["on wa"]["role"] == by_text["on wa.default"]["role"] == "worker-1"
    assert by_text["on wa.support"]["role"] == "support/worker-1"
    assert_delivered_once(receiver, push_messages(conn, None, "3EB4", 0, 2), "default", PAIRED_PHONE)
    assert_delivered_once(receiver, push_messages(conn, "support", "3EB5", 0, 2), "support")
    report = status_json(two)
    assert [(d["role"], d["account"]) for d in report["devices"]] == [
        ("session", "default"),
        ("worker-1", "default"),
        ("support/session", "support"),
        ("support/worker-1", "support"),
    ]
    assert two.stop() == 0

    # The device stores were neither moved nor touched, and the default account still names them.
    assert sorted(p.name for p in stores.iterdir()) == ["session.sqlite3", "worker-1.sqlite3"]
    for role in ("session", "worker-1"):
        assert (stores / f"{role}.sqlite3").read_bytes() == f"device keys of {role}".encode()
    settings = Settings(_env_file=None, data_dir=data_dir, accounts=["default", "support"])
    default, support = wagw_accounts.configured(settings)
    assert settings.device_store(default.session_role) == str(stores.resolve() / "session.sqlite3")
    assert settings.device_store(default.worker_role(1)) == str(stores.resolve() / "worker-1.sqlite3")
    assert settings.device_store(support.session_role) == str(stores.resolve() / "support" / "session.sqlite3")
    shutil.rmtree(data_dir, ignore_errors=True)
