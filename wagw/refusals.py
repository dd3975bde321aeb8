"""Redis refusing a write: why, in words that never carry the command, and a voice that speaks
at most once per interval.

Past `maxmemory` (noeviction) Redis refuses every command that may grow memory (OOM); a
read-only replica refuses writes (READONLY), a server loading its data refuses everything
(LOADING), a server that cannot persist refuses writes (MISCONF). wagw's processes hold on
and retry instead of dying (docs/operations.md "When Redis is full"). redis-py's message
quotes the failing command with its arguments (a pipeline's "Command # 2 (XADD wagw:events …
{body})"), which can be message text: logs say `reason(error)` instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from loguru import logger
from redis.exceptions import (
    BusyLoadingError,
    ConnectionError,
    ExecAbortError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    TimeoutError,
)

T = TypeVar("T")

# What Redis answers a refused write with, as it appears inside a script's error as well.
_OOM = "OOM command not allowed"
_READONLY = "READONLY"
_MISCONF = "MISCONF"


def is_full(error: BaseException) -> bool:
    """Redis refused a command because its memory is above maxmemory."""
    return isinstance(error, OutOfMemoryError) or (isinstance(error, RedisError) and _OOM in str(error))


def reason(error: BaseException) -> str:
    """Why Redis refused, without the command or its arguments."""
    text = str(error)
    if is_full(error):
        return "Redis is full (used memory above maxmemory)"
    if isinstance(error, ReadOnlyError) or _READONLY in text:
        return "Redis is read-only (a replica)"
    if isinstance(error, BusyLoadingError):
        return "Redis is loading its data"
    if _MISCONF in text:
        return "Redis cannot persist and refuses writes (MISCONF)"
    if isinstance(error, TimeoutError):
        return "Redis did not answer in time"
    if isinstance(error, ConnectionError):
        return "Redis is unreachable"
    if isinstance(error, ExecAbortError):
        return "Redis discarded the transaction"
    return f"Redis refused the command ({type(error).__name__})"


class Every:
    """True at most once per `seconds`: a warning repeated while a condition lasts."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._last = float("-inf")

    def due(self) -> bool:
        now = self.clock()
        if now - self._last < self.seconds:
            return False
        self._last = now
        return True

    def reset(self) -> None:
        self._last = float("-inf")


def until_accepted(
    write: Callable[[], T],
    *,
    what: str,
    stopping: Callable[[], bool],
    pause_cap: float = 1.0,
    warn_every: float = 60.0,
) -> T | None:
    """write() once Redis takes it: while Redis refuses (any RedisError), warn now and then
    and try again, with pauses doubling up to `pause_cap`. None if a stop comes first."""
    pause = 0.05
    warn = Every(warn_every)
    while True:
        try:
            return write()
        except RedisError as error:
            if stopping():
                return None
            if warn.due():
                logger.warning("{}: {}; waiting for Redis to take it", what, reason(error))
            time.sleep(pause)
            pause = min(pause * 2, pause_cap)


class WorkerHoldsOn:
    """Mixed into wagw's rq workers, before the rq class: the writes a worker makes on its own
    (registration, maintenance, unregistration) wait for, or skip, a Redis that refuses them,
    instead of ending the worker (and then every restart of it) with the error."""

    _maintenance_warn = Every(60.0)  # one worker per process

    def refusals_stopping(self) -> bool:
        """A stop request: registration stops waiting for Redis. Workers say how they keep it."""
        return False

    def register_birth(self) -> None:
        def register() -> bool:
            super(WorkerHoldsOn, self).register_birth()  # type: ignore[misc]
            return True

        until_accepted(register, what="worker not registered", stopping=self.refusals_stopping)

    def register_death(self) -> None:
        try:
            super().register_death()  # type: ignore[misc]
        except RedisError as error:
            logger.warning("worker not unregistered: {}; its registration expires by itself", reason(error))

    def run_maintenance_tasks(self) -> None:
        try:
            super().run_maintenance_tasks()  # type: ignore[misc]
        except RedisError as error:
            if self._maintenance_warn.due():
                logger.warning("worker maintenance skipped: {}; trying again later", reason(error))
