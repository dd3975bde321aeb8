"""What an app's jobs can do to sending order and pacing (docs/jobs.md "Sending order and
pacing"): whatever a send's arguments or meta hold, the wa-worker's gate neither fails nor
holds anything back but that send's own chat, writes no Redis key an argument could make
large, and no meta lets a send skip the account's pace.

The gate runs here as in a wa-worker (workers/wa/gate.py), on jobs enqueued with plain rq on
the test run's Redis and taken as a worker takes them."""

from __future__ import annotations

import pytest
from rq import Callback, Queue

from wagw import keys, rqcompat, sendorder
from wagw.accounts import SINGLE_ACCOUNT
from wagw.config import Settings
from wagw.redisconn import SERIALIZER
from workers.wa.gate import MAX_CHAT_KEY, SendGate

ALICE = "15551234567@s.whatsapp.net"


@pytest.fixture
def taken(settings_env, redis_conn):
    """Enqueue a job on wa.default and take it as a wa-worker does: (gate, job, queue)."""
    gate = SendGate(redis_conn, Settings(_env_file=None, send_rate=60), SINGLE_ACCOUNT)
    queue = Queue("wa.default", connection=redis_conn, serializer=SERIALIZER)
    taker = rqcompat.taker_queue_class("test-worker", ticket_keys=sendorder.ticket_keys("default"))

    def take(func: str, *args, meta: dict | None = None, **kwargs):
        queue.enqueue(func, *args, meta=meta, **kwargs)
        job, origin = taker.dequeue_any([queue], None, connection=redis_conn, serializer=SERIALIZER)
        return gate, job, origin

    return take


@pytest.mark.parametrize(
    "kwargs",
    [
        {"to": 12345, "text": "x"},
        {"to": "not an address", "text": "x"},
        {"to": ["a list"] * 3, "text": "x"},
        {"to": "x" * 100_000, "text": "x"},
        {"to": ALICE, "text": "x", "typing": "forever"},
        {"to": ALICE, "text": "x", "typing": 10**9},
        {"text": "no target"},
    ],
)
def test_a_send_with_arguments_the_gate_cannot_read_runs_at_once_to_fail_its_validation(taken, redis_conn, kwargs):
    gate, job, queue = taken("workers.wa.send_text", **kwargs)
    if "typing" in kwargs:  # a readable target: the send is ordered, and its typing ignored
        assert gate.admit(job, queue) is True
        assert redis_conn.zcard(keys.WAITING.format(account="default")) == 0
    else:
        assert gate.admit(job, queue) is True
        assert redis_conn.hlen(keys.ORDER_JOBS) == 0  # not registered anywhere
    with redis_conn.pipeline() as pipe:  # rq's MULTI that starts it
        gate.started(job.id, pipe)
        pipe.execute()
    assert redis_conn.zcard(keys.ORDER_PENDING.format(account="default")) == 0  # its take settled


def test_a_huge_batch_target_is_keyed_by_its_digest(taken, redis_conn):
    people = [f"1555{n:07d}@s.whatsapp.net" for n in range(1000)]
    gate, job, queue = taken("workers.wa.create_group", name="g", participants=people)
    assert gate.admit(job, queue) is True
    [key] = redis_conn.keys(keys.ORDER_CHAT.format(account="default", chat="*"))
    assert len(key) < MAX_CHAT_KEY and b"sha256:" in key


def test_no_meta_lets_a_send_skip_the_pace(taken, redis_conn):
    gate, first, queue = taken("workers.wa.send_text", to=ALICE, text="first")
    assert gate.admit(first, queue) is True
    metas = ({sendorder.IN_ORDER: False}, {"wagw_defaults": False}, {sendorder.WAITING_FOR: "nothing"})
    for n, meta in enumerate(metas):
        gate, job, queue = taken("workers.wa.send_text", to=f"155576543{n:02d}", text="x", meta=meta)
        assert gate.admit(job, queue) is False  # waits for its slot (60 a minute), off the queue
        job.refresh()
        assert job.get_status() == "deferred" and job.meta[sendorder.WAITING_FOR].startswith("the account's pace")


@pytest.mark.parametrize(
    ("kwargs", "extra"),
    [
        ({"to": ALICE, "text": "x", "reachout_hold": 0}, {}),
        ({"to": ALICE, "text": None}, {}),
        ({"to": ALICE, "text": "x"}, {"on_failure": Callback("os.system")}),  # rq refuses it
    ],
)
def test_a_send_that_fails_when_it_runs_never_waits_and_its_end_lets_its_chat_go(taken, redis_conn, kwargs, extra):
    gate, first, queue = taken("workers.wa.send_text", to=ALICE, text="first")
    assert gate.admit(first, queue) is True  # runs: the chat's turn and the pace's slot are its
    gate, bad, queue = taken("workers.wa.send_text", **kwargs, **extra)
    assert gate.admit(bad, queue) is True  # not after its turn and slot: it fails now
    assert redis_conn.zcard(keys.WAITING.format(account="default")) == 0
    gate, later, queue = taken("workers.wa.send_text", to=ALICE, text="later")
    assert gate.admit(later, queue) is False  # waits for its turn, off the queue
    gate.ended(first, went_out=True, final=True)
    gate.ended(bad, went_out=False, final=True)  # it failed for good
    assert redis_conn.zrange(keys.ORDER_CHAT.format(account="default", chat=ALICE), 0, -1) == [later.id.encode()]
