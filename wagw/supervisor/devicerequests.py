"""What `wagw run` does for the device requests of the HTTP API (wagw.devicecontrol): once a
second it takes the requests of the accounts it runs, and

- pair: runs `wagw pair --role ROLE --publish ID [--phone NUMBER]` for a role of that account
  (one at a time per role; a second request while one runs is the same pairing), the pairing
  child that may load neonize, as on a terminal (wagw.supervisor.terminal). It publishes the
  QR code or pairing code and the outcome; the supervisor starts the role's process again
  once it is paired (Supervisor._revive_paired);
- logout: logs it, runs `wagw pair --account NAME --role all --logout`, then restarts the
  account's device processes, which find their keys gone and wait for a pairing;
- reconnect: restarts the account's session process (a fresh connection).

A request for a role or account this daemon does not run is dropped with a warning. The
pairing children's output goes to the supervisor's log; the codes themselves never do.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from loguru import logger

from wagw import devicecontrol
from wagw.logs import WIRE_ENV
from wagw.names import SESSION, pairing_name

if TYPE_CHECKING:
    from redis import Redis

    from wagw.childstate import Child

PAIR_TIMEOUT = 180.0  # seconds a pairing for the API waits for the phone
STOP_WAIT = 5.0


class DeviceRequests:
    def __init__(
        self,
        conn: Redis,
        env: Mapping[str, str],
        grace: float,
        argv: list[str] | None = None,
        spawn: Callable[..., subprocess.Popen] = subprocess.Popen,
    ) -> None:
        self.conn = conn
        self.env = {k: v for k, v in env.items() if k != WIRE_ENV}  # plain lines into the log
        self.grace = grace
        self.argv = argv or [sys.executable, "-m", "wagw", "pair"]
        self.spawn = spawn
        self.pairings: dict[str, subprocess.Popen] = {}  # role -> its pairing child
        self.logouts: dict[str, subprocess.Popen] = {}  # account -> its logout child

    def step(self, accounts: list[str], children: list[Child]) -> None:
        """Once a second: reap ended children, then act on the accounts' new requests."""
        self._reap(children)
        for account in accounts:
            requests, dropped = devicecontrol.take(self.conn, account)
            if dropped:
                logger.warning("account {}: {} device request(s) dropped (malformed or expired)", account, dropped)
            for request in requests:
                self._act(request, [c for c in children if c.spec.account == account])

    def _act(self, request: devicecontrol.Request, children: list[Child]) -> None:
        account = request.account
        if request.action == devicecontrol.PAIR:
            roles = {child.spec.device_role for child in children}
            if request.role not in roles:
                logger.warning("account {}: pairing of {} asked for, but it runs no such role", account, request.role)
                return
            self._pair(request)
        elif request.action == devicecontrol.LOGOUT:
            if account in self.logouts:
                return  # the same logout is under way
            logger.warning("account {}: logout asked for through the HTTP API; logging its devices out", account)
            argv = [*self.argv, "--account", account, "--role", "all", "--logout"]
            self.logouts[account] = self.spawn(argv, env={**self.env, "WAGW_PROCESS_NAME": f"logout-{account}"})
        elif request.action == devicecontrol.RECONNECT:
            sessions = [child for child in children if (child.spec.device_role or "").rpartition("/")[2] == SESSION]
            for child in sessions:
                logger.info("{}: reconnect asked for through the HTTP API; restarting it", child.name)
                child.restart(self.grace)

    def _pair(self, request: devicecontrol.Request) -> None:
        role = request.role or ""
        running = self.pairings.get(role)
        if running is not None and running.poll() is None:
            logger.info("{}: a pairing is already under way; the API is shown its codes", role)
            return
        argv = [*self.argv, "--role", role, "--publish", request.id, "--timeout", f"{PAIR_TIMEOUT:g}"]
        if request.phone:
            argv += ["--phone", f"+{request.phone}"]
        logger.info("{}: pairing asked for through the HTTP API ({})", role, "code" if request.phone else "QR code")
        self.pairings[role] = self.spawn(argv, env={**self.env, "WAGW_PROCESS_NAME": pairing_name(role)})

    def _reap(self, children: list[Child]) -> None:
        for role, process in list(self.pairings.items()):
            if process.poll() is not None:
                del self.pairings[role]
        for account, process in list(self.logouts.items()):
            code = process.poll()
            if code is None:
                continue
            del self.logouts[account]
            logger.warning("account {}: logout ended (exit {}); restarting its device processes", account, code)
            for child in children:
                if child.spec.account == account and child.spec.device_role:
                    child.restart(self.grace)

    def pids(self) -> list[int]:
        """The pairing and logout children it started (the supervisor reaps every other)."""
        return [process.pid for process in [*self.pairings.values(), *self.logouts.values()]]

    def stop(self) -> None:
        """wagw is stopping: end the pairing and logout children."""
        for process in [*self.pairings.values(), *self.logouts.values()]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.pairings.values(), *self.logouts.values()]:
            try:
                process.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.pairings.clear()
        self.logouts.clear()
