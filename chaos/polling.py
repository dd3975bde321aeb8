"""Polling with a deadline, for everything that drives wagw from outside (the chaos run, the
tests, the benchmarks): wait for an outcome, never for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Timeout(AssertionError):
    """The deadline passed. An AssertionError: to a test, an outcome that never came is an
    unmet expectation, not an error in the test itself."""


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> T:
    """Poll until predicate() is truthy and return its value; raise Timeout at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise Timeout(f"timed out after {timeout:g}s waiting for {what or repr(predicate)} (last: {last!r})")
        time.sleep(interval)
