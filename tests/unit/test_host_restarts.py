"""A wa-worker's native host restarts under the shared child state machine: its decisions,
driven through the seam with a fake launcher and fake clocks (no processes).
tests/integration/test_host_client.py proves the whole on real hosts."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import pytest

from tests.unit.test_child_state import FakeClock, FakeLauncher
from wagw.childstate import NATIVE_HOST, ChildSpec, State
from wagw.devices import DeviceState
from wagw.exitcodes import HOST_CLEAN_EXITS, ExitCode
from workers.wa.host_client import HostClient, HostCrashed, SlotBanned, SlotLoggedOut, SlotReplaced
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
    rig.connected.add(rig.launcher.last.pid)  # connected, then lost the network, between two looks
    assert rig.exit(int(ExitCode.TEMPFAIL)) == 0.0
    assert rig.restarts.look() is None and rig.spawns == 1  # reported once; a look starts nothing
    assert rig.restarts.start_due() and rig.spawns == 2


@pytest.mark.parametrize("code", [ExitCode.OK, ExitCode.FAILURE, ExitCode.TEMPFAIL, -9])
def test_an_exit_wagw_can_heal_is_retried_with_the_host_backoff(rig, code):
    assert rig.exit(int(code)) == 0.5
    assert rig.restarts.child.state is State.BACKOFF and not rig.restarts.waiting_for_pairing


@pytest.mark.parametrize("code", [ExitCode.LOGGED_OUT, ExitCode.STREAM_REPLACED])
@pytest.mark.parametrize("connected", [False, True], ids=["never-connected", "connected"])
def test_logged_out_or_replaced_starts_no_host_until_the_slot_is_paired_again(rig, code, connected):
    """Retrying cannot help: the phone removed the device, or another client holds its keys
    (connecting again would throw that one off, and it us). Neither a job nor time starts a
    host; a pairing recorded after the last host started does."""
    if connected:
        rig.connect()
    rig.clock.advance(3)
    looked = rig.wall()
    assert rig.exit(int(code)) == float("inf")
    restarts = rig.restarts
    assert restarts.waiting_for_pairing and restarts.child.state is State.FATAL
    for _ in range(5):
        rig.clock.advance(NOT_PAIRED_IDLE_RECHECK * 10)
        assert not restarts.start_due() and not restarts.recheck_idle() and not restarts.recheck_for_job()
    assert rig.spawns == 1 and restarts.next_start == float("inf")
    assert not restarts.pairing_recorded(WALL - 1)  # paired before that host started
    assert not restarts.recheck_for_job() and rig.spawns == 1
    assert restarts.pairing_recorded(looked)  # `wagw pair` since: a job starts a host at once
    assert restarts.recheck_for_job() and rig.spawns == 2
    rig.connect()
    assert not restarts.waiting_for_pairing


def test_a_recorded_pairing_also_starts_the_host_at_the_next_idle_look(rig):
    rig.clock.advance(3)
    assert rig.exit(int(ExitCode.LOGGED_OUT)) == float("inf")
    assert rig.restarts.pairing_recorded(rig.wall())
    assert rig.restarts.recheck_idle() and rig.spawns == 2


@pytest.mark.parametrize("connected", [False, True], ids=["never-connected", "connected"])
def test_a_temporary_ban_waits_the_long_backoff_then_tries_again(rig, connected):
    if connected:
        rig.connect()
    assert rig.exit(int(ExitCode.TEMP_BANNED)) == NATIVE_HOST.long_backoff == 900.0
    restarts = rig.restarts
    assert restarts.child.state is State.BACKOFF and restarts.banned and not restarts.waiting_for_pairing
    assert not restarts.recheck_for_job() and not restarts.recheck_idle()
    rig.start_when_due()
    assert not restarts.banned and rig.spawns == 2
    assert rig.exit(int(ExitCode.TEMP_BANNED)) == 900.0  # still banned: as long again


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
    assert NATIVE_HOST.max_start_failures is None
    assert NATIVE_HOST.fatal_exits == {ExitCode.NOT_PAIRED, ExitCode.LOGGED_OUT, ExitCode.STREAM_REPLACED}
    assert NATIVE_HOST.long_backoff_exits == {ExitCode.TEMP_BANNED}


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


# The wa-worker's side: what a job meets while its slot waits -----------------------------------


class FakeHost:
    """A native host as HostClient sees it (workers.wa.host_client._Incarnation), no process."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.state = DeviceState.STARTING
        self.paired: bool | None = None
        self.jid: str | None = None
        self.error: str | None = None
        self.ever_connected = False
        self.killed = False
        self.code: int | None = None

    @property
    def alive(self) -> bool:
        return self.code is None

    @property
    def connected(self) -> bool:
        return self.state is DeviceState.CONNECTED and self.alive

    def connect(self) -> None:
        self.state, self.paired, self.ever_connected = DeviceState.CONNECTED, True, True

    def ends(self, code: int, state: DeviceState, error: str) -> None:
        """The host reports the state its backend error leaves, then exits with the error's code."""
        self.state, self.error, self.code = state, error, code

    def poll(self) -> int | None:
        return self.code

    def reap(self) -> int:
        assert self.code is not None
        return self.code

    def send_signal(self, sig: int) -> None:
        self.code = -signal.SIGKILL if sig == signal.SIGKILL else 0

    def kill(self) -> int:
        self.killed = True
        if self.code is None:
            self.code = -signal.SIGKILL
        return self.code


class FakeHostClient(HostClient):
    """A HostClient whose hosts are FakeHosts, on fake clocks."""

    def __init__(self, settings, clock: FakeClock) -> None:
        super().__init__(settings, 1)
        self.hosts: list[FakeHost] = []
        self.on_spawn: Callable[[FakeHost], None] | None = None
        spec = self._restarts.child.spec
        self._restarts = HostRestarts(spec, self, clock=clock, wall=lambda: WALL + clock.now() - 1000.0)

    def spawn(self, spec):
        host = FakeHost(200 + len(self.hosts))
        self.hosts.append(host)
        self._host = host  # type: ignore[assignment]
        if self.on_spawn is not None:
            self.on_spawn(host)
        return host


@pytest.fixture
def client(tmp_path):
    from wagw.config import Settings

    clock = FakeClock()
    client = FakeHostClient(Settings(_env_file=None, backend="fake", data_dir=tmp_path), clock)
    client.start()
    return client


def job(client: HostClient) -> None:
    """What a job asks of its slot's host (jobs.run); a connect wait far longer than the test."""
    client.call("joined_groups", {}, deadline=None, connect_wait=3600.0)


ENDINGS = {
    ExitCode.LOGGED_OUT: (DeviceState.LOGGED_OUT, "device 'worker-1' was logged out from the phone"),
    ExitCode.STREAM_REPLACED: (DeviceState.STREAM_REPLACED, "another client connected with device 'worker-1''s keys"),
    ExitCode.TEMP_BANNED: (DeviceState.TEMPORARY_BAN, "WhatsApp temporarily banned the account"),
}


@pytest.mark.parametrize(
    ("code", "error", "permanent", "message"),
    [
        (
            ExitCode.LOGGED_OUT,
            SlotLoggedOut,
            True,
            r"^slot 1 \(worker-1\): logged out by the phone — run `wagw pair --role worker-1 --force`$",
        ),
        (
            ExitCode.STREAM_REPLACED,
            SlotReplaced,
            True,
            r"^slot 1 \(worker-1\): another client connected with its keys — .*`wagw pair --role worker-1 --force`$",
        ),
        (
            ExitCode.TEMP_BANNED,
            SlotBanned,
            False,
            r"^slot 1 \(worker-1\): WhatsApp temporarily banned the account; its native host tries again in 900 s",
        ),
    ],
)
def test_a_job_on_a_slot_waiting_for_the_operator_or_a_ban_fails_at_once_naming_the_fix(
    client, code, error, permanent, message
):
    state, reported = ENDINGS[code]
    client.hosts[0].connect()
    job_started = client.hosts[0]
    client.maintain()
    job_started.ends(int(code), state, reported)
    for _ in range(3):  # every job, at once: none waits out the connect wait, none starts a host
        with pytest.raises(error, match=message) as failed:
            job(client)
        assert getattr(failed.value, "permanent", False) is permanent
        client.maintain()
    assert len(client.hosts) == 1 and client.pid is None
    assert client.status()["state"] == state and client.state is state
    assert client.waiting_for_pairing is (code != ExitCode.TEMP_BANNED)


def test_a_job_after_wagw_pair_relinked_a_logged_out_slot_gets_a_fresh_host(client):
    client._restarts.clock.advance(2)
    client.hosts[0].ends(int(ExitCode.LOGGED_OUT), *ENDINGS[ExitCode.LOGGED_OUT])
    with pytest.raises(SlotLoggedOut):
        job(client)
    assert not client.pairing_recorded(WALL - 1)  # before that host looked: nothing new
    assert client.pairing_recorded(WALL + 5)  # `wagw pair --role worker-1 --force`, since

    def logged_out_soon(host: FakeHost) -> None:  # as a real host's events pipe tells its client
        def end() -> None:
            with client._changed:
                host.ends(int(ExitCode.LOGGED_OUT), *ENDINGS[ExitCode.LOGGED_OUT])
                client._changed.notify_all()

        threading.Timer(0.01, end).start()

    client.on_spawn = logged_out_soon
    with pytest.raises(SlotLoggedOut):  # the job's fresh host found it logged out again …
        job(client)
    assert len(client.hosts) == 2
    with pytest.raises(SlotLoggedOut):  # … so the slot waits for the next pairing again
        job(client)
    client.maintain()
    assert len(client.hosts) == 2
