"""An account's pace with two `wagw run` on one Redis serving it (fake backend; docs/jobs.md
"Sending order and pacing", docs/deploy.md "Several hosts, one Redis").

The pace is a GCRA in Redis (`wagw:pace:<account>:all`) shared by every worker and host of the
account, so two daemons serving the same account together send at the configured rate, not
twice it. Two `wagw run` against one redis-server of our own, as two hosts would run them
(the same settings, each its own data dir; one runs every configured account, the other
`--accounts paced`, so each has its own status snapshot): sends to distinct chats, enqueued
at twice the pace while measuring, go out at WAGW_SEND_RATE (within 5 %: the slope of send
time over send number, 20 s from the second send), and both daemons' wa-workers ran some
(rq's worker names carry each worker's pid; the fake records the same role and slot for
both, as both run slot 1). With a pace of its own per worker, the two sent 227 a minute.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job

from chaos.daemon import Daemon
from chaos.polling import wait_for
from tests.conftest import E2E_ENV, short_tempdir
from tests.e2e.conftest import start_side_by_side
from wagw import accounts, devices, keys
from wagw.redisconn import SERIALIZER
from wagw.supervisor.embedded_redis import start_standalone

pytestmark = pytest.mark.e2e

ACCOUNT = "paced"
RATE = 120  # a minute: one every 0.5 s
WINDOW = 20.0  # seconds from the first send that are measured
TRICKLE = 2 * RATE / 60  # sends enqueued a second, while measuring: twice the pace


def test_two_daemons_serving_one_account_send_at_its_rate_together():
    redis_dir = short_tempdir("wagw-pace-redis-")
    redis_proc, server = start_standalone(redis_dir)
    env = {
        **E2E_ENV,
        "WAGW_REDIS_URL": server.url,
        "WAGW_ACCOUNTS": ACCOUNT,
        "WAGW_WA_WORKERS": "1",
        "WAGW_SEND_RATE": str(RATE),
    }
    daemons = [Daemon(short_tempdir("wagw-pace-host-"), env, run) for run in (None, [ACCOUNT])]
    conn = Redis.from_url(server.url)
    try:
        start_side_by_side(daemons)
        # One account alone: its processes are named without it (`wa-worker-1`).
        pids = [{daemon.child_pid("wa-worker-1")} for daemon in daemons]
        assert None not in pids[0] | pids[1] and pids[0] != pids[1], pids
        wait_for(lambda: devices.read(conn, f"{ACCOUNT}/worker-1").get("connected") == "1", 30)

        queue = Queue(accounts.queue_of(ACCOUNT), connection=conn, serializer=SERIALIZER)
        jobs: list[Job] = []
        started = time.monotonic()

        def sent_times() -> list[float]:
            records = [json.loads(raw) for raw in conn.lrange(keys.FAKE_SENT, 0, -1)]
            return sorted(r["time"] for r in records if r["account"] == ACCOUNT and r["op"] == "send_text")

        def window_over() -> list[float] | None:
            for daemon in daemons:
                daemon.check_alive()
            # Sends trickle in faster than the pace: the backlog grows, and both idle workers
            # take fresh ones and their slots (a backlog queued at once would be taken, and
            # given its slots, by whichever worker came first, in a few milliseconds).
            while len(jobs) < (time.monotonic() - started) * TRICKLE:
                n = len(jobs)
                jobs.append(queue.enqueue("workers.wa.send_text", to=f"1555{n:07d}@s.whatsapp.net", text=f"p{n}"))
            # From the second send: the first of a fresh worker and host runs late (its
            # first-use imports).
            times = sent_times()[1:]
            return times if times and times[-1] - times[0] >= WINDOW else None

        times = wait_for(window_over, WINDOW + 40, 0.2, f"{WINDOW:g} s of paced sends")
        window = [t for t in times if t - times[0] <= WINDOW]
        # The slope of send time over send number: each send goes when a worker takes it back
        # after its slot, so single sends jitter by a scheduling delay, the slots do not.
        every = statistics.linear_regression(range(len(window)), window).slope
        rate = 60 / every
        assert abs(rate - RATE) <= 0.05 * RATE, f"{rate:.1f} a minute from {len(window)} sends, asked {RATE}"

        # Both daemons' workers ran sends: a finished job names the worker that ran it.
        ran_by = set()
        for job in Job.fetch_many([j.id for j in jobs], connection=conn, serializer=SERIALIZER):
            if job is not None and job.get_status() == "finished":
                ran_by.add(job.worker_name.rpartition(".")[2])
        for daemon, theirs in zip(daemons, pids, strict=True):
            theirs.add(daemon.child_pid("wa-worker-1"))  # restarted meanwhile: its new pid too
        assert all(ran_by & {str(pid) for pid in theirs} for theirs in pids), (ran_by, pids)
        assert ran_by <= {str(pid) for pid in pids[0] | pids[1]}, (ran_by, pids)

        for daemon in daemons:
            assert daemon.stop() == 0, daemon.log_tail()
    finally:
        for daemon in daemons:
            daemon.kill_tree()
            shutil.rmtree(daemon.data_dir, ignore_errors=True)
        conn.close()
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        shutil.rmtree(redis_dir, ignore_errors=True)
