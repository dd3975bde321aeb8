"""Sending order and pacing, the decisions (wagw.sendorder): the pace's arithmetic as a model,
and each decision of the one script on the test run's Redis, at times given by the test (the
clock seam), never waiting on a real clock."""

from __future__ import annotations

import itertools

import pytest
from rq import Queue

from wagw import keys, rqcompat, sendorder
from wagw.config import Settings
from wagw.redisconn import SERIALIZER

T0 = 1_800_000_000.0
ALICE = "15551234567@s.whatsapp.net"
BOB = "15557654321@s.whatsapp.net"
GROUP = "120363000000000000@g.us"


@pytest.fixture
def gate(settings_env, redis_conn):
    def make(send_rate: float = 60, first_contact_rate: float = 0) -> sendorder.Gate:
        settings = Settings(_env_file=None, send_rate=send_rate, first_contact_rate=first_contact_rate)
        return sendorder.Gate(redis_conn, "default", settings, clock=lambda: T0)

    return make


def test_the_pace_spaces_a_burst_by_its_interval_and_no_window_holds_more():
    every = sendorder.interval(20)  # 3 s
    tat, slots = 0.0, []
    for arrival in [T0] * 30 + [T0 + 200 + n * 0.5 for n in range(10)]:
        slot, tat = sendorder.next_slot(tat, arrival, every)
        slots.append(slot)
    assert slots[:3] == [T0, T0 + 3, T0 + 6]
    assert all(b - a >= every - 1e-9 for a, b in itertools.pairwise(slots))
    assert slots[30] == T0 + 200  # idle long enough: the next goes at once
    for start in slots:
        assert sum(start <= s < start + 60 for s in slots) <= 60 / every
    assert sendorder.interval(0) == 0


def test_sends_of_one_rate_get_consecutive_slots_and_keep_theirs(gate):
    g = gate(send_rate=60)
    assert g.admit("a", ALICE, now=T0).kind == "run"
    b = g.admit("b", BOB, now=T0)
    assert (b.kind, b.until) == ("pacing", T0 + 1)
    c = g.admit("c", "15550000001@s.whatsapp.net", now=T0 + 0.5)
    assert (c.kind, c.until) == ("pacing", T0 + 2)
    # Back at its slot, it goes without taking another; the next new one comes after c's.
    assert g.admit("b", BOB, now=T0 + 1).kind == "run"
    assert g.admit("d", "15550000002@s.whatsapp.net", now=T0 + 1).until == T0 + 3


def test_a_rate_of_zero_is_no_limit(gate):
    g = gate(send_rate=0, first_contact_rate=0)
    assert {g.admit(f"j{n}", f"1555000{n:04d}@s.whatsapp.net", now=T0).kind for n in range(20)} == {"run"}


def test_first_contacts_take_the_stricter_rate_too_and_known_chats_and_groups_do_not(gate, redis_conn):
    g = gate(send_rate=60, first_contact_rate=4)  # 1 s, and 15 s for first contacts
    sendorder.note_known(redis_conn, "default", [ALICE], now=T0 - 10)
    assert g.admit("new1", BOB, now=T0).kind == "run"
    new2 = g.admit("new2", "15550000003@s.whatsapp.net", now=T0 + 1)
    assert (new2.kind, new2.until) == ("pacing", T0 + 15)
    # A reply is not held behind a first contact waiting for its slot: only the rate of all sends.
    assert g.admit("known", ALICE, now=T0 + 1).kind == "run"
    group = g.admit("group", GROUP, now=T0 + 1)
    assert (group.kind, group.until) == ("pacing", T0 + 2)
    assert g.admit("new2", "15550000003@s.whatsapp.net", now=T0 + 15).kind == "run"
    assert g.admit("new3", "15550000004@s.whatsapp.net", now=T0 + 15).until == T0 + 30
    assert sendorder.is_person(ALICE) and sendorder.is_person("123@lid") and not sendorder.is_person(GROUP)


def test_a_reach_out_hold_holds_first_contacts_only(gate, redis_conn):
    g = gate(send_rate=0)
    redis_conn.hset(keys.REACHOUT_HOLD.format(account="default"), mapping={"until": T0 + 600, "reason": "463"})
    sendorder.note_known(redis_conn, "default", [ALICE], now=T0 - 10)
    held = g.admit("first", BOB, now=T0)
    assert (held.kind, held.until) == ("reachout", T0 + 600)
    assert g.admit("reply", ALICE, now=T0).kind == "run"
    assert g.admit("group", GROUP, now=T0).kind == "run"
    assert g.admit("first", BOB, now=T0 + 601).kind == "run"  # lifted


def test_a_send_waits_for_the_earlier_ones_of_its_chat_and_the_end_lets_it_go(gate, redis_conn):
    g = gate(send_rate=0)
    assert g.admit("a", ALICE, now=T0).kind == "run"
    b = g.admit("b", ALICE, now=T0)
    assert (b.kind, b.head) == ("turn", "a")
    assert g.admit("c", ALICE, now=T0).head == "a"
    assert g.admit("other", BOB, now=T0).kind == "run"  # another chat goes on
    assert g.admit("a", ALICE, now=T0).kind == "run"  # a retry of the first keeps its place
    sendorder.end_send(redis_conn, "default", "a", ALICE, went_out=True, now=T0)
    assert g.admit("c", ALICE, now=T0).head == "b"  # registered after b: still after it
    assert g.admit("b", ALICE, now=T0).kind == "run"
    assert redis_conn.zscore(keys.KNOWN_CHATS.format(account="default"), ALICE) == T0
    assert redis_conn.hget(keys.ORDER_JOBS, "c") == f"default\t{ALICE}".encode()


def test_an_opted_out_send_neither_waits_nor_is_waited_for(gate):
    g = gate(send_rate=0)
    assert g.admit("a", ALICE, now=T0).kind == "run"
    assert g.admit("free", ALICE, ordered=False, now=T0).kind == "run"
    assert g.admit("b", ALICE, now=T0).head == "a"


def test_a_head_that_ended_without_its_release_is_dropped(gate, redis_conn, wa_queue):
    g = gate(send_rate=0)
    job = wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="x")
    assert g.admit(job.id, ALICE, now=T0).kind == "run"
    assert g.admit("b", ALICE, now=T0).head == job.id
    assert not g.head_ended(ALICE, job.id)  # queued: alive
    job.delete()
    assert g.head_ended(ALICE, job.id)
    assert g.admit("b", ALICE, now=T0).kind == "run"


def test_typing_comes_once_after_the_turn_and_the_pace(gate):
    g = gate(send_rate=0)
    typing = g.admit("t", ALICE, typing=3.0, now=T0)
    assert (typing.kind, typing.until) == ("typing", T0 + 3)
    assert g.admit("t", ALICE, typing=3.0, now=T0 + 3).kind == "run"
    assert sendorder.typing_seconds(True, "hi") == sendorder.TYPING_MIN
    assert sendorder.typing_seconds(True, "x" * 50) == pytest.approx(10.0)
    assert sendorder.typing_seconds(True, "x" * 1000) == sendorder.TYPING_MAX
    assert sendorder.typing_seconds(2.5, "x") == 2.5 and sendorder.typing_seconds(None, "x") == 0
    assert sendorder.typing_seconds(False, "x") == 0


def test_a_parked_send_goes_back_to_the_front_of_its_queue_when_due(gate, redis_conn):
    g = gate(send_rate=60)
    queue = Queue("wa.default", connection=redis_conn, serializer=SERIALIZER)
    job = queue.enqueue("workers.wa.send_text", to=BOB, text="x")
    later = queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
    assert rqcompat.IntermediateList(queue).take(1, "test-worker") == [job.id]  # as a worker takes it
    g.admit("before", ALICE, now=T0)
    decision = g.admit(job.id, BOB, now=T0)
    assert decision.kind == "pacing"
    assert g.park(job, queue, decision, BOB, now=T0) == "parked"
    job.refresh()
    assert job.get_status() == "deferred" and job.meta[sendorder.WAITING_FOR].startswith("the account's pace")
    assert queue.get_job_ids() == [later.id] and rqcompat.IntermediateList(queue).ids() == []
    waiting = sendorder.waiting(redis_conn, "default", now=T0)
    assert waiting["pacing"] == {"count": 1, "next": T0 + 1}
    assert sendorder.release_due(redis_conn, "default", now=T0 + 0.5) == 0
    assert sendorder.release_due(redis_conn, "default", now=T0 + 1) == 1
    assert queue.get_job_ids() == [job.id, later.id] and job.get_status() == "queued"
    assert sendorder.release_due(redis_conn, "default", now=T0 + 2) == 0  # once
    assert sendorder.waiting(redis_conn, "default")["pacing"]["count"] == 0


def test_a_send_parks_for_its_turn_only_while_it_is_not_the_head(gate, redis_conn):
    g = gate(send_rate=0)
    queue = Queue("wa.default", connection=redis_conn, serializer=SERIALIZER)
    job = queue.enqueue("workers.wa.send_text", to=ALICE, text="x")
    rqcompat.IntermediateList(queue).take(1, "test-worker")
    g.admit("first", ALICE, now=T0)
    decision = g.admit(job.id, ALICE, now=T0)
    sendorder.end_send(redis_conn, "default", "first", ALICE, went_out=True, now=T0)  # between decision and parking
    assert g.park(job, queue, decision, ALICE, now=T0) == "again"
    assert rqcompat.IntermediateList(queue).ids() == [job.id]  # still this worker's: it decides again
    assert g.admit(job.id, ALICE, now=T0).kind == "run"


def test_the_end_of_a_send_requeues_the_next_of_its_chat_waiting_for_its_turn(gate, redis_conn):
    g = gate(send_rate=0)
    queue = Queue("wa.default", connection=redis_conn, serializer=SERIALIZER)
    job = queue.enqueue("workers.wa.send_text", to=ALICE, text="x")
    rqcompat.IntermediateList(queue).take(1, "test-worker")
    g.admit("first", ALICE, now=T0)
    decision = g.admit(job.id, ALICE, now=T0)
    assert g.park(job, queue, decision, ALICE, now=T0) == "parked"
    assert sendorder.waiting(redis_conn, "default", now=T0)["turn"] == {
        "count": 1,
        "next": T0 + sendorder.SAFETY_RECHECK,
    }
    sendorder.end_send(redis_conn, "default", "first", ALICE, went_out=False, now=T0)
    assert queue.get_job_ids() == [job.id] and job.get_status() == "queued"
    assert redis_conn.zscore(keys.KNOWN_CHATS.format(account="default"), ALICE) is None  # it did not go out


def test_an_id_taken_before_a_send_that_is_not_utf8_is_handed_back_as_taken_and_registered_away(gate, redis_conn):
    # A taker killed between its take and setting such an id aside leaves its ticket pending.
    g = gate(send_rate=0)
    counter, tickets, pending = sendorder.ticket_keys("default")
    bad = b"\xff\xfe stranded"
    redis_conn.hset(tickets, bad, redis_conn.incr(counter))
    redis_conn.zadd(pending, {bad: 1})
    redis_conn.hset(tickets, "send", redis_conn.incr(counter))
    found = g.admit("send", ALICE, now=T0)
    assert (found.kind, found.earlier) == ("earlier", [bad])
    g.register(bad, None)  # what the worker does with what it cannot read: no ordered send
    assert g.admit("send", ALICE, now=T0).kind == "run"
    assert redis_conn.zcard(pending) == 0 and not redis_conn.hexists(tickets, bad)
