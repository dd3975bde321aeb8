"""The HTTP API writes a call's job without rq's objects (wagw.api.jobrecord): what it writes
must be what wagw.client.enqueue (rq's Queue.enqueue_call) writes for the same call."""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

import pytest
from rq import Queue
from rq.job import Job
from rq.version import VERSION as RQ_VERSION

from wagw import client, operations
from wagw.accounts import Account
from wagw.api import jobrecord
from wagw.api.jobrecord import MAX_ARGUMENT_BYTES, JobWriter, QueuedJob, queue_of_account
from wagw.errors import InvalidArguments
from wagw.redisconn import SERIALIZER

ALICE = "15551234567@s.whatsapp.net"
CALLS = [
    ("send_text", {"to": ALICE, "text": "hello " * 40}),  # an argument past the description's cut
    ("fetch_avatar", {"jid": ALICE, "preview": True}),
    ("send_location", {"to": ALICE, "latitude": 52.5, "longitude": 13.4, "name": "here"}),
]
TIMES = (b"created_at", b"enqueued_at")


def _written(conn, job_id: str) -> dict[bytes, bytes]:
    fields = conn.hgetall(Job.key_for(job_id))
    fields[b"data"] = zlib.decompress(fields[b"data"])
    return {name: value for name, value in fields.items() if name not in TIMES}


@pytest.mark.parametrize(("operation", "arguments"), CALLS, ids=[name for name, _ in CALLS])
@pytest.mark.parametrize("primary", [True, False], ids=["first account", "other account"])
def test_a_queued_job_is_written_as_wagw_client_enqueues_it(redis_conn, operation, arguments, primary):
    account = Account("second", primary=primary, several=not primary, wa_workers=1)
    queue = queue_of_account(account)
    ours = QueuedJob.of(operations.get(operation), queue, dict(arguments))
    with redis_conn.pipeline() as pipe:
        ours.write(pipe)
        pipe.execute()
    with redis_conn.pipeline() as pipe:  # wagw.client picks the account's queue itself
        theirs = client.enqueue(
            operation, connection=redis_conn, pipeline=pipe, account=None if primary else "second", **arguments
        )
        pipe.execute()

    assert redis_conn.lrange(Queue.redis_queue_namespace_prefix + queue, 0, -1) == [
        ours.id.encode(),
        theirs.id.encode(),
    ]
    assert redis_conn.smembers(Queue.redis_queues_keys) == {(Queue.redis_queue_namespace_prefix + queue).encode()}
    mine, reference = _written(redis_conn, ours.id), _written(redis_conn, theirs.id)
    assert mine == reference, f"rq {RQ_VERSION}: wagw.client writes {reference}, the API {mine}"
    stored = {name: redis_conn.hget(Job.key_for(ours.id), name) for name in TIMES}
    assert all(stored.values()) and stored[b"created_at"] == stored[b"enqueued_at"]
    job = Job.fetch(ours.id, connection=redis_conn, serializer=SERIALIZER)  # rq reads it back whole
    assert (job.func_name, job.kwargs, job.origin, job.get_status()) == (
        operations.get(operation).path,
        arguments,
        queue,
        "queued",
    )


def test_bad_or_oversized_arguments_are_refused_as_wagw_client_refuses_them(redis_conn, monkeypatch):
    assert MAX_ARGUMENT_BYTES == client.MAX_ARGUMENT_BYTES
    op = operations.get("send_text")
    for arguments in ({"text": "no recipient"}, {"to": ALICE, "text": "hi", "typing": "often"}):
        with pytest.raises(InvalidArguments) as ours:
            QueuedJob.of(op, "wa", arguments)
        with pytest.raises(InvalidArguments) as theirs:
            client.enqueue("send_text", connection=redis_conn, **arguments)
        assert str(ours.value) == str(theirs.value)
    monkeypatch.setattr(jobrecord, "MAX_ARGUMENT_BYTES", 100)
    monkeypatch.setattr(client, "MAX_ARGUMENT_BYTES", 100)
    large = {"to": ALICE, "text": "x" * 100}
    with pytest.raises(ValueError, match="a job carries at most 100") as ours_large:
        QueuedJob.of(op, "wa", large)
    with pytest.raises(ValueError) as theirs_large:
        client.enqueue("send_text", connection=redis_conn, **large)
    assert str(ours_large.value) == str(theirs_large.value)
    assert redis_conn.keys("rq:job:*") == []  # nothing written


def test_the_jobs_queued_in_one_event_loop_step_are_written_in_one_transaction(redis_url, redis_conn):
    from redis.asyncio import Redis as AsyncRedis
    from redis.exceptions import ConnectionError as RedisConnectionError

    op = operations.get("send_text")

    def transactions() -> int:
        return int(redis_conn.info("commandstats").get("cmdstat_exec", {}).get("calls", 0))

    async def write_all(url: str) -> list[Any]:
        aconn = AsyncRedis.from_url(url, socket_connect_timeout=5)
        writer = JobWriter(aconn)
        try:
            jobs = [QueuedJob.of(op, "wa", {"to": ALICE, "text": f"m{n}"}) for n in range(5)]
            outcomes = await asyncio.gather(*(writer.write(job) for job in jobs), return_exceptions=True)
            return [job.id for job in jobs] if not any(outcomes) else outcomes
        finally:
            await aconn.aclose()

    before = transactions()
    job_ids = asyncio.run(write_all(redis_url))
    assert transactions() == before + 1
    assert redis_conn.lrange("rq:queue:wa", 0, -1) == [job_id.encode() for job_id in job_ids]
    # Redis not answering: every call of the batch gets the error, and nothing is written.
    failed = asyncio.run(write_all("redis://127.0.0.1:1"))
    assert len(failed) == 5 and all(isinstance(error, RedisConnectionError) for error in failed)
    assert redis_conn.llen("rq:queue:wa") == 5
