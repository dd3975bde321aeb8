"""The job runtime's decisions, against a stand-in host (the real thing:
tests/integration/test_wa_sends.py and test_wa_quarantine.py): which failures of a send leave
its outcome unknown, and that poison targets and quarantines never reach the host."""

from __future__ import annotations

import signal

import fakeredis
import pytest

from wagw import keys, quarantine
from wagw.config import Settings
from wagw.whatsapp.backend import BackendError
from workers import wa
from workers.wa import jobs
from workers.wa.host_client import HostCallError, HostCrashed, HostTimeout, HostUnavailable

ALICE = "15551234567@s.whatsapp.net"


class StubHost:
    """Does what it is told: `reached` says whether the host had acknowledged the call."""

    def __init__(self, error: BaseException | None = None, reached: bool = False):
        self.error, self.will_reach = error, reached
        self.reached = False
        self.calls: list[tuple[str, dict, bool]] = []

    def call(self, operation, params, *, deadline, connect_wait, acknowledge=False, before_write=None):
        self.calls.append((operation, params, acknowledge))
        if before_write is not None:
            before_write()
        self.reached = acknowledge and self.will_reach
        if self.error is not None:
            raise self.error
        return {"ok": operation}


def crashed(operation: str = "send_text") -> HostCrashed:
    return HostCrashed(1, operation, 4242, -signal.SIGABRT, ["panic: runtime error: boom", "goroutine 1 [running]:"])


@pytest.fixture
def conn():
    return fakeredis.FakeRedis()


@pytest.fixture
def bind(conn):
    def bind(host: StubHost, resend: bool = False, **settings) -> jobs.Runtime:
        values = {"backend": "fake", "poison_crashes": 2, **settings}
        runtime = jobs.Runtime(settings=Settings(_env_file=None, **values), conn=conn, host=host, slot=1)  # type: ignore[arg-type]
        runtime.begin(30, job_id="job-1", resend_on_unknown=resend)
        jobs.bind(runtime)
        return runtime

    yield bind
    jobs.bind(None)


def test_only_sends_ask_the_host_to_acknowledge(bind):
    host = StubHost()
    bind(host)
    wa.send_text(to=ALICE, text="hi")
    wa.fetch_avatar(jid=ALICE)
    wa.mark_read(chat=ALICE, ids=["3EB0AA"])
    assert [(op, ack) for op, _, ack in host.calls] == [
        ("send_text", True),
        ("fetch_avatar", False),
        ("mark_read", False),
    ]


@pytest.mark.parametrize(
    "error",
    [crashed(), HostTimeout("send_text did not finish within the job timeout"), HostCallError("native host raised X")],
)
def test_a_send_that_failed_after_the_hand_over_has_an_unknown_outcome(bind, error):
    bind(StubHost(error, reached=True))
    with pytest.raises(wa.OutcomeUnknown) as caught:
        wa.send_text(to="+1 555 123 4567", text="hi")
    message = str(caught.value)
    assert message.startswith("outcome unknown: send_text to …4567@s.whatsapp.net")
    assert type(error).__name__ in message and "resend_on_unknown" in message
    assert caught.value.permanent is True
    assert f"{type(caught.value).__module__}.{type(caught.value).__name__}" == "workers.wa.OutcomeUnknown"


@pytest.mark.parametrize("error", [crashed(), HostUnavailable("not connected"), BackendError("WhatsApp said no")])
def test_a_send_that_failed_before_the_hand_over_or_with_an_answer_is_retried(bind, error):
    bind(StubHost(error, reached=isinstance(error, BackendError)))
    with pytest.raises(type(error)) as caught:
        wa.send_text(to=ALICE, text="hi")
    assert not getattr(caught.value, "permanent", False)


def test_an_enqueuer_that_opted_in_gets_the_crash_itself(bind):
    bind(StubHost(crashed(), reached=True), resend=True)
    with pytest.raises(HostCrashed):
        wa.send_text(to=ALICE, text="hi")


def test_a_lookup_is_never_an_unknown_outcome(bind):
    bind(StubHost(crashed("fetch_avatar"), reached=True))
    with pytest.raises(HostCrashed):
        wa.fetch_avatar(jid=ALICE)


def test_resend_opt_in_is_json_true_only():
    assert jobs.resend_on_unknown({"resend_on_unknown": True})
    for meta in ({}, None, [], {"resend_on_unknown": "true"}, {"resend_on_unknown": 1}):
        assert not jobs.resend_on_unknown(meta)


def test_a_crash_on_a_target_is_counted_and_its_poison_fails_fast_without_the_host(bind, conn):
    host = StubHost(crashed("fetch_avatar"))
    runtime = bind(host)
    for _ in range(2):
        with pytest.raises(HostCrashed):
            wa.fetch_avatar(jid="+1 555 123 4567")
    assert len(host.calls) == 2
    with pytest.raises(quarantine.PoisonedTarget, match=r"poisoned target: fetch_avatar on …4567@s\.whatsapp\.net"):
        wa.fetch_avatar(jid=ALICE)
    assert len(host.calls) == 2  # never reached the host
    host.error = None
    assert wa.fetch_avatar(jid="15557654321@s.whatsapp.net") == {"ok": "fetch_avatar"}
    runtime.counts.flush(conn)
    outcomes = {k.decode(): int(v) for k, v in conn.hgetall(keys.METRIC_COUNTER.format(name="wa_jobs")).items()}
    assert outcomes['{"account":"default","operation":"fetch_avatar","outcome":"poisoned"}'] == 1
    assert outcomes['{"account":"default","operation":"fetch_avatar","outcome":"crashed"}'] == 2
    poisonings = conn.hgetall(keys.METRIC_COUNTER.format(name="poisonings"))
    assert {k.decode(): int(v) for k, v in poisonings.items()} == {
        '{"account":"default","operation":"fetch_avatar"}': 1
    }


MARKER = keys.SEND_HANDED.format(job_id="job-1")


def test_a_send_leaves_a_marker_for_the_reaper_unless_its_outcome_is_known_to_be_nothing(bind, conn):
    bind(StubHost())
    wa.send_text(to=ALICE, text="hi")
    assert conn.get(MARKER) == b"wa-worker-1"  # sent: if the worker died now, nobody could tell
    assert 1000 <= conn.pttl(MARKER) <= (30 + jobs.HANDED_GRACE) * 1000

    conn.delete(MARKER)
    bind(StubHost(crashed(), reached=True))
    with pytest.raises(wa.OutcomeUnknown):
        wa.send_text(to=ALICE, text="hi")
    assert conn.exists(MARKER)

    conn.delete(MARKER)
    bind(StubHost(crashed(), reached=False))
    with pytest.raises(HostCrashed):
        wa.send_text(to=ALICE, text="hi")
    assert not conn.exists(MARKER)  # never reached the backend: a retry is safe


def test_lookups_and_opted_in_sends_leave_no_marker(bind, conn):
    bind(StubHost())
    wa.fetch_avatar(jid=ALICE)
    wa.mark_read(chat=ALICE, ids=["3EB0AA"])
    bind(StubHost(), resend=True)
    wa.send_text(to=ALICE, text="hi")
    assert not conn.exists(MARKER)
