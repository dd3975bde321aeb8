"""Idempotency keys are set by apps, which wagw trusts less than itself: odd or huge keys, a key
another account uses, and claim records written straight into Redis must not send twice, leak
another job's result, or stop a worker (wagw.idempotency)."""

from __future__ import annotations

import pytest
from rq.job import JobStatus

from tests.integration.wa_worker_harness import ALICE, sent, wait_done
from wagw import client, idempotency, keys, operations
from wagw.errors import DuplicateJob, InvalidArguments

ARGS = {"to": ALICE, "text": "hi"}


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "line\nbreak", "tab\there", "ключ", "\x00", 17, None.__class__, ["a"], {"k": 1}],
    ids=["empty", "256 chars", "newline", "tab", "not ascii", "nul", "int", "type", "list", "dict"],
)
def test_a_key_that_is_not_1_to_255_printable_ascii_is_refused_in_the_caller(key, redis_conn):
    with pytest.raises(InvalidArguments, match="invalid idempotency key"):
        client.enqueue_send_text(ALICE, "hi", account="default", idempotency_key=key, connection=redis_conn)
    assert not redis_conn.keys("wagw:idempotency:*") and not redis_conn.keys("rq:job:*")


def test_redis_sees_only_a_digest_of_the_key_under_its_accounts_prefix(redis_conn):
    key = "*:{}[]" + "k" * 249
    client.enqueue_send_text(ALICE, "hi", account="default", idempotency_key=key, connection=redis_conn)
    [name] = redis_conn.keys("wagw:idempotency:*")
    prefix, digest = name.decode().rsplit(":", 1)
    assert prefix == "wagw:idempotency:default" and len(digest) == 64 and int(digest, 16) >= 0


def test_keys_are_per_account(redis_conn):
    a = idempotency.take(redis_conn, "a", "shared", "send_text", ARGS, "job-a", 60)
    b = idempotency.take(redis_conn, "b", "shared", "send_text", ARGS, "job-b", 60)
    assert a is None and b is None  # each account's first job holds its own key
    assert idempotency.take(redis_conn, "a", "shared", "send_text", ARGS, "job-a2", 60) == "job-a"


def test_a_forged_claim_value_is_replaced_not_trusted(redis_conn):
    name = idempotency.claim_key("default", "k")
    for forged in (b"", b"garbage", b"\xff\xfe:job", b"a" * 64 + b":../../etc", b"A" * 64 + b":job"):
        redis_conn.set(name, forged)
        assert idempotency.take(redis_conn, "default", "k", "send_text", ARGS, "mine", 60) is None
        assert redis_conn.get(name).endswith(b":mine")


def test_a_claim_of_another_type_is_an_error_for_that_key_only(redis_conn):
    name = idempotency.claim_key("default", "k")
    redis_conn.hset(name, "x", "y")  # not a string: Redis refuses GET
    with pytest.raises(Exception, match="WRONGTYPE"):
        idempotency.take(redis_conn, "default", "k", "send_text", ARGS, "mine", 60)
    assert idempotency.take(redis_conn, "default", "other", "send_text", ARGS, "mine", 60) is None


def test_a_claim_naming_another_accounts_job_never_hands_over_its_result(start_worker, redis_conn, wa_queue):
    """An app writes a claim in account default's namespace naming a finished job of another
    account (same operation and arguments): the duplicate fails, without that job's result."""
    start_worker()
    theirs = wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="secret result")
    assert wait_done(theirs) == JobStatus.FINISHED
    redis_conn.hset(theirs.key, "origin", "wa.other")  # as if another account had run it
    valid = operations.validate("send_text", (), {"to": ALICE, "text": "secret result"})
    fp = idempotency.fingerprint("send_text", valid.model_dump(mode="json"))
    redis_conn.set(idempotency.claim_key("default", "stolen"), f"{fp}:{theirs.id}")
    mine = wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="secret result", meta={"idempotency_key": "stolen"})
    assert wait_done(mine) == JobStatus.FAILED
    exc = mine.latest_result().exc_string
    assert f"duplicate of job {theirs.id} (same idempotency key), which is not a send_text job of this account" in exc
    assert theirs.return_value()["id"] not in exc
    # A claim naming a job that does not exist, for other arguments: a conflict, nothing is sent.
    redis_conn.set(idempotency.claim_key("default", "ghost"), f"{'0' * 64}:nosuchjob")
    ghost = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE, meta={"idempotency_key": "ghost"})
    assert wait_done(ghost) == JobStatus.FAILED
    assert "IdempotencyConflict" in ghost.latest_result().exc_string
    assert len(sent(redis_conn, "send_text")) == 1 and not sent(redis_conn, "fetch_avatar")


def test_a_huge_or_odd_meta_key_fails_the_job_for_good_without_sending(start_worker, redis_conn, wa_queue):
    start_worker()
    jobs = [
        wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="x", meta={"idempotency_key": key})
        for key in ("k" * 1_000_000, {"nested": ["key"]}, 42, "bad\r\nkey")
    ]
    for job in jobs:
        assert wait_done(job) == JobStatus.FAILED
        assert "workers.validation.InvalidArguments: invalid idempotency key" in job.latest_result().exc_string
        job.refresh()
        assert job.retries_left == 0
    assert not sent(redis_conn, "send_text") and not redis_conn.keys(keys.IDEMPOTENCY.format(account="*", key="*"))


def test_a_first_job_gone_from_redis_is_no_licence_to_send_again(redis_conn):
    fp = idempotency.fingerprint("send_text", ARGS)
    redis_conn.set(idempotency.claim_key("default", "k"), f"{fp}:deleted-job")

    def put(pipe, job_id):
        raise AssertionError("nothing may be enqueued")

    with pytest.raises(DuplicateJob, match=r"duplicate of job deleted-job .* whose record is gone"):
        idempotency.enqueue_once(
            redis_conn, "default", "k", "send_text", ARGS, 60, put, path="workers.wa.send_text", queues=["wa"]
        )


def test_a_claim_naming_another_accounts_job_is_not_handed_to_the_enqueuer(redis_conn):
    """The same forged claim met by wagw.client (and so the HTTP API) as it enqueues: the
    caller gets no other account's or operation's job to wait on and read, and nothing is enqueued."""
    from rq import Queue

    from wagw.redisconn import SERIALIZER

    valid = operations.validate("send_text", (), ARGS)
    fp = idempotency.fingerprint("send_text", valid.model_dump(mode="json"))
    for queue, path in (("wa.other", "workers.wa.send_text"), ("wa", "workers.wa.send_image")):
        theirs = Queue(queue, connection=redis_conn, serializer=SERIALIZER).enqueue(path, **ARGS)
        redis_conn.set(idempotency.claim_key("default", "stolen"), f"{fp}:{theirs.id}")
        with pytest.raises(DuplicateJob, match=f"duplicate of job {theirs.id} .* not a send_text job of this account"):
            client.enqueue_send_text(**ARGS, account="default", idempotency_key="stolen", connection=redis_conn)
    assert len(redis_conn.keys("rq:job:*")) == 2
