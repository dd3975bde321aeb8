"""The supervisor loop: start in order, watch, restart by policy, stop in reverse order."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from collections import deque
from collections.abc import Callable
from itertools import groupby
from typing import TYPE_CHECKING

from loguru import logger
from redis.exceptions import RedisError

from wagw import __version__, crashes, devices, keys, metrics
from wagw.exitcodes import LONG_BACKOFF_EXITS, PAIRING_FIXES, ExitCode, fatal_fix
from wagw.supervisor import orphans
from wagw.supervisor.forking import FORK_SERVER
from wagw.supervisor.notify import Notifier
from wagw.supervisor.osapi import Clock
from wagw.supervisor.state import Child, ChildSpec, State
from wagw.supervisor.terminal import TerminalPairing, should_offer, unpaired_roles

if TYPE_CHECKING:
    from wagw.supervisor.devicerequests import DeviceRequests
    from wagw.supervisor.reconcile import AccountWatch

STATUS_TTL = 5  # seconds: a supervisor that stops publishing shows as dead this soon
FATAL_SHOWN = 3  # fatal children named in the status line; `wagw status` lists them all
REDIS_GRACE = 5.0
MIN_TIER_GRACE = 1.0  # a tier after a stubborn one still gets a moment to stop cleanly
# What the once-a-second Redis steps expect: Redis restarting, full or read-only (RedisError),
# or its socket gone (OSError). Anything else there is a bug, logged with its traceback.
REDIS_AWAY = (RedisError, OSError)


class Supervisor:
    def __init__(
        self,
        children: list[Child],
        *,
        clock: Clock,
        grace: float,
        notifier: Notifier | None = None,
        status_redis=None,
        tick: float = 0.05,
        sleep=time.sleep,
        pairing: TerminalPairing | None = None,
        wall=time.time,
        status_key: str = keys.SUPERVISOR_STATUS,
        accounts: list[str] | None = None,
        watch: AccountWatch | None = None,
        make_child: Callable[[ChildSpec], Child] | None = None,
        crash_days: float = 30.0,
        device_requests: DeviceRequests | None = None,
        subreaper: bool = False,
    ) -> None:
        self.status_key = status_key
        self.crash_days = crash_days  # retention of crash records (WAGW_CRASH_DAYS)
        self.accounts = accounts or []
        # `wagw accounts add|remove` while running: children come and go without a restart.
        self.watch = watch
        self.make_child = make_child
        self.leaving: list[Child] = []  # a removed account's children, until they are gone
        self.children = children
        self.clock = clock
        self.grace = grace
        self.notifier = notifier or Notifier()
        self.status_redis = status_redis
        self.tick_seconds = tick
        self.sleep = sleep
        self.signals: deque[int] = deque()
        self.rolling: deque[Child] = deque()
        self.rolling_begun = False
        self.started_at = time.time()
        self.shutting_down = False
        self._last_states = {child.name: child.state for child in children}
        self._ready_sent = False
        self._next_publish = 0.0
        self._next_watchdog = 0.0
        # First contact (wagw.supervisor.terminal): set only when there is a terminal to ask.
        self.pairing = pairing
        self.pairing_offered = False
        self.wall = wall  # unix time, to compare with when `wagw pair` linked a device
        # Pairing, logout and reconnect asked for by the HTTP API (wagw.supervisor.devicerequests).
        self.device_requests = device_requests
        # Orphans of the tree are this process's to reap (wagw.supervisor.orphans).
        self.subreaper = subreaper

    # Signals only record what arrived; the loop acts on them.
    def _on_signal(self, signum: int, _frame) -> None:
        self.signals.append(signum)

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)

    # ---------------------------------------------------------------------------------------
    def run(self) -> int:
        self.install_signal_handlers()
        logger.info(
            "wagw {} supervisor starting (pid {}): {}",
            __version__,
            os.getpid(),
            ", ".join(child.name for child in self.children),
        )
        code = self._start_all()
        if code is None:
            code = self._watch()
        return self._stop_all(code)

    def _start_all(self) -> int | None:
        for child in self.children:
            if self._wants_stop():
                return ExitCode.OK
            child.start()
            self._observe()
            # The fork server is waited for by the first child it forks, and a server that
            # fails only means cold starts (wagw.supervisor.forking).
            if child.spec.ready is not None and child.name != FORK_SERVER:
                # Everything after a ready-gated child (Redis) depends on it.
                while child.state is State.STARTING:
                    if self._wants_stop():
                        return ExitCode.OK
                    self._step()
                if child.state is not State.RUNNING:
                    logger.error("{} did not become ready; giving up", child.name)
                    return ExitCode.FAILURE
        return None

    def _watch(self) -> int:
        while True:
            if self._wants_stop():
                return ExitCode.OK
            self._step()
            redis = self._child("redis")
            if redis is not None and redis.state is State.FATAL:
                logger.error("embedded redis is fatal: {}; stopping", redis.fatal_reason)
                return ExitCode.FAILURE
            self._advance_rolling_restart()
            if not self._ready_sent and all(c.state in (State.RUNNING, State.FATAL) for c in self.children):
                self._ready_sent = True
                self._publish()
                self.notifier.ready(self._status_line())
                logger.info("all children started: {}", self._status_line())

    def _wants_stop(self) -> bool:
        while self.signals:
            signum = self.signals.popleft()
            if signum == signal.SIGHUP:
                logger.info("SIGHUP: restarting children one by one")
                self.rolling = deque(c for c in self.children if c.name != "redis")
                self.rolling_begun = False
            else:
                logger.info("{}: stopping gracefully (send again to force)", signal.Signals(signum).name)
                return True
        return False

    def _step(self) -> None:
        for child in self.children:
            child.tick(shutting_down=self.shutting_down)
        for child in self.leaving:
            child.tick(shutting_down=True)
        self.leaving = [child for child in self.leaving if child.alive]
        self._observe()
        now = self.clock.now()
        ended = self.pairing is not None and self.pairing.running and self.pairing.poll() is not None
        if ended and not self.shutting_down:
            self._revive_paired()  # it just wrote its pairings: no need to wait for the next look
        if now >= self._next_publish:
            self._next_publish = now + 1.0
            self._publish()
            if self.subreaper:
                orphans.reap(self._started_pids())
            if not self.shutting_down:
                self._reconcile()
                self._revive_paired()
                self._offer_pairing()
                self._device_requests()
        if self.notifier.watchdog_interval and now >= self._next_watchdog:
            self._next_watchdog = now + self.notifier.watchdog_interval
            self.notifier.watchdog()
        self.sleep(self.tick_seconds)

    def _advance_rolling_restart(self) -> None:
        if not self.rolling:
            return
        child = self.rolling[0]
        if not self.rolling_begun:
            child.restart(self.grace)
            self.rolling_begun = True
        elif child.state in (State.RUNNING, State.FATAL, State.BACKOFF) and not child.restart_requested:
            self.rolling.popleft()
            self.rolling_begun = False

    def _observe(self) -> None:
        """Log state changes and record unexpected exits."""
        for child in self.children:
            before = self._last_states[child.name]
            if child.state is before:
                continue
            self._last_states[child.name] = child.state
            detail = ""
            if child.state in (State.STARTING, State.RUNNING):
                detail = f" (pid {child.process.pid})"
            elif child.state in (State.BACKOFF, State.FATAL, State.STOPPED):
                detail = f" ({ExitCode.describe(child.last_exit)})"
            if child.state is State.FATAL:
                fix = fatal_fix(child.last_exit, child.spec.device_role)
                reason = f"{child.fatal_reason}; {fix}" if fix else child.fatal_reason
                logger.error("{}: {} -> fatal{}: {}", child.name, before.value, detail, reason)
            elif child.state is State.BACKOFF:
                delay = max(0.0, child.backoff_until - self.clock.now())
                logger.warning("{}: {} -> backoff{}, restarting in {:.2f}s", child.name, before.value, detail, delay)
            else:
                logger.info("{}: {} -> {}{}", child.name, before.value, child.state.value, detail)
            if child.state in (State.BACKOFF, State.FATAL) and not self.shutting_down and not _device_exit(child):
                self._record_crash(child)
            if child.state is State.STARTING and before is State.BACKOFF and self.status_redis is not None:
                metrics.incr(self.status_redis, "process_restarts", process=child.name)

    # Accounts added or removed while running ---------------------------------------------
    def _reconcile(self) -> None:
        if self.watch is None or self.make_child is None or not self.watch.changed():
            return
        try:
            desired = self.watch.desired()
        except ValueError as error:  # a hand-edited accounts file: keep what runs
            logger.error("accounts not changed: {}", error)
            return
        wanted = {spec.name for spec in desired}
        for child in [c for c in self.children if c.spec.account is not None and c.name not in wanted]:
            logger.info("{}: account {} was removed; stopping it", child.name, child.spec.account)
            child.stop(self.grace)
            self.children.remove(child)
            self.leaving.append(child)
            del self._last_states[child.name]
        running = {child.name for child in self.children}
        for spec in desired:
            if spec.account is None or spec.name in running:
                continue
            child = self.make_child(spec)
            self.children.append(child)
            self._last_states[child.name] = child.state
            logger.info("{}: account {} was added; starting it", child.name, spec.account)
            child.start()
        self.accounts = list(dict.fromkeys(spec.account for spec in desired if spec.account))
        self._ready_sent = False  # READY again once the newcomers have started

    # Devices paired while running ----------------------------------------------------------
    def _started_wall(self, child: Child) -> float:
        """When (unix time) the child's current or last process was started."""
        return self.wall() - (self.clock.now() - child.started_at)

    def _revive_paired(self) -> None:
        """Start again a child that gave up for want of a paired device (exit 80-82, fatal)
        once `wagw pair` has linked its role after that child last started."""
        waiting = [
            child
            for child in self.children
            if child.state is State.FATAL and child.spec.device_role and child.last_exit in PAIRING_FIXES
        ]
        if not waiting or self.status_redis is None:
            return
        try:
            paired = devices.paired_at(self.status_redis, [child.spec.device_role or "" for child in waiting])
        except REDIS_AWAY as error:  # Redis restarting: look again next second
            logger.debug("pairings not read: {}", error)
            return
        except Exception:  # a bug: a paired device would never be started again
            logger.exception("pairings not read")
            return
        for child in waiting:
            at = paired.get(child.spec.device_role or "")
            if at is not None and at > self._started_wall(child):
                logger.info("{}: device {} was paired; starting it again", child.name, child.spec.device_role)
                child.restart(self.grace)

    def _device_requests(self) -> None:
        if self.device_requests is None:
            return
        try:
            self.device_requests.step(self.accounts, self.children)
        except REDIS_AWAY as error:  # Redis restarting: the requests wait for the next look
            logger.debug("device requests not read: {}", error)
        except Exception:  # a bug: never the end of the supervisor
            logger.exception("device requests not handled")

    def _offer_pairing(self) -> None:
        """On a terminal, once everything has started: pair what is unpaired, right there."""
        if self.pairing is None or self.pairing_offered or not self._ready_sent or self.status_redis is None:
            return  # nothing to ask, or not yet: no need to read anything
        fatal: dict[str, int | None] = {}
        states: dict[str, str | None] = {}
        try:
            for child in self.children:
                role = child.spec.device_role
                if role and child.state is State.FATAL:
                    fatal[role] = child.last_exit
                elif role and child.state is State.RUNNING:
                    states[role] = devices.read(self.status_redis, role).get("state")
        except REDIS_AWAY as error:
            logger.debug("device states not read: {}", error)
            return
        except Exception:
            logger.exception("device states not read")
            return
        roles = unpaired_roles(fatal, states)
        if should_offer(terminal=True, offered=self.pairing_offered, settled=self._ready_sent, unpaired=roles):
            self.pairing_offered = True
            self.pairing.start(roles)

    # Status ---------------------------------------------------------------------------------
    def _status_line(self) -> str:
        """The counts of each state, then each fatal child and what to do about it (systemd's
        STATUS: `systemctl status wagw` shows it)."""
        counts: dict[str, int] = {}
        for child in self.children:
            counts[child.state.value] = counts.get(child.state.value, 0) + 1
        line = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        fatal = [child for child in self.children if child.state is State.FATAL]
        shown = [f"{child.name} fatal: {_what_to_do(child)}" for child in fatal[:FATAL_SHOWN]]
        if len(fatal) > FATAL_SHOWN:
            shown.append(f"{len(fatal) - FATAL_SHOWN} more fatal: see `wagw status`")
        return "; ".join([line, *shown])

    def snapshot(self) -> dict:
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),  # several hosts can share one Redis
            "version": __version__,
            "started_at": self.started_at,
            "updated": time.time(),
            "state": "stopping" if self.shutting_down else "running",
            "accounts": self.accounts,
            "processes": [child.snapshot() for child in self.children],
        }

    def _publish(self) -> None:
        self.notifier.status(self._status_line())
        if self.status_redis is None:
            return
        try:
            self.status_redis.set(self.status_key, json.dumps(self.snapshot()), ex=STATUS_TTL)
        except REDIS_AWAY as error:  # Redis restarting: status catches up next second
            logger.debug("status not published: {}", error)
            # Redis full or read-only: the last snapshot stays (EXPIRE is still allowed), so
            # `wagw status` goes on showing a running daemon rather than none.
            with contextlib.suppress(*REDIS_AWAY):
                self.status_redis.expire(self.status_key, STATUS_TTL)
        except Exception:
            logger.exception("status not published")

    def _record_crash(self, child: Child) -> None:
        if self.status_redis is None:
            return
        crash = crashes.Crash(
            kind=crashes.PROCESS,
            process=child.name,
            exit=ExitCode.describe(child.last_exit),
            outcome=crashes.FATAL if child.state is State.FATAL else crashes.RESTARTED,
            account=child.spec.account,
            state=child.state.value,
        )
        try:
            crashes.record(self.status_redis, crash, retention_days=self.crash_days)
        except REDIS_AWAY as error:
            logger.debug("crash not recorded: {}", error)
        except Exception:
            logger.exception("crash not recorded")

    def _started_pids(self) -> set[int]:
        """Every process this supervisor started itself and has not reaped through its owner."""
        pids = {child.handle.pid for child in [*self.children, *self.leaving] if child.handle is not None}
        if self.pairing is not None and self.pairing.process is not None:
            pids.add(self.pairing.process.pid)
        if self.device_requests is not None:
            pids.update(self.device_requests.pids())
        return pids

    def _child(self, name: str) -> Child | None:
        return next((c for c in self.children if c.name == name), None)

    # Stopping -------------------------------------------------------------------------------
    def _stop_all(self, code: int) -> int:
        self.shutting_down = True
        if self.pairing is not None:
            self.pairing.stop()
        if self.device_requests is not None:
            self.device_requests.stop()
        self.notifier.stopping()
        self._publish()
        deadline = self.clock.now() + self.grace
        forced = False
        for child in self.leaving:  # still stopping: waited for like the others, their states watched
            self._last_states[child.name] = child.state
        self.children.extend(self.leaving)
        self.leaving = []
        app = sorted((c for c in self.children if c.name != "redis"), key=lambda c: c.spec.stop_tier)
        for _tier, tier_members in groupby(app, key=lambda c: c.spec.stop_tier):
            members = list(tier_members)
            for child in members:
                child.stop(max(MIN_TIER_GRACE, deadline - self.clock.now()))
            forced = self._wait_gone(members, deadline + 5.0, forced)
        self._drop_status()
        redis = self._child("redis")
        if redis is not None:
            redis.stop(REDIS_GRACE)
            self._wait_gone([redis], self.clock.now() + REDIS_GRACE + 5.0, forced)
        leftovers = [c.name for c in self.children if c.alive]
        if leftovers:
            logger.error("still alive after shutdown: {}", ", ".join(leftovers))
            return ExitCode.FAILURE
        logger.info("stopped")
        return code

    def _wait_gone(self, members: list[Child], hard_deadline: float, forced: bool) -> bool:
        while any(c.alive for c in members) and self.clock.now() < hard_deadline:
            if self.signals:
                self.signals.clear()
                if not forced:
                    logger.warning("second signal: killing what is left")
                forced = True
            if forced:
                for child in self.children:
                    if child.name != "redis":
                        child.force()
            self._step()
        return forced

    def _drop_status(self) -> None:
        if self.status_redis is None:
            return
        with contextlib.suppress(Exception):
            self.status_redis.delete(self.status_key)


def _device_exit(child: Child) -> bool:
    """An exit saying what its device waits for (a pairing, the end of a ban): not a crash, it
    shows as the device's state and fix in `wagw status`."""
    return child.last_exit in PAIRING_FIXES or child.last_exit in LONG_BACKOFF_EXITS


def _what_to_do(child: Child) -> str:
    """A fatal child's fix, or why it was given up on and where to read more."""
    fix = fatal_fix(child.last_exit, child.spec.device_role)
    if fix:
        return fix
    return f"{child.fatal_reason or ExitCode.describe(child.last_exit)} — its errors: `journalctl -u wagw -p err`"
