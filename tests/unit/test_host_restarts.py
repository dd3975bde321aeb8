"""A wa-worker's native host restarts under the shared child state machine: its decisions,
driven through the seam with a fake launcher and fake clocks (no processes).
tests/integration/test_host_client.py proves the whole on real hosts."""

from __future__ import annotations

import signal

import pytest

from tests.unit.test_child_state import FakeClock, FakeLauncher
from wagw.childstate import NATIVE_HOST, ChildSpec, State
from wagw.exitcodes import HOST_CLEAN_EXITS, ExitCode
from workers.wa.host_client import HostCrashed
from workers.wa.host_restarts import NOT_PAIRED_IDLE_RECHECK, NOT_PAIRED_RECHECK, HostRestarts

WALL = 1_800_000_000.0


class Rig:
    def __init__(self) -> None:
        self.clock, self.launcher = FakeClock(), FakeLauncher()
        self.connected: set[int] = set()  # pids of hosts that connected
        spec = ChildSpec("wa-worker-1/host", ["python", "-m", "workers.wa.host"], ready=self.ready)
        self.restarts = HostRestarts(spec, self.launcher, clock=self.clock, wall=self.wall)
        self.restarts.start()

    def wall(self) -> float:
        return WALL + self.clock.now() - 1000.0  # WALL when the fake monotonic clock is at 1000

    def ready(self) -> bool:
        return self.launcher.last.pid in self.connected

    def connect(self) -> None:
        self.connected.add(self.launcher.last.pid)
        assert self.restarts.look() is None
        assert self.restarts.child.state is State.RUNNING

    def exit(self, code: int) -> float:
        """The host exits with `code`: the delay until the next starts (inf: none by itself)."""
        self.launcher.last.code = code
        assert self.restarts.look() == code
        return self.restarts.next_start - self.clock.now()

    def start_when_due(self) -> None:
        spawned = len(self.launcher.spawned)
        self.clock.advance(self.restarts.next_start - self.clock.now() - 0.01)
        assert not self.restarts.start_due() and len(self.launcher.spawned) == spawned
        self.clock.advance(0.01)
        assert self.restarts.start_due() and len(self.launcher.spawned) == spawned + 1

    @property
    def spawns(self) -> int:
        return len(self.launcher.spawned)


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_a_host_that_never_connects_backs_off_from_half_a_second_to_thirty_and_never_gives_up(rig):
    delays = []
    for _ in range(12):
        delays.append(rig.exit(int(ExitCode.TEMPFAIL)))
        assert rig.restarts.child.state is State.BACKOFF
        rig.start_when_due()
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0]
    assert rig.spawns == 13


def test_a_host_that_connected_is_replaced_at_once_and_the_backoff_starts_over(rig):
    rig.exit(1)
    rig.start_when_due()
    rig.exit(1)
    rig.start_when_due()
    rig.connect()
    rig.clock.advance(5)
    assert rig.exit(-signal.SIGABRT) == 0.0  # a Go panic mid-call: the retry finds a fresh host
    assert rig.restarts.start_due() and rig.spawns == 4
    assert rig.exit(int(ExitCode.TEMPFAIL)) == 0.5


def test_a_host_that_connected_and_died_before_the_worker_looked_is_replaced_at_once(rig):
    rig.connected.add(rig.launcher.last.pid)  # connected, then logged out, between two looks
    assert rig.exit(int(ExitCode.LOGGED_OUT)) == 0.0
    assert rig.restarts.look() is None and rig.spawns == 1  # reported once; a look starts nothing
    assert rig.restarts.start_due() and rig.spawns == 2


@pytest.mark.parametrize(
    "code", [ExitCode.OK, ExitCode.FAILURE, ExitCode.LOGGED_OUT, ExitCode.STREAM_REPLACED, ExitCode.TEMP_BANNED, -9]
)
def test_every_exit_but_not_paired_is_retried_with_the_host_backoff(rig, code):
    assert rig.exit(int(code)) == 0.5
    assert rig.restarts.child.state is State.BACKOFF and not rig.restarts.waiting_for_pairing


def test_not_paired_waits_for_pairing_a_job_or_the_idle_recheck(rig):
    assert rig.exit(int(ExitCode.NOT_PAIRED)) == NOT_PAIRED_IDLE_RECHECK
    restarts = rig.restarts
    assert restarts.waiting_for_pairing and restarts.child.state is State.FATAL
    assert not restarts.start_due() and not restarts.recheck_idle()
    # A job right after the host looked fails at once; once NOT_PAIRED_RECHECK has passed,
    # a fresh host looks at the keys again.
    rig.clock.advance(NOT_PAIRED_RECHECK - 0.1)
    assert not restarts.recheck_for_job() and rig.spawns == 1
    rig.clock.advance(0.1)
    assert restarts.recheck_for_job() and rig.spawns == 2
    assert rig.exit(int(ExitCode.NOT_PAIRED)) == NOT_PAIRED_IDLE_RECHECK
    # Between jobs: every NOT_PAIRED_IDLE_RECHECK seconds anyway.
    rig.clock.advance(NOT_PAIRED_IDLE_RECHECK - 1)
    assert not restarts.recheck_idle() and rig.spawns == 2
    rig.clock.advance(1)
    assert restarts.recheck_idle() and rig.spawns == 3
    rig.connect()  # paired by now: a normal host
    assert not restarts.waiting_for_pairing and rig.exit(1) == 0.0


def test_a_pairing_recorded_after_the_host_looked_starts_a_fresh_one_at_the_next_idle_look(rig):
    rig.clock.advance(3)
    looked = rig.wall()  # the host started at WALL and found no keys at +3 s
    assert rig.exit(int(ExitCode.NOT_PAIRED)) == NOT_PAIRED_IDLE_RECHECK
    restarts = rig.restarts
    assert not restarts.pairing_recorded(WALL - 1)  # paired before that host started: it saw the keys
    assert not restarts.recheck_idle() and rig.spawns == 1
    assert restarts.pairing_recorded(looked)
    assert restarts.recheck_idle() and rig.spawns == 2
    assert restarts.child.state is State.STARTING and restarts.child.start_failures == 0
    rig.exit(int(ExitCode.TEMPFAIL))
    assert not restarts.waiting_for_pairing and not restarts.pairing_recorded(looked + 10)


def test_a_stopped_host_is_not_started_again(rig):
    rig.connect()
    rig.restarts.stop(grace=5.0)
    assert rig.launcher.last.signals == [signal.SIGTERM]  # the host's handle closes its stdin
    rig.launcher.last.code = 0
    rig.restarts.stopped()
    assert rig.restarts.child.state is State.STOPPED
    rig.clock.advance(3600)
    assert rig.restarts.look() is None and not rig.restarts.start_due() and not rig.restarts.recheck_idle()
    assert not rig.restarts.recheck_for_job() and rig.spawns == 1


def test_the_host_runs_the_policy_named_in_childstate():
    assert Rig().restarts.child.policy is NATIVE_HOST
    assert NATIVE_HOST.max_start_failures is None and NATIVE_HOST.fatal_exits == {ExitCode.NOT_PAIRED}


@pytest.mark.parametrize(
    ("code", "native"),
    [
        *[(int(code), False) for code in HOST_CLEAN_EXITS],
        (-signal.SIGABRT, True),
        (-signal.SIGSEGV, True),
        (-signal.SIGKILL, True),
        (int(ExitCode.FAILURE), True),  # an unexpected Python error in the host
        (2, True),
    ],
)
def test_a_host_exit_it_did_not_choose_is_a_native_crash(code, native):
    assert HostCrashed(1, "send_text", 4242, code, []).native is native
