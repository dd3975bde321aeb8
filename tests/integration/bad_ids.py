"""Ids an app with Redis access can push onto a queue that are not jobs wagw can read, one of
each kind, and what the dead-letter lists should say about them (wagw.deadletter)."""

from __future__ import annotations

import json
import pickle
import time
import zlib

from redis import Redis
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry

from chaos.polling import wait_for
from wagw import deadletter, keys, metrics
from wagw.redisconn import SERIALIZER

LONG_ID = b"x" * 100_000


def write_bad_jobs(conn: Redis, queue: str, tag: str) -> dict[bytes, str]:
    """Write the records behind each kind of bad id (nothing is pushed yet): id -> reason."""
    fields = {"status": "queued", "origin": queue, "created_at": "2026-01-01T00:00:00.000000Z"}
    call = zlib.compress(json.dumps(["workers.wa.joined_groups", None, [], {}]).encode())
    bad = {
        f"bad id {tag}!".encode(): "invalid_id",  # a space and a '!': rq's Job() raises ValueError
        f"{tag}:exec".encode(): "invalid_id",  # rq would read it as job `tag`'s execution
        b"\xff\xfe" + tag.encode(): "invalid_id",  # not even UTF-8
        tag.encode() + LONG_ID: "id_too_long",
        f"{tag}-gone".encode(): "no_job",
        f"{tag}-string".encode(): "not_a_hash",
        f"{tag}-nodata".encode(): "missing_fields",
        f"{tag}-badstatus".encode(): "unreadable_fields",
        f"{tag}-pickled".encode(): "pickled",
        f"{tag}-notjson".encode(): "not_json",
        f"{tag}-notcall".encode(): "not_a_call",
    }
    conn.set(f"rq:job:{tag}-string", "a string, not a hash")
    conn.hset(f"rq:job:{tag}-nodata", mapping=fields)
    conn.hset(f"rq:job:{tag}-badstatus", mapping={**fields, "status": "bogus", "data": call})
    pickled = pickle.dumps(("workers.wa.joined_groups", None, [], {}))
    conn.hset(f"rq:job:{tag}-pickled", mapping={**fields, "data": zlib.compress(pickled)})
    conn.hset(f"rq:job:{tag}-notjson", mapping={**fields, "data": zlib.compress(b"{not json")})
    conn.hset(f"rq:job:{tag}-notcall", mapping={**fields, "data": zlib.compress(b'["workers.wa.joined_groups"]')})
    return bad


def push_bad_ids(conn: Redis, queue: str, tag: str) -> dict[bytes, str]:
    """RPUSH one id of each kind onto `queue` (the access enqueuing needs): id -> reason."""
    bad = write_bad_jobs(conn, queue, tag)
    conn.rpush(f"rq:queue:{queue}", *bad)
    return bad


def write_bad_started(
    conn: Redis, queue: str, tag: str, dead_worker: str, *, expired: bool = False
) -> dict[bytes, str]:
    """Entries an app can write into a queue's started registry (rq:wip:<queue>) that cannot be
    read, one of each kind, with the records behind them: entry -> reason. Each readable one's
    execution names `dead_worker` (give it no worker hash: a dead worker), so the orphaned-job
    reaper acts on every one; `expired`: their leases ran out, so rq's own cleanup in a
    worker's maintenance fetches them too."""
    entries = {
        f"bad entry {tag}!".encode(): "not_an_entry",  # Job() refuses the id
        f"{tag}:a:b".encode(): "not_an_entry",  # rq's parse_composite_key raises on a third part
        b"\xff\xfe" + tag.encode() + b":e1": "not_an_entry",  # not UTF-8
        f"{tag}-noexec".encode(): "not_an_entry",  # no execution id
        tag.encode() + LONG_ID + b":e1": "not_an_entry",
        f"{tag}-badexec:e1".encode(): "bad_execution",
    }
    conn.set(f"rq:execution:{tag}-badexec:e1", "a string, not a hash")
    for job_id, reason in write_bad_jobs(conn, queue, tag).items():
        if reason in ("invalid_id", "id_too_long"):  # as entries, these are the ones above
            continue
        member = job_id + b":e1"
        conn.hset(b"rq:execution:" + member, mapping={"worker_name": dead_worker})
        entries[member] = reason
    score = 1 if expired else time.time() + 3600
    conn.zadd(f"rq:wip:{queue}", dict.fromkeys(entries, score))
    return entries


def dead_letters(conn: Redis, queue: str) -> list[dict]:
    return [json.loads(raw) for raw in conn.lrange(keys.DEAD_LETTER.format(queue=queue), 0, -1)]


def wait_dead_lettered(conn: Redis, queue: str, bad: dict[bytes, str], timeout: float = 20) -> list[dict]:
    """Wait until every id of `bad` is in the queue's dead-letter list; its entries for them."""
    shown = {deadletter.shown_id(job_id): reason for job_id, reason in bad.items()}

    def arrived() -> list[dict]:
        entries = [e for e in dead_letters(conn, queue) if e["id"] in shown]
        return entries if {e["id"] for e in entries} == set(shown) else []

    entries = wait_for(arrived, timeout, 0.05, f"{len(bad)} bad ids in {queue}'s dead-letter list")
    assert {e["id"]: e["reason"] for e in entries} == shown
    assert len(entries) == len(shown)  # each once
    for entry in entries:
        assert entry["queue"] == queue and entry["why"] == deadletter.REASONS[entry["reason"]] and entry["at"] > 0
    return entries


def assert_undecodable_jobs_failed(conn: Redis, bad: dict[bytes, str]) -> None:
    """A job whose data alone cannot be decoded is failed as well, as rq fails such a job: its
    enqueuer sees it end (`bad`: ids, or started entries "<job id>:<execution id>")."""
    undecodable = [
        job_id.decode().partition(":")[0]
        for job_id, reason in bad.items()
        if reason in ("pickled", "not_json", "not_a_call")
    ]
    assert len(undecodable) == 3
    for job_id in undecodable:
        job = Job.fetch(job_id, connection=conn, serializer=SERIALIZER)
        assert job.get_status() == JobStatus.FAILED and job_id in FailedJobRegistry(job.origin, connection=conn)
        assert "DeserializationError" in job.latest_result().exc_string


def dead_letter_counts(conn: Redis) -> dict[tuple[str, str], int]:
    """(queue, reason) -> the jobs_dead_lettered counter."""
    raw = conn.hgetall(keys.METRIC_COUNTER.format(name="jobs_dead_lettered"))
    assert metrics.METRICS["jobs_dead_lettered"].labels == ("queue", "reason")
    return {(labels["queue"], labels["reason"]): int(n) for labels, n in ((json.loads(k), v) for k, v in raw.items())}


def on_queues(conn: Redis, queue: str, bad: dict[bytes, str]) -> set[bytes]:
    """Which of `bad` are on the queue or its intermediate list."""
    present = set(conn.lrange(f"rq:queue:{queue}", 0, -1)) | set(conn.lrange(f"rq:queue:{queue}:intermediate", 0, -1))
    return present & set(bad)
