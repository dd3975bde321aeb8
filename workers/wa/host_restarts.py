"""When a wa-worker slot's native host runs: one wagw.childstate.Child under the NATIVE_HOST
policy (the state machine every supervised child runs), and the slot's wait for pairing.

Pure logic: the launcher spawns (workers.wa.host_client.HostClient), the clocks tell time, so
unit tests drive every decision with fakes. The host is ready once it has connected. After an
exit that needs the operator (not paired, logged out, stream replaced:
wagw.exitcodes.HOST_FATAL_EXITS) the slot waits, and a fresh host starts:
- at the next idle look or job after `wagw pair` recorded a pairing later than the last host
  started;
- not paired only (HOST_RECHECK_EXITS: a host without keys never reaches WhatsApp): also when
  a job asks, at most every NOT_PAIRED_RECHECK seconds, and every NOT_PAIRED_IDLE_RECHECK
  seconds anyway. A logged-out or replaced device is never tried again by itself.
A temporary ban waits the policy's long backoff (banned).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from wagw.childstate import NATIVE_HOST, Child, ChildSpec, Clock, MonotonicClock, ProcessLauncher, State
from wagw.exitcodes import HOST_RECHECK_EXITS

NOT_PAIRED_RECHECK = 2.0  # a job starts a fresh host to re-check pairing at most this often
NOT_PAIRED_IDLE_RECHECK = 60.0  # between jobs, an unpaired slot re-checks this often


class HostRestarts:
    """The restart decisions for one slot's host. Callers hold the slot's lock."""

    def __init__(
        self,
        spec: ChildSpec,
        launcher: ProcessLauncher,
        *,
        clock: Clock | None = None,
        wall: Callable[[], float] = time.time,  # unix time, in which `wagw pair` records pairings
    ) -> None:
        self.clock = clock or MonotonicClock()
        self.wall = wall
        self.child = Child(spec, NATIVE_HOST, launcher, self.clock)
        self._recheck_at = float("inf")  # while waiting for pairing: when the idle re-check is due

    # Looking ---------------------------------------------------------------------------------
    def look(self) -> int | None:
        """The host's exit status if it has just ended (once per host), else None. Starts
        nothing: start_due() does."""
        if not self.child.alive:
            return None
        self.child.tick(shutting_down=False)
        if self.child.alive:
            return None
        if self.waiting_for_pairing:
            self._recheck_at = self.clock.now() + NOT_PAIRED_IDLE_RECHECK if self.rechecks else float("inf")
        return self.child.last_exit

    def start_due(self) -> bool:
        """Start the next host if its backoff has passed; True if one started."""
        if self.child.state is not State.BACKOFF:
            return False
        self.child.tick(shutting_down=False)
        return self.child.alive

    @property
    def next_start(self) -> float:
        """When the next host starts by itself (clock time; inf: not by itself)."""
        if self.child.state is State.BACKOFF:
            return self.child.backoff_until
        return self._recheck_at if self.waiting_for_pairing else float("inf")

    # The wait for pairing -----------------------------------------------------------------------
    @property
    def waiting_for_pairing(self) -> bool:
        """The last host exited not paired, logged out or replaced (NATIVE_HOST's fatal exits)."""
        return self.child.state is State.FATAL

    @property
    def rechecks(self) -> bool:
        """Waiting for keys the slot may have been given meanwhile (not paired): a fresh host
        looks again by itself."""
        return self.waiting_for_pairing and self.child.last_exit in HOST_RECHECK_EXITS

    @property
    def banned(self) -> bool:
        """The last host exited temporarily banned: the next waits the policy's long backoff."""
        return self.child.state is State.BACKOFF and self.child.last_exit in self.child.policy.long_backoff_exits

    def pairing_recorded(self, at: float) -> bool:
        """`wagw pair` linked the slot at `at` (unix time): if the last host looked at the keys
        before that, the next recheck_idle() or recheck_for_job() starts a fresh one. True if it
        will."""
        started = self.wall() - (self.clock.now() - self.child.started_at)  # unix time
        if not self.waiting_for_pairing or at <= started:
            return False
        self._recheck_at = self.clock.now()
        return True

    def recheck_idle(self) -> bool:
        """Between jobs: start a fresh host to look at the keys again once that is due."""
        if not self.waiting_for_pairing or self.clock.now() < self._recheck_at:
            return False
        return self._recheck()

    def recheck_for_job(self) -> bool:
        """A job wants the host: start a fresh one if a pairing was recorded since the last host
        started, or, not paired, if no host looked at the keys within NOT_PAIRED_RECHECK."""
        if not self.waiting_for_pairing:
            return False
        now = self.clock.now()
        due = now >= self._recheck_at  # a pairing recorded since, or the idle re-check
        looked_lately = now - self.child.started_at < NOT_PAIRED_RECHECK
        if not due and (not self.rechecks or looked_lately):
            return False
        return self._recheck()

    def _recheck(self) -> bool:
        self._recheck_at = float("inf")
        self.child.restart(grace=0.0)
        return True

    # Commands ----------------------------------------------------------------------------------
    def start(self) -> None:
        self.child.start()

    def stop(self, grace: float) -> None:
        """Ask the host to stop (its stop signal closes its stdin); stopped() once it has exited."""
        self.child.stop(grace)

    def stopped(self) -> None:
        self.child.tick(shutting_down=True)
