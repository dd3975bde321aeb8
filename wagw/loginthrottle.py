"""A budget of failed logins for the dashboard (and the HTTP API), per client address and in total.

Each client may fail LOGIN_FAILURES_PER_CLIENT times, and all clients together
LOGIN_FAILURES_TOTAL times, within any window of WAGW_DASHBOARD_LOGIN_WINDOW seconds. Past
either budget a login is refused (429, Retry-After) without its password being checked, so
a guess made while locked out cannot tell whether it was right. A right login costs nothing.

Kept in the dashboard's memory, not in Redis: the dashboard is one process (its waitress
threads share this object, under a lock), and nobody who has not logged in may make wagw
write to Redis, whose memory is kept for jobs and events. Memory stays bounded: at most
LOGIN_FAILURES_TOTAL failures are remembered, and each client held belongs to one of them.
Behind a reverse proxy every client has the proxy's address, so the two budgets are one.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from collections.abc import Callable

LOGIN_FAILURES_PER_CLIENT = 10
LOGIN_FAILURES_TOTAL = 50


class LoginThrottle:
    def __init__(
        self,
        window: float,
        per_client: int = LOGIN_FAILURES_PER_CLIENT,
        total: int = LOGIN_FAILURES_TOTAL,
        clock: Callable[[], float] = time.monotonic,
        server: str = "dashboard",
    ) -> None:
        self.server = server  # what log lines call the server whose logins these are
        self.window = window
        self.per_client = per_client
        self.total = total
        self.clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, deque[float]] = {}  # attempts not (yet) known right, per client
        self._all: deque[float] = deque()
        self._reported: set[str | None] = set()  # lockouts already logged (None: the total one)

    def acquire(self, client: str) -> float:
        """0 with one attempt taken from both budgets, or the seconds until `client` may try."""
        with self._lock:
            now = self.clock()
            self._forget(now)
            mine = self._clients.get(client) or deque()
            if len(mine) >= self.per_client:
                return self._refuse(client, mine[0] + self.window - now)
            if len(self._all) >= self.total:
                return self._refuse(None, self._all[0] + self.window - now)
            mine.append(now)
            self._clients[client] = mine
            self._all.append(now)
            return 0.0

    def release(self, client: str) -> None:
        """The attempt `acquire` took was a right login: give it back."""
        with self._lock:
            mine = self._clients.get(client)
            if mine:
                stamp = mine.pop()
                if stamp in self._all:
                    self._all.remove(stamp)
                if not mine:
                    del self._clients[client]

    def _forget(self, now: float) -> None:
        horizon = now - self.window
        while self._all and self._all[0] <= horizon:
            self._all.popleft()
        for client, stamps in list(self._clients.items()):
            while stamps and stamps[0] <= horizon:
                stamps.popleft()
            if not stamps:
                del self._clients[client]
        self._reported = {client for client in self._reported if self._locked(client)}

    def _locked(self, client: str | None) -> bool:
        if client is None:
            return len(self._all) >= self.total
        return len(self._clients.get(client, ())) >= self.per_client

    def _refuse(self, client: str | None, wait: float) -> float:
        if client not in self._reported:  # once per lockout, not per refused request
            self._reported.add(client)
            if client is not None:
                logger.warning(
                    "{}: {} failed logins from {} within {:g} s; its logins are refused for {:.0f} s",
                    self.server,
                    self.per_client,
                    client,
                    self.window,
                    wait,
                )
            else:
                logger.warning(
                    "{}: {} failed logins within {:g} s from all clients; every login is refused for {:.0f} s",
                    self.server,
                    self.total,
                    self.window,
                    wait,
                )
        return max(wait, 0.001)
