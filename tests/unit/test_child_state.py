"""The child state machine, driven through the OS seam with fake processes and a fake clock."""

from __future__ import annotations

import signal

import pytest

from wagw.exitcodes import ExitCode
from wagw.supervisor.state import Child, ChildSpec, RestartPolicy, State


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class FakeProcess:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.code: int | None = None
        self.signals: list[int] = []

    def poll(self):
        return self.code

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        if sig == signal.SIGKILL:
            self.code = -signal.SIGKILL


class FakeLauncher:
    def __init__(self) -> None:
        self.spawned: list[FakeProcess] = []

    def spawn(self, spec):
        proc = FakeProcess(100 + len(self.spawned))
        self.spawned.append(proc)
        return proc

    @property
    def last(self) -> FakeProcess:
        return self.spawned[-1]


POLICY = RestartPolicy(
    start_seconds=1.0, stable_seconds=10.0, max_start_failures=3, backoff_steps=(0.0, 0.5, 1.0, 2.0), long_backoff=600.0
)


@pytest.fixture
def rig():
    clock, launcher = FakeClock(), FakeLauncher()
    child = Child(ChildSpec("wa-worker-1", ["x"]), POLICY, launcher, clock)
    return child, clock, launcher


def run_until_running(child, clock):
    child.start()
    clock.advance(1.0)
    child.tick(shutting_down=False)
    assert child.state is State.RUNNING


def test_starting_becomes_running_after_start_seconds(rig):
    child, clock, _launcher = rig
    child.start()
    assert child.state is State.STARTING and child.pid == 100
    clock.advance(0.5)
    child.tick(shutting_down=False)
    assert child.state is State.STARTING
    clock.advance(0.5)
    child.tick(shutting_down=False)
    assert child.state is State.RUNNING


def test_killed_running_child_restarts_immediately_and_counts(rig):
    child, clock, launcher = rig
    run_until_running(child, clock)
    clock.advance(60)
    launcher.last.code = -signal.SIGKILL
    child.tick(shutting_down=False)
    assert child.state is State.BACKOFF and child.last_exit == -9
    child.tick(shutting_down=False)  # first restart after a stable run has no delay
    assert child.state is State.STARTING and child.restarts == 1 and child.pid == 101


def test_backoff_grows_with_quick_failures_and_resets_after_stable_uptime(rig):
    child, clock, launcher = rig
    run_until_running(child, clock)
    delays = []
    for _ in range(4):
        clock.advance(2.0)  # runs, but not stably
        launcher.last.code = 1
        child.tick(shutting_down=False)
        assert child.state is State.BACKOFF
        delays.append(child.backoff_until - clock.now())
        clock.advance(child.backoff_until - clock.now())
        child.tick(shutting_down=False)
        clock.advance(1.0)
        child.tick(shutting_down=False)
        assert child.state is State.RUNNING
    assert delays == [0.0, 0.5, 1.0, 2.0]
    clock.advance(30)  # a stable run forgets the failures
    launcher.last.code = 1
    child.tick(shutting_down=False)
    assert child.backoff_until - clock.now() == 0.0


def test_repeated_start_failures_end_fatal(rig):
    child, clock, launcher = rig
    child.start()
    for attempt in range(POLICY.max_start_failures):
        launcher.last.code = 1
        child.tick(shutting_down=False)
        if attempt < POLICY.max_start_failures - 1:
            assert child.state is State.BACKOFF
            clock.advance(child.backoff_until - clock.now())
            child.tick(shutting_down=False)
            assert child.state is State.STARTING
    assert child.state is State.FATAL
    assert "3 times" in child.fatal_reason
    clock.advance(3600)
    child.tick(shutting_down=False)
    assert child.state is State.FATAL and len(launcher.spawned) == 3


@pytest.mark.parametrize("code", [ExitCode.CONFIG, ExitCode.NOT_PAIRED, ExitCode.LOGGED_OUT, ExitCode.STREAM_REPLACED])
def test_fatal_exit_codes_are_never_retried(rig, code):
    child, clock, launcher = rig
    child.start()
    launcher.last.code = int(code)
    child.tick(shutting_down=False)
    assert child.state is State.FATAL
    assert code.name.lower() in child.fatal_reason
    clock.advance(3600)
    child.tick(shutting_down=False)
    assert len(launcher.spawned) == 1


def test_temporary_ban_waits_the_long_backoff(rig):
    child, clock, launcher = rig
    run_until_running(child, clock)
    clock.advance(60)
    launcher.last.code = int(ExitCode.TEMP_BANNED)
    child.tick(shutting_down=False)
    assert child.state is State.BACKOFF
    assert child.backoff_until - clock.now() == POLICY.long_backoff


def test_stop_is_graceful_then_forced_at_the_deadline(rig):
    child, clock, launcher = rig
    run_until_running(child, clock)
    child.stop(grace=5.0)
    assert child.state is State.STOPPING and launcher.last.signals == [signal.SIGTERM]
    clock.advance(4.9)
    child.tick(shutting_down=True)
    assert launcher.last.signals == [signal.SIGTERM]
    clock.advance(0.2)
    child.tick(shutting_down=True)
    assert launcher.last.signals[-1] == signal.SIGKILL
    child.tick(shutting_down=True)
    assert child.state is State.STOPPED


def test_rolling_restart_does_not_count_as_failure_and_revives_fatal(rig):
    child, clock, launcher = rig
    run_until_running(child, clock)
    child.restart(grace=5.0)
    launcher.last.code = 0
    child.tick(shutting_down=False)
    assert child.state is State.STARTING and child.run_failures == 0 and child.pid == 101
    launcher.last.code = int(ExitCode.CONFIG)
    child.tick(shutting_down=False)
    assert child.state is State.FATAL
    child.restart(grace=5.0)  # HUP after fixing the config
    assert child.state is State.STARTING and child.pid == 102


def test_readiness_probe_replaces_start_seconds():
    clock, launcher = FakeClock(), FakeLauncher()
    ready = []
    child = Child(ChildSpec("redis", ["redis-server"], ready=lambda: bool(ready)), POLICY, launcher, clock)
    child.start()
    clock.advance(5)
    child.tick(shutting_down=False)
    assert child.state is State.STARTING
    ready.append(True)
    child.tick(shutting_down=False)
    assert child.state is State.RUNNING


def test_exit_during_shutdown_is_not_restarted(rig):
    child, clock, launcher = rig
    run_until_running(child, clock)
    launcher.last.code = -15
    child.tick(shutting_down=True)
    assert child.state is State.STOPPED and len(launcher.spawned) == 1


# The policy's other knobs: what a wa-worker's native host runs with (wagw.childstate.NATIVE_HOST)


def test_a_child_that_got_ready_and_died_before_the_next_look_did_start():
    clock, launcher = FakeClock(), FakeLauncher()
    connected = []
    child = Child(ChildSpec("host", ["x"], ready=lambda: bool(connected)), POLICY, launcher, clock)
    child.start()
    connected.append(True)  # connected, then died, between two looks
    launcher.last.code = 1
    child.tick(shutting_down=False)
    assert child.state is State.BACKOFF and child.start_failures == 0


def test_failed_starts_can_back_off_on_their_own_steps_and_never_end_fatal():
    policy = RestartPolicy(max_start_failures=None, backoff_steps=(0.0,), failed_start_steps=(0.5, 1.0, 2.0))
    clock, launcher = FakeClock(), FakeLauncher()
    ready = []
    child = Child(ChildSpec("host", ["x"], ready=lambda: bool(ready)), policy, launcher, clock)
    child.start()
    delays = []
    for _ in range(6):
        launcher.last.code = int(ExitCode.TEMPFAIL)
        child.tick(shutting_down=False)
        assert child.state is State.BACKOFF
        delays.append(child.backoff_until - clock.now())
        clock.advance(delays[-1])
        child.tick(shutting_down=False)
        assert child.state is State.STARTING
    assert delays == [0.5, 1.0, 2.0, 2.0, 2.0, 2.0]
    ready.append(True)
    child.tick(shutting_down=False)
    assert child.state is State.RUNNING and child.start_failures == 0
    clock.advance(1.0)
    launcher.last.code = -signal.SIGABRT  # a run that got going is replaced at once
    child.tick(shutting_down=False)
    assert child.backoff_until == clock.now()
    child.tick(shutting_down=False)
    ready.clear()
    launcher.last.code = 1  # and the next failed start waits the first step again
    child.tick(shutting_down=False)
    assert child.backoff_until - clock.now() == 0.5


def test_the_policy_carries_which_exits_are_fatal_and_which_wait_long(rig):
    _child, clock, launcher = rig
    policy = RestartPolicy(fatal_exits=frozenset({ExitCode.NOT_PAIRED}), long_backoff_exits=frozenset())
    child = Child(ChildSpec("host", ["x"]), policy, launcher, clock)
    for code in (ExitCode.LOGGED_OUT, ExitCode.TEMP_BANNED):
        child.start()
        clock.advance(60)
        child.tick(shutting_down=False)
        launcher.last.code = int(code)
        child.tick(shutting_down=False)
        assert child.state is State.BACKOFF and child.backoff_until - clock.now() < policy.long_backoff
        clock.advance(child.backoff_until - clock.now())
        child.tick(shutting_down=False)
    launcher.last.code = int(ExitCode.NOT_PAIRED)
    child.tick(shutting_down=False)
    assert child.state is State.FATAL and "not_paired" in child.fatal_reason
