"""First contact and devices paired while wagw runs: the decisions, with fakes.

- the supervisor restarts a child that went fatal for want of keys once `wagw pair` recorded
  a pairing of its role after that child started, and nothing else;
- on a terminal it offers the pairing once, after the start, for the unpaired roles;
- a held console keeps log lines back and writes them out in order;
- `wagw pair --ask` reads QR / phone / skip;
- a wa-worker slot waiting for keys spawns a fresh host once its role was paired.
"""

from __future__ import annotations

import io

import fakeredis
import pytest

from tests.unit.test_child_state import FakeClock, FakeLauncher
from wagw import devices, keys
from wagw.devices import DeviceState
from wagw.exitcodes import PAIRING_FIXES, ExitCode
from wagw.logs import HOLD_LIMIT, Console
from wagw.supervisor.core import Supervisor
from wagw.supervisor.state import Child, ChildSpec, RestartPolicy, State
from wagw.supervisor.terminal import on_terminal, should_offer, unpaired_roles
from wagw.whatsapp import pairing

WALL = 1_800_000_000.0  # the fake wall clock's "now" when the fake monotonic clock is at 1000


class FakePairing:
    def __init__(self) -> None:
        self.started: list[list[str]] = []
        self.stopped = False

    @property
    def running(self) -> bool:
        return False

    def start(self, roles: list[str]) -> None:
        self.started.append(roles)

    def poll(self) -> int | None:
        return None

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def conn():
    return fakeredis.FakeRedis()


def make_supervisor(conn, pairing=None):
    clock, launcher = FakeClock(), FakeLauncher()
    policy = RestartPolicy()
    specs = [
        ChildSpec("scheduler", ["x"]),
        ChildSpec("wa-worker-1", ["x"], device_role="worker-1"),
        ChildSpec("session", ["x"], device_role="session"),
    ]
    children = [Child(spec, policy, launcher, clock) for spec in specs]
    sup = Supervisor(
        children,
        clock=clock,
        grace=1.0,
        status_redis=conn,
        sleep=lambda _s: None,
        pairing=pairing,
        wall=lambda: WALL + (clock.now() - 1000.0),
    )
    for child in children:
        child.start()
    clock.advance(1.0)
    sup._step()
    return sup, clock, {child.name: child for child in children}


def exit_child(child: Child, code: int, sup: Supervisor) -> None:
    assert child.handle is not None
    child.handle.code = code  # type: ignore[attr-defined]  # a FakeProcess
    sup._step()


# The supervisor picks up a pairing ----------------------------------------------------------


def test_pairing_fixes_are_the_device_exits():
    assert {ExitCode.NOT_PAIRED, ExitCode.LOGGED_OUT, ExitCode.STREAM_REPLACED} == PAIRING_FIXES
    assert ExitCode.CONFIG not in PAIRING_FIXES


def test_a_fatal_unpaired_session_is_restarted_once_its_role_is_paired(conn):
    sup, clock, children = make_supervisor(conn)
    session = children["session"]
    exit_child(session, ExitCode.NOT_PAIRED, sup)
    assert session.state is State.FATAL
    others = {name: child.pid for name, child in children.items() if name != "session"}

    clock.advance(5)
    sup._revive_paired()
    assert session.state is State.FATAL  # nothing paired yet

    devices.record_pairing(conn, "session", "1555:1@s.whatsapp.net", at=WALL + 6)
    clock.advance(1)
    sup._revive_paired()
    assert session.state is State.STARTING and session.restarts == 1
    assert {name: child.pid for name, child in children.items() if name != "session"} == others
    assert all(child.state is State.RUNNING for name, child in children.items() if name != "session")


def test_a_pairing_older_than_the_child_does_not_restart_it(conn):
    devices.record_pairing(conn, "session", "1555:1@s.whatsapp.net", at=WALL - 60)  # before this start
    sup, _clock, children = make_supervisor(conn)
    exit_child(children["session"], ExitCode.NOT_PAIRED, sup)
    sup._revive_paired()
    assert children["session"].state is State.FATAL


def test_other_fatal_exits_and_roleless_children_are_left_alone(conn):
    sup, clock, children = make_supervisor(conn)
    exit_child(children["session"], ExitCode.CONFIG, sup)  # a config error: pairing cannot fix it
    assert children["session"].state is State.FATAL
    devices.record_pairing(conn, "session", "1555:1@s.whatsapp.net", at=WALL + 5)
    clock.advance(10)
    sup._revive_paired()
    assert children["session"].state is State.FATAL


def test_a_logged_out_session_is_restarted_after_pair_force(conn):
    sup, clock, children = make_supervisor(conn)
    clock.advance(30)
    exit_child(children["session"], ExitCode.LOGGED_OUT, sup)
    devices.record_pairing(conn, "session", "1555:1@s.whatsapp.net", at=WALL + 40)
    clock.advance(20)
    sup._step()  # the once-a-second look happens in the loop
    assert children["session"].state in (State.STARTING, State.RUNNING)


def test_redis_trouble_while_looking_is_not_fatal(conn):
    sup, _clock, children = make_supervisor(conn)
    exit_child(children["session"], ExitCode.NOT_PAIRED, sup)

    class Broken:
        def hmget(self, *args):
            raise ConnectionError("redis restarting")

    sup.status_redis = Broken()
    sup._revive_paired()
    assert children["session"].state is State.FATAL


# The offer on a terminal --------------------------------------------------------------------


def test_unpaired_roles_come_from_fatal_exits_and_heartbeats():
    assert unpaired_roles({"session": ExitCode.NOT_PAIRED}, {}) == ["session"]
    assert unpaired_roles({"session": ExitCode.LOGGED_OUT}, {}) == []  # not first contact
    assert unpaired_roles({}, {"worker-2": "unpaired", "worker-1": "connected"}) == ["worker-2"]
    assert unpaired_roles({"session": ExitCode.NOT_PAIRED}, {"worker-1": DeviceState.UNPAIRED}) == [
        "session",
        "worker-1",
    ]


@pytest.mark.parametrize(
    ("terminal", "offered", "settled", "unpaired", "offer"),
    [
        (True, False, True, ["session"], True),
        (False, False, True, ["session"], False),  # systemd: no terminal, the fatal state stays
        (True, True, True, ["session"], False),  # once per `wagw run`
        (True, False, False, ["session"], False),  # not before every child has started
        (True, False, True, [], False),  # everything paired
    ],
)
def test_the_offer_decision(terminal, offered, settled, unpaired, offer):
    assert should_offer(terminal=terminal, offered=offered, settled=settled, unpaired=unpaired) is offer


class Tty(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        super().isatty()  # ValueError once closed, as a real stream
        return self.tty


def test_a_terminal_means_stdin_and_stdout_are_both_ttys():
    assert on_terminal(Tty(True), Tty(True))
    assert not on_terminal(Tty(False), Tty(True))  # systemd: stdin is /dev/null
    assert not on_terminal(Tty(True), Tty(False))  # output to a file or a pipe
    closed = Tty(True)
    closed.close()
    assert not on_terminal(closed, Tty(True))


def test_the_supervisor_offers_once_after_the_start(conn):
    fake = FakePairing()
    sup, _clock, children = make_supervisor(conn, pairing=fake)
    exit_child(children["session"], ExitCode.NOT_PAIRED, sup)
    devices.publish(conn, "worker-1", state=DeviceState.UNPAIRED, paired=False, connected=False, jid=None)
    sup._offer_pairing()
    assert fake.started == []  # not settled yet: startup lines still coming
    sup._ready_sent = True
    sup._offer_pairing()
    sup._offer_pairing()
    assert fake.started == [["session", "worker-1"]]
    for child in children.values():
        if child.handle is not None:
            child.handle.code = 0  # type: ignore[attr-defined]  # they stop when asked
    assert sup._stop_all(ExitCode.OK) == ExitCode.OK
    assert fake.stopped  # a pairing on the terminal ends with wagw


def test_no_offer_when_everything_is_paired(conn):
    fake = FakePairing()
    sup, _clock, _children = make_supervisor(conn, pairing=fake)
    devices.publish(conn, "worker-1", state=DeviceState.CONNECTED, paired=True, connected=True, jid="x")
    sup._ready_sent = True
    sup._offer_pairing()
    assert fake.started == [] and not sup.pairing_offered


# The held console ---------------------------------------------------------------------------


def test_a_held_console_writes_its_lines_in_order_on_release():
    out = io.StringIO()
    console = Console(out)
    console.write("one\n")
    console.hold()
    console.write("two\n")
    console.write("three\n")
    console.flush()
    assert out.getvalue() == "one\n"
    assert console.release() == 2
    assert out.getvalue() == "one\n--- 2 log lines held while pairing ---\ntwo\nthree\n"
    console.write("four\n")
    assert out.getvalue().endswith("three\nfour\n") and not console.holding


def test_a_held_console_keeps_the_newest_lines_and_counts_the_dropped():
    out = io.StringIO()
    console = Console(out)
    console.hold()
    for n in range(HOLD_LIMIT + 5):
        console.write(f"{n}\n")
    console.release()
    text = out.getvalue()
    assert f"{HOLD_LIMIT + 5} log lines held while pairing (5 oldest dropped)" in text
    assert "\n4\n" not in text and text.endswith(f"{HOLD_LIMIT + 4}\n")


# `wagw pair --ask` --------------------------------------------------------------------------


def answers(*lines: str):
    queue = list(lines)

    def read(_prompt: str = "") -> str:
        if not queue:
            raise EOFError
        return queue.pop(0)

    return read


def test_ask_enter_means_a_qr_code_and_a_number_means_a_pairing_code():
    said: list[str] = []

    def write(text, **_kw):
        said.append(text)

    assert pairing.ask_method(["session"], read=answers(""), write=write) is None
    assert "QR code" in said[0] and "+NUMBER" in said[0]
    assert pairing.ask_method(["session"], read=answers("+1 555 123 4567"), write=write) == "15551234567"
    assert pairing.ask_method(["session"], read=answers("s"), write=write) == pairing.SKIP
    assert pairing.ask_method(["session"], read=answers(), write=write) == pairing.SKIP  # EOF or no answer


def test_ask_repeats_the_question_after_a_bad_number():
    said: list[str] = []
    method = pairing.ask_method(
        ["session"], read=answers("call me", "+15551234567"), write=lambda text, **_kw: said.append(text)
    )
    assert method == "15551234567"
    assert any("international number" in line for line in said)


def test_ask_again_after_a_failure():
    assert pairing.ask_again("session", read=answers(""))
    assert not pairing.ask_again("session", read=answers("s"))
    assert not pairing.ask_again("session", read=answers())


# A wa-worker slot waiting for keys ----------------------------------------------------------


def test_an_unpaired_slot_spawns_a_fresh_host_once_paired():
    from workers.wa.host_restarts import HostRestarts

    clock, launcher = FakeClock(), FakeLauncher()
    host = HostRestarts(
        ChildSpec("wa-worker-1/host", ["x"]), launcher, clock=clock, wall=lambda: WALL + (clock.now() - 1000.0)
    )
    host.start()  # at WALL
    launcher.last.code = int(ExitCode.NOT_PAIRED)
    host.look()
    assert host.waiting_for_pairing
    assert not host.pairing_recorded(WALL - 1)  # paired before that host looked: it saw it
    assert not host.recheck_idle() and len(launcher.spawned) == 1
    assert host.pairing_recorded(WALL + 1)
    assert host.recheck_idle() and len(launcher.spawned) == 2
    launcher.last.code = int(ExitCode.TEMPFAIL)
    host.look()
    assert not host.waiting_for_pairing and not host.pairing_recorded(WALL + 2)


def test_record_pairing_is_what_the_daemon_reads(conn):
    devices.publish(conn, "session", state=DeviceState.UNPAIRED, paired=False, connected=False, jid=None)
    devices.record_pairing(conn, "session", "1555:1@s.whatsapp.net", at=WALL)
    assert conn.hget(keys.DEVICE_JIDS, "session") == b"1555:1@s.whatsapp.net"
    assert not conn.exists(keys.DEVICE_STATUS.format(role="session"))  # the stale "unpaired" is gone
    assert devices.paired_at(conn, ["session", "worker-1"]) == {"session": WALL}
    assert devices.paired_since(conn, "session", WALL - 1)
    assert not devices.paired_since(conn, "session", WALL)
    assert not devices.paired_since(conn, "worker-1", 0)
    assert devices.paired_at(conn, []) == {}
