"""The one state machine and restart policy for every child process wagw restarts.

The supervisor runs each of its children (redis, scheduler, workers, sessions, …) as a Child;
each wa-worker runs its native host as one too (workers.wa.host_restarts). Pure logic:
processes and time come in through the seam below (ProcessLauncher, Clock), so unit tests
drive it with fakes. Which exits are fatal or wait long is wagw.exitcodes'; the numbers are
the RestartPolicy's, and the policies in use are named at the end of this module.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from wagw.exitcodes import FATAL_EXITS, HOST_FATAL_EXITS, HOST_LONG_BACKOFF_EXITS, LONG_BACKOFF_EXITS, ExitCode

# The seam ------------------------------------------------------------------------------------


class ProcessHandle(Protocol):
    pid: int

    def poll(self) -> int | None:
        """Exit status if the process ended (negative: killed by that signal), else None."""

    def send_signal(self, sig: int) -> None: ...


class ProcessLauncher(Protocol):
    def spawn(self, spec: ChildSpec) -> ProcessHandle: ...


class Clock(Protocol):
    def now(self) -> float: ...


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()


# The state machine ---------------------------------------------------------------------------


class State(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    STOPPING = "stopping"
    FATAL = "fatal"


@dataclass(frozen=True)
class RestartPolicy:
    start_seconds: float = 1.0  # alive this long (or ready) counts as started
    stable_seconds: float = 10.0  # a run this long forgets earlier failures
    max_start_failures: int | None = 5  # consecutive failed starts before fatal; None: never fatal
    # Delay before restart number n (0-based) after a failure; the first is immediate so a
    # killed child is back at once, repeated failures slow down.
    backoff_steps: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
    # Delay after failed start number n (0-based) in a row, when a child that never got ready
    # waits differently from one that ran; None: failed starts count in backoff_steps too.
    failed_start_steps: tuple[float, ...] | None = None
    long_backoff: float = 900.0  # temporary ban: retrying sooner does not help
    fatal_exits: frozenset[int] = FATAL_EXITS  # never retried: restarting cannot fix them
    long_backoff_exits: frozenset[int] = LONG_BACKOFF_EXITS  # retried after long_backoff

    def delay(self, failures: int) -> float:
        return _step(self.backoff_steps, failures)


def _step(steps: tuple[float, ...], n: int) -> float:
    return steps[min(n, len(steps) - 1)]


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # on top of the supervisor's, or alone
    inherit_env: bool = True  # False: `env` alone, nothing of the supervisor's (redis-server)
    stop_tier: int = 2  # lower tiers stop first
    stop_signal: int = signal.SIGTERM
    ready: Callable[[], bool] | None = None  # readiness probe replacing start_seconds
    device_role: str | None = None  # the linked device it holds (session, worker-N), if any
    account: str | None = None  # the account it serves; None for shared processes


@dataclass
class Child:
    spec: ChildSpec
    policy: RestartPolicy
    launcher: ProcessLauncher
    clock: Clock
    state: State = State.STOPPED
    handle: ProcessHandle | None = None
    restarts: int = 0
    last_exit: int | None = None
    started_at: float = 0.0
    backoff_until: float = 0.0
    stop_deadline: float = 0.0
    start_failures: int = 0
    run_failures: int = 0
    spawned_once: bool = False
    restart_requested: bool = False
    fatal_reason: str = ""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return self.handle.pid if self.handle and self.state in _ALIVE else None

    @property
    def alive(self) -> bool:
        return self.state in _ALIVE

    @property
    def process(self) -> ProcessHandle:
        """The process of a live child (starting, running, stopping)."""
        if self.handle is None:
            raise RuntimeError(f"{self.spec.name} has no process ({self.state.value})")
        return self.handle

    # Commands ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.alive:
            return
        if self.spawned_once:
            self.restarts += 1
        self.spawned_once = True
        self.handle = self.launcher.spawn(self.spec)
        self.started_at = self.clock.now()
        self.state = State.STARTING

    def stop(self, grace: float) -> None:
        """Ask the child to stop; tick() kills it at the deadline."""
        if self.state in (State.BACKOFF, State.FATAL):
            self.state = State.STOPPED
        if self.state not in (State.STARTING, State.RUNNING):
            return
        self.process.send_signal(self.spec.stop_signal)
        self.stop_deadline = self.clock.now() + grace
        self.state = State.STOPPING

    def force(self) -> None:
        if self.alive and self.handle is not None:
            self.handle.send_signal(signal.SIGKILL)

    def restart(self, grace: float) -> None:
        """Rolling restart (HUP): stop, then start again without counting a failure."""
        if self.state in (State.FATAL, State.BACKOFF, State.STOPPED):
            self.start_failures = self.run_failures = 0
            self.state = State.STOPPED
            self.start()
            return
        self.restart_requested = True
        self.stop(grace)

    # Driving ------------------------------------------------------------------------------
    def tick(self, *, shutting_down: bool) -> None:
        now = self.clock.now()
        # A readiness probe is asked before the exit is looked at: a child that got ready (a
        # native host that connected) and died since did start.
        probed = self.state is State.STARTING and self.spec.ready is not None
        if probed and self._started(now):
            self._running()
        if self.state in _ALIVE:
            code = self.process.poll()
            if code is not None:
                self._exited(code, now, shutting_down)
                return
        if self.state is State.STARTING and not probed and self._started(now):
            self._running()
        elif self.state is State.STOPPING and now >= self.stop_deadline:
            self.process.send_signal(signal.SIGKILL)
            self.stop_deadline = float("inf")
        elif self.state is State.BACKOFF and now >= self.backoff_until and not shutting_down:
            self.start()

    def _started(self, now: float) -> bool:
        if self.spec.ready is not None:
            return self.spec.ready()
        return now - self.started_at >= self.policy.start_seconds

    def _running(self) -> None:
        self.state = State.RUNNING
        self.start_failures = 0

    def _exited(self, code: int, now: float, shutting_down: bool) -> None:
        self.last_exit = code
        was = self.state
        uptime = now - self.started_at
        if was is State.STOPPING:
            self.state = State.STOPPED
            if self.restart_requested and not shutting_down:
                self.restart_requested = False
                self.start()
            return
        if shutting_down:
            self.state = State.STOPPED
            return
        policy = self.policy
        if code in policy.fatal_exits:
            self._fatal(f"exited with {ExitCode.describe(code)}: not retried")
            return
        if was is State.STARTING:
            self.start_failures += 1
            if policy.max_start_failures is not None and self.start_failures >= policy.max_start_failures:
                self._fatal(f"failed to start {self.start_failures} times in a row")
                return
        if was is State.STARTING and policy.failed_start_steps is not None:
            delay = _step(policy.failed_start_steps, self.start_failures - 1)
        else:
            if uptime >= policy.stable_seconds:
                self.run_failures = 0
            delay = policy.delay(self.run_failures)
            self.run_failures += 1
        if code in policy.long_backoff_exits:
            delay = policy.long_backoff
        self.backoff_until = now + delay
        self.state = State.BACKOFF

    def _fatal(self, reason: str) -> None:
        self.state = State.FATAL
        self.fatal_reason = reason

    def snapshot(self) -> dict:
        return {
            "name": self.name,
            "account": self.spec.account,
            "pid": self.pid,
            "state": self.state.value,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "last_exit_reason": ExitCode.describe(self.last_exit) if self.last_exit is not None else None,
            "fatal_reason": self.fatal_reason or None,
        }


_ALIVE = (State.STARTING, State.RUNNING, State.STOPPING)


# The policies in use ---------------------------------------------------------------------------

# The supervisor's children run with RestartPolicy's defaults.

# A wa-worker's native host (workers.wa.host_restarts), ready once it has connected to
# WhatsApp. One that never connected waits 0.5 s, then twice as long each time up to 30 s, and
# never goes fatal for failing to start (network trouble heals; the worker fails jobs
# meanwhile); one that had connected is replaced at once. Not paired, logged out and stream
# replaced stop it until `wagw pair`; a temporary ban waits long_backoff, as in the
# supervisor: wagw.exitcodes (HOST_*).
NATIVE_HOST = RestartPolicy(
    max_start_failures=None,
    backoff_steps=(0.0,),
    failed_start_steps=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0),
    fatal_exits=HOST_FATAL_EXITS,
    long_backoff_exits=HOST_LONG_BACKOFF_EXITS,
)
