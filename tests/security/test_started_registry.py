"""An app with Redis access writes what it likes into a queue's started registry
(`rq:wip:<queue>`), and the executions and worker hashes its entries name. The orphaned-job
reaper (in the scheduler every second, and at every wa-worker's start) reads every entry there,
and rq's cleanup in every worker's maintenance fetches those past their lease: one forged entry
that either could not read ended that process, again at every restart. Here an app floods the
registries of a running `wagw run`: no child restarts, every entry is removed and recorded, the
records stay capped, the log carries the forged text escaped, and a job behind it all runs."""

from __future__ import annotations

import json
import zlib

import pytest
from rq import Queue
from rq.job import JobStatus

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import wait_done
from wagw import deadletter, keys
from wagw.redisconn import SERIALIZER

pytestmark = pytest.mark.e2e

FORGED = "2026-01-01 00:00:00.000 CRITICAL [supervisor] FORGED"
QUEUES = (keys.WA_QUEUE, "wa.default", keys.WEBHOOKS_QUEUE)
# Worker hashes rq never writes, each named by a forged execution: none may read as a live
# worker, nor raise. (kill(-1, 0) asks about every process; 10**40 overflows kill(); "abc" is
# no int; a string is no hash.)
FORGED_WORKERS = {
    b"forged.negative": {"pid": "-1", "hostname": "here"},
    b"forged.huge": {"pid": "9" * 40, "hostname": "here"},
    b"forged.word": {"pid": "abc", "hostname": b"\xff\xfe"},
    b"forged.string": None,
    b"\xff\xfe": None,  # a worker name that is not text
}
# Job data no worker can run: nested deeper than the JSON parser goes, pickled, not JSON.
FORGED_DATA = [zlib.compress(b"[" * 200_000, 9), zlib.compress(b"\x80\x05pickled"), zlib.compress(b"{not json")]


def flood(conn, queue: str, count: int) -> int:
    """Write `count` garbage members and forged entries of every kind into the queue's started
    registry, every other one past its lease; returns how many members were written."""
    members: list[bytes] = [f"garbage {n}!".encode() for n in range(count)]
    members += [b"\xff" * 1_000_000 + b":e", f"x:{FORGED}\x1b[2K\u202e".encode(), b"[bold]owned[/bold]:e"]
    fields = {"status": "started", "origin": queue, "created_at": "2026-01-01T00:00:00.000000Z"}
    tag = queue.replace(".", "-")
    for n, (worker, record) in enumerate(FORGED_WORKERS.items()):
        for m, data in enumerate(FORGED_DATA):
            job_id = f"forged-{tag}-{n}-{m}"
            conn.hset(f"rq:job:{job_id}", mapping={**fields, "data": data})
            member = f"{job_id}:e".encode()
            conn.hset(b"rq:execution:" + member, mapping={"worker_name": worker})
            members.append(member)
        if record is None:
            conn.set(b"rq:worker:" + worker, "not a hash")
        else:
            conn.hset(b"rq:worker:" + worker, mapping=record)
    conn.set(f"rq:execution:forged-{tag}-string:e", "not a hash")
    members.append(f"forged-{tag}-string:e".encode())
    conn.zadd(f"rq:wip:{queue}", {member: (1 if n % 2 else 4_000_000_000) for n, member in enumerate(members)})
    return len(members)


@pytest.mark.timeout(240)
def test_a_flood_of_forged_started_entries_restarts_no_child_of_wagw_run(daemon_factory):
    daemon = daemon_factory()
    daemon.start()
    conn = daemon.redis
    before = {p["name"]: (p["pid"], p["restarts"]) for p in daemon.wait_settled()["processes"]}
    written = {queue: flood(conn, queue, deadletter.KEEP) for queue in QUEUES}

    canary = Queue(keys.WA_QUEUE, connection=conn, serializer=SERIALIZER).enqueue("workers.wa.joined_groups")
    assert wait_done(canary, 90) == JobStatus.FINISHED
    wait_for(lambda: all(conn.zcard(f"rq:wip:{queue}") == 0 for queue in QUEUES), 90, what="every forged entry removed")
    daemon.check_alive()
    after = {p["name"]: (p["pid"], p["restarts"]) for p in daemon.snapshot()["processes"]}
    told = [line for line in daemon.log_text().splitlines() if "started registry entry" not in line]
    assert after == before, "a child of wagw run died and was restarted:\n" + "\n".join(told[-80:])

    # Recorded, capped, and each record small whatever the member's size.
    for queue, count in written.items():
        dead = keys.DEAD_LETTER.format(queue=queue)
        assert count > deadletter.KEEP and conn.llen(dead) == deadletter.KEEP
        raw_records = conn.lrange(dead, 0, -1)
        assert max(len(raw) for raw in raw_records) < 2_000
        assert {json.loads(raw)["registry"] for raw in raw_records} == {"started"}
    log = daemon.log_text()
    assert "\x1b" not in log and "\u202e" not in log
    assert not [line for line in log.splitlines() if line.startswith(FORGED.split(" CRITICAL")[0])]
