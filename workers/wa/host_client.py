"""The wa-worker's side of its native host (workers.wa.host): spawn, call with a deadline,
observe death; when to respawn is workers.wa.host_restarts' (the shared child state machine).

The wa-worker never imports neonize; the host is forked by the wa-worker's host forker
(workers.wa.host_forker), or without one a fresh interpreter started with subprocess: never a
fork of a process that loaded Go. Its stderr is relayed to the log
line by line and the last lines are kept, so a host that dies mid-call turns into a
HostCrashed naming the signal or exit code and carrying the Go panic text.

Spawn only from the main thread: PR_SET_PDEATHSIG, which takes the host down with the
wa-worker, fires when the *thread* that spawned the host ends.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from loguru import logger
from pydantic import BaseModel, SecretStr

from wagw import accounts
from wagw.accounts import Account
from wagw.childstate import ChildSpec, State
from wagw.devices import DeviceState, exit_leaving, state_after_exit
from wagw.errors import HostCallError as HostCallError
from wagw.errors import HostCrashed as HostCrashed
from wagw.errors import HostError as HostError
from wagw.errors import HostTimeout as HostTimeout
from wagw.errors import HostUnavailable as HostUnavailable
from wagw.errors import InvalidArguments
from wagw.errors import SlotBanned as SlotBanned
from wagw.errors import SlotLoggedOut as SlotLoggedOut
from wagw.errors import SlotNotPaired as SlotNotPaired
from wagw.errors import SlotReplaced as SlotReplaced
from wagw.exitcodes import ExitCode, fatal_fix
from wagw.logs import ChildOutput
from wagw.whatsapp import backend as backend_errors
from workers.wa.host_forker import ForkedHost, HostForker
from workers.wa.host_restarts import HostRestarts

if TYPE_CHECKING:
    from wagw.config import Settings

HOST_ARGV = [sys.executable, "-m", "workers.wa.host"]
STDERR_LINES = 200  # kept per host for the crash report
REAP_WAIT = 2.0  # seconds to wait for a host whose pipes closed to be reaped


def settings_payload(settings: Settings) -> dict[str, Any]:
    """Settings as JSON-able values, secrets included: they travel over the host's stdin pipe."""
    payload: dict[str, Any] = {}
    for name, value in settings:
        payload[name] = _plain(value)
    return payload


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, BaseModel):
        return {name: _plain(item) for name, item in value}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


# What a job gets while its slot's last host left the device in one of these states.
_WAITING_ERRORS: dict[DeviceState, type[HostError]] = {
    DeviceState.UNPAIRED: SlotNotPaired,
    DeviceState.LOGGED_OUT: SlotLoggedOut,
    DeviceState.STREAM_REPLACED: SlotReplaced,
    DeviceState.TEMPORARY_BAN: SlotBanned,
}
_WAITS_FOR_PAIRING = frozenset({DeviceState.UNPAIRED, DeviceState.LOGGED_OUT, DeviceState.STREAM_REPLACED})


class _Incarnation:
    """One host process, the handle its Child holds. Replies are read by the calling thread
    straight from stdout; a thread reads the events pipe (connection state) and one relays
    stderr."""

    def __init__(self, popen: subprocess.Popen | ForkedHost, events_fd: int, name: str, changed: threading.Condition):
        self.popen = popen
        self.pid = popen.pid
        self.name = name
        self.changed = changed
        self.state = DeviceState.STARTING
        self.paired: bool | None = None
        self.jid: str | None = None
        self.error: str | None = None
        self.ever_connected = False
        self.killed = False  # by us: its exit needs no report
        self.stdout_ended = False  # a reply read found the pipe closed: the host is gone
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self.events_closed = threading.Event()
        self.stderr_closed = threading.Event()
        self.returncode: int | None = None
        assert popen.stdin and popen.stdout and popen.stderr  # spawned with three pipes
        self.stdin: IO[bytes] = popen.stdin
        self.stdout: IO[bytes] = popen.stdout
        self.stderr_pipe: IO[bytes] = popen.stderr
        self._events = os.fdopen(events_fd, "rb")
        self._stdout_fd = self.stdout.fileno()
        self._buffer = bytearray()
        self._poller = select.poll()
        self._poller.register(self._stdout_fd, select.POLLIN)
        threading.Thread(target=self._read_events, name=f"host-{self.pid}-events", daemon=True).start()
        threading.Thread(target=self._read_stderr, name=f"host-{self.pid}-err", daemon=True).start()

    @property
    def alive(self) -> bool:
        return not self.events_closed.is_set() and self.popen.poll() is None

    @property
    def connected(self) -> bool:
        return self.state is DeviceState.CONNECTED and self.alive

    def read_reply(self, request_id: int, deadline: float | None) -> dict | None:
        """The reply to `request_id`; None when the host is gone; TimeoutError at the deadline."""
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                try:
                    message = json.loads(line)
                except ValueError:
                    logger.error("native host pid {} wrote a non-protocol line: {!r}", self.pid, line[:200])
                    continue
                if message.get("id") == request_id:
                    return message
                continue
            timeout_ms = None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                timeout_ms = math.ceil(remaining * 1000)
            if not self._poller.poll(timeout_ms):
                continue
            chunk = os.read(self._stdout_fd, 1 << 16)
            if not chunk:
                self.stdout_ended = True
                return None
            self._buffer += chunk

    def _notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def _read_events(self) -> None:
        try:
            for raw in self._events:
                try:
                    message = json.loads(raw)
                    if message.get("event") != "state":
                        continue
                    self.state = DeviceState(message.get("state"))
                except ValueError:  # a garbled line, or a state this version does not know
                    continue
                self.paired = message.get("paired", self.paired)
                self.jid = message.get("jid") or self.jid
                self.error = message.get("error")
                self.ever_connected |= self.state is DeviceState.CONNECTED
                self._notify()
        except (OSError, ValueError):
            pass
        finally:
            self.events_closed.set()  # the host is gone (or going)
            self._notify()

    def _read_stderr(self) -> None:
        output = ChildOutput(self.name)  # keeps a whole Go trace at ERROR, not just its first line
        try:
            for raw in self.stderr_pipe:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.stderr.append(line)
                output.relay(line)
        except (OSError, ValueError):
            pass
        finally:
            self.stderr_closed.set()

    # The process handle (wagw.childstate.ProcessHandle) ---------------------------------
    def poll(self) -> int | None:
        """The exit status once the host is gone (reaped, with its last stderr lines), else None."""
        if self.returncode is None and self.alive and not self.stdout_ended:
            return None
        return self.reap()

    def send_signal(self, sig: int) -> None:
        """SIGKILL kills; the stop signal closes stdin, on which the host exits by itself."""
        if sig == signal.SIGKILL:
            self.kill()
            return
        with contextlib.suppress(OSError):
            self.stdin.close()

    def reap(self) -> int:
        """Wait for the exit status and for the last stderr lines (the panic text)."""
        if self.returncode is not None:
            return self.returncode
        try:
            returncode = self.popen.wait(REAP_WAIT)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            returncode = self.popen.wait()
        self.stderr_closed.wait(REAP_WAIT)
        self.events_closed.wait(REAP_WAIT)
        for stream in (self.stdin, self.stdout, self.stderr_pipe, self._events):
            with contextlib.suppress(OSError):
                stream.close()
        self.returncode = returncode
        return returncode

    def kill(self) -> int:
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            self.popen.kill()
        return self.reap()


class HostClient:
    """Owns the native host of one wa-worker slot; its restarts are HostRestarts' decisions."""

    def __init__(
        self,
        settings: Settings,
        slot: int,
        *,
        argv: list[str] | None = None,
        account: Account | None = None,
        forker: HostForker | None = None,
    ):
        self.settings = settings
        self.slot = slot
        self.account = account or accounts.find(settings, None)
        self.role = self.account.worker_role(slot)
        self.name = self.account.host_process(slot)
        self.argv = argv or HOST_ARGV
        self.forker = forker if self.argv == HOST_ARGV else None  # forks only the real host
        self._changed = threading.Condition()
        self._host: _Incarnation | None = None  # the live one, until its exit is noticed
        self._restarts = HostRestarts(ChildSpec(self.name, self.argv, ready=self._connected_once), self)
        self._ids = itertools.count(1)
        self.last_exit: str | None = None
        self.last_error: str | None = None  # the last error a host reported before it exited
        self.spawns = 0
        self._last_paired: bool | None = None
        self._last_jid: str | None = None
        # Whether the current (or last) call's request was handed to the backend: only known
        # for calls made with acknowledge=True (the host says so before calling); False
        # means it certainly was not.
        self.reached = False

    @property
    def state(self) -> DeviceState:
        """While no host runs: OFFLINE (one starts again by itself), TEMPORARY_BAN (one starts
        after the long pause), the state the last host's exit left (UNPAIRED, LOGGED_OUT,
        STREAM_REPLACED: none starts until `wagw pair`) or STOPPED."""
        child = self._restarts.child
        if child.state is State.FATAL:
            return state_after_exit(child.last_exit) or DeviceState.UNPAIRED
        if self._restarts.banned:
            return DeviceState.TEMPORARY_BAN
        return DeviceState.STOPPED if child.state is State.STOPPED else DeviceState.OFFLINE

    @property
    def retry_at(self) -> float | None:
        """While temporarily banned: when the next host starts (unix time)."""
        if not self._restarts.banned:
            return None
        return self._restarts.wall() + self._restarts.next_start - self._restarts.clock.now()

    def _connected_once(self) -> bool:
        """The host's readiness: it has connected to WhatsApp."""
        host = self._host
        return host is not None and host.ever_connected

    # Lifecycle (main thread only) -----------------------------------------------------
    def start(self) -> None:
        with self._changed:
            self._restarts.start()

    def maintain(self) -> None:
        """Between jobs: notice a dead host and respawn it once its backoff has passed."""
        with self._changed:
            self._advance()
            if self._host is None:
                self._restarts.recheck_idle()

    def stop(self, grace: float = 5.0) -> None:
        """Close the host's stdin (it exits on EOF), then kill it if it lingers."""
        with self._changed:
            host, self._host = self._host, None
            self._restarts.stop(grace)
        if host is None:
            return
        try:
            host.popen.wait(grace)
        except subprocess.TimeoutExpired:
            logger.warning("native host pid {} did not exit within {:g} s: killing it", host.pid, grace)
        host.kill()
        with self._changed:
            self._restarts.stopped()

    @property
    def waiting_for_pairing(self) -> bool:
        """No host runs because the last one found the slot unpaired, logged out or replaced
        (noticed or not yet): only `wagw pair` (or, unpaired, a fresh look) starts one."""
        host = self._host
        if host is not None:
            return not host.alive and host.state in _WAITS_FOR_PAIRING
        return self._restarts.waiting_for_pairing

    def pairing_recorded(self, at: float) -> bool:
        """`wagw pair` linked this slot at `at` (unix time). If the slot waits for keys and its
        last host started before that, the next maintain() starts a fresh host at once
        instead of after NOT_PAIRED_IDLE_RECHECK. True if it will. Main thread only."""
        with self._changed:
            self._notice()
            return self._host is None and self._restarts.pairing_recorded(at)

    def wait_changed(self, timeout: float) -> None:
        """Block until the host's state changes (or it dies), at most `timeout` seconds."""
        with self._changed:
            self._changed.wait(timeout)

    @property
    def pid(self) -> int | None:
        host = self._host
        return host.pid if host is not None else None

    def status(self) -> dict[str, Any]:
        """For the device status heartbeat; safe to call from any thread. Between hosts (a
        crash, a respawn) pairing and JID are the last ones a host reported."""
        host = self._host
        if host is not None and host.paired is not None:
            self._last_paired = host.paired
        if host is not None and host.jid:
            self._last_jid = host.jid
        if host is None:
            state = self.state
            paired = False if state in (DeviceState.UNPAIRED, DeviceState.LOGGED_OUT) else self._last_paired
            return {
                "state": state,
                "paired": paired,
                "connected": False,
                "jid": self._last_jid,
                "pid": None,
                "last_exit": self.last_exit,
                "retry_at": self.retry_at,
            }
        paired = host.paired if host.paired is not None else self._last_paired
        return {
            "state": host.state,
            "paired": paired,
            "connected": host.connected,
            "jid": host.jid or self._last_jid,
            "pid": host.pid,
            "last_exit": self.last_exit,
            "retry_at": None,
        }

    # Calls ----------------------------------------------------------------------------
    def call(
        self,
        operation: str,
        params: dict[str, Any],
        *,
        deadline: float | None,
        connect_wait: float,
        acknowledge: bool = False,
        before_write: Callable[[], None] | None = None,
    ) -> Any:
        """Run one call in the host; `deadline` is a time.monotonic() value (None: no bound).

        With `acknowledge`, the host says when it hands the request to the backend, and
        `self.reached` tells afterwards whether it did (for sends: wagw.operations).
        `before_write` runs once the host is connected, right before the request is written
        to it (an exception there fails the call before anything left).

        Raises HostCrashed, HostTimeout, SlotNotPaired, HostUnavailable, a wagw BackendError
        (an ordinary failure reported by the backend), InvalidArguments (the backend found the
        arguments unusable, e.g. an image that does not decode) or HostCallError.
        """
        self.reached = False
        host = self._connected_host(deadline, connect_wait)
        request_id = next(self._ids)
        request: dict[str, Any] = {"id": request_id, "op": operation, "params": params}
        if acknowledge:
            request["ack"] = True
        line = json.dumps(request) + "\n"
        if before_write is not None:
            before_write()
        answered = False
        try:
            try:
                host.stdin.write(line.encode())
                host.stdin.flush()
            except (OSError, ValueError):
                pass  # the host is dying: reading its reply reports it
            try:
                reply = host.read_reply(request_id, deadline)
                while reply is not None and reply.get("calling"):
                    self.reached = True
                    reply = host.read_reply(request_id, deadline)
            except TimeoutError:
                answered = True  # _timed_out replaces the host itself
                raise self._timed_out(host, operation) from None
            answered = True
            if reply is None:
                raise self._crashed(host, operation)
            return self._result(reply)
        finally:
            if not answered:
                # Interrupted (RQ's job timeout alarm, a signal): the call's state in the host is
                # unknown, so that host must not take another call.
                self._replace(host, f"{operation} was interrupted")

    def _result(self, reply: dict) -> Any:
        if reply.get("ok"):
            return reply.get("result")
        error = reply.get("error") or {}
        kind, message = error.get("type", "Error"), error.get("message", "")
        if error.get("invalid"):
            raise InvalidArguments(message)  # permanent: the wa-worker does not retry it
        error_class = getattr(backend_errors, kind, None)
        if (
            error.get("backend")
            and isinstance(error_class, type)
            and issubclass(error_class, backend_errors.BackendError)
        ):
            raise error_class(message)
        detail = f"\n{error['traceback']}" if error.get("traceback") else ""
        raise HostCallError(f"native host raised {kind}: {message}{detail}")

    def _timed_out(self, host: _Incarnation, operation: str) -> HostTimeout:
        logger.warning("{} on native host pid {} passed its deadline: killing the host", operation, host.pid)
        self._replace(host, "deadline")
        return HostTimeout(
            f"{operation} did not finish within the job timeout: killed its native host (pid {host.pid})"
        )

    def _crashed(self, host: _Incarnation, operation: str) -> HostCrashed:
        with self._changed:
            self._notice(during=operation)
            crash = HostCrashed(self.slot, operation, host.pid, host.reap(), list(host.stderr))
            self._restarts.start_due()  # warm for the retry
        return crash

    def _replace(self, host: _Incarnation, why: str) -> None:
        if host.alive:
            logger.warning("killing native host pid {} ({})", host.pid, why)
        host.kill()
        with self._changed:
            self._advance()

    def _connected_host(self, deadline: float | None, connect_wait: float) -> _Incarnation:
        start = time.monotonic()
        wait_until = start + connect_wait if deadline is None else min(start + connect_wait, deadline)
        rechecked = False
        with self._changed:
            while True:
                self._advance()
                host = self._host
                now = time.monotonic()
                if host is None and self._restarts.waiting_for_pairing:
                    # The slot may have been paired since: a fresh host looks, unless one just
                    # did, or only `wagw pair` can help and it has not run since.
                    if rechecked or not self._restarts.recheck_for_job():
                        raise self._waiting()
                    rechecked = True
                elif host is None and self._restarts.banned:
                    raise self._waiting()  # no host for a long while: waiting helps no job
                elif host is not None and host.connected:
                    return host
                if now >= wait_until:
                    break
                wake = wait_until if self._host is not None else min(wait_until, self._restarts.next_start)
                self._changed.wait(max(0.005, wake - now))
        host = self._host
        if host is not None and host.state in _WAITING_ERRORS:
            raise self._waiting(host.state)
        state = host.state if host is not None else self.state
        detail = f"; last exit: {self.last_exit}" if self.last_exit else ""
        # The current host's error, else the one the last host reported before it exited.
        reported = (host.error if host is not None else None) or self.last_error
        error = f"; {reported}" if reported else ""
        raise HostUnavailable(
            f"slot {self.slot}'s native host is not connected after {time.monotonic() - start:.1f} s "
            f"(state: {state}{error}{detail})"
        )

    def _waiting(self, state: DeviceState | None = None) -> HostError:
        """The error a job gets while no host will serve it soon: the slot waits for `wagw
        pair` (or the other client to stop), or for a temporary ban's long pause to pass."""
        state = state or self.state
        if state is DeviceState.TEMPORARY_BAN:
            restarts = self._restarts
            left = restarts.next_start - restarts.clock.now()
            when = f"in {max(0.0, left):.0f} s" if restarts.banned else "after a long pause"
            return SlotBanned(
                f"slot {self.slot} ({self.role}): WhatsApp temporarily banned the account; its native host tries "
                f"again {when}; slow down what apps send"
            )
        error = _WAITING_ERRORS.get(state, SlotNotPaired)
        if error is SlotNotPaired:
            return SlotNotPaired(f"slot {self.slot} is not paired: run `wagw pair --role {self.role}`")
        return error(f"slot {self.slot} ({self.role}): {fatal_fix(exit_leaving(state), self.role)}")

    # Spawning and burying (caller holds self._changed) -------------------------------
    def _advance(self) -> None:
        """Notice a dead host, and start the next one if its backoff has passed."""
        self._notice()
        self._restarts.start_due()

    def _notice(self, during: str | None = None) -> None:
        host = self._host
        code = self._restarts.look()
        if code is not None and host is not None:
            self._bury(host, code, during)

    def spawn(self, spec: ChildSpec) -> _Incarnation:
        """Start a host (the launcher of its Child): the hello, settings included, goes over stdin."""
        extra_env = {"WAGW_LOG_WIRE": "1", "WAGW_PROCESS_NAME": self.name, "PYTHONUNBUFFERED": "1"}
        forked = self._fork(extra_env)
        popen: subprocess.Popen | ForkedHost
        popen, events_read, events_fd = forked if forked is not None else self._spawn_cold(spec, extra_env)
        hello = {
            "slot": self.slot,
            "account": self.account.name,
            "parent": os.getpid(),
            "events_fd": events_fd,
            "settings": settings_payload(self.settings),
        }
        host = self._host = _Incarnation(popen, events_read, self.name, self._changed)
        try:
            host.stdin.write(json.dumps(hello).encode() + b"\n")
            host.stdin.flush()
        except OSError:
            pass  # died at once: the reader threads report it
        self.spawns += 1
        logger.info("started native host pid {} for slot {}{}", popen.pid, self.slot, " (forked)" if forked else "")
        return host

    def _fork(self, extra_env: dict[str, str]) -> tuple[ForkedHost, int, int] | None:
        if self.forker is None:
            return None
        return self.forker.fork(self.name, extra_env, owned=self._live_pids())

    def _live_pids(self) -> tuple[int, ...]:
        """The live host's pid, if any: never reaped as a stray by the forker's upkeep."""
        return () if self._host is None else (self._host.pid,)

    def _spawn_cold(self, spec: ChildSpec, extra_env: dict[str, str]) -> tuple[subprocess.Popen, int, int]:
        events_read, events_write = os.pipe()
        try:
            popen = subprocess.Popen(
                spec.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(events_write,),
                env=dict(os.environ, **extra_env),
                # Its own session: a Ctrl+C meant for the wa-worker must not kill a call mid-way;
                # the host dies with the wa-worker through PR_SET_PDEATHSIG and stdin EOF instead.
                start_new_session=True,
            )
        except BaseException:
            os.close(events_read)
            raise
        finally:
            os.close(events_write)
        return popen, events_read, events_write

    def _bury(self, host: _Incarnation, returncode: int, during: str | None) -> None:
        """Record what a dead host left: its exit, pairing, JID and last error."""
        if self._host is host:
            self._host = None
        if self.forker is not None:  # its subreaper: what the host left came here
            self.forker.reap_strays(self._live_pids())
        if host.paired is not None:
            self._last_paired = host.paired
        self._last_jid = host.jid or self._last_jid
        self.last_exit = ExitCode.describe(returncode)
        self.last_error = host.error or self.last_error
        if self._restarts.waiting_for_pairing or self._restarts.banned:
            logger.warning("{}; no native host until then", self._waiting())
            return
        if host.killed:
            return
        where = f"during {during}" if during else "between calls"
        logger.warning(
            "native host pid {} {} {} ({})",
            host.pid,
            "died of" if returncode < 0 else "exited with",
            self.last_exit,
            where,
        )
