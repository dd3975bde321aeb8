"""Per-endpoint lanes inside one webhook worker: what keeps endpoints out of each other's way.

Each configured endpoint gets its own threads, its own cap on deliveries waiting for it, and its
own circuit breaker:

- a lane runs as many of its threads at once as its endpoint's request time calls for: one
  per THREAD_LATENCY of it, at least MIN_THREADS, at most THREADS. An endpoint that answers
  in a millisecond is kept busy by two threads, and more would only wait for each other
  (and for Python's GIL, with the worker's other threads): CPU spent handing it over, not
  sending. A slow endpoint (tens of milliseconds, or a request already running long) gets
  all THREADS;
- a slow endpoint fills only its own threads; once it holds MIN_HELD deliveries that would
  wait longer than MAX_WAIT, further ones are *deferred* (put back in RQ's scheduled registry
  for about as long as the lane needs to work off what it holds, not counted as an attempt)
  instead of occupying the worker;
- a dead endpoint trips its circuit after a few consecutive failures: while open, its
  deliveries are deferred until it half-opens, without touching the network and without
  spending an attempt (only real requests count), so a failing flood costs bookkeeping only.

Everything here is in-process state: each worker process learns each endpoint on its own.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from workers.webhooks.policy import Outcome, Verdict

THREADS = 8  # concurrent requests to one endpoint from one worker process, at most
MIN_THREADS = 2  # running at once however fast the endpoint answers
THREAD_LATENCY = 0.002  # seconds of request time that call for one more thread running at once
WATCH = 0.05  # seconds between checks, by a thread held back, of a lane's request times
MAX_WAIT = 5.0  # seconds a delivery may expect to wait in its lane
MIN_HELD = 64  # a lane holding fewer deliveries than this is never "saturated"
LATENCY_PRIOR = 0.05  # assumed request time of an endpoint not measured yet
RATE_WINDOW = 0.5  # seconds over which a lane's completion rate is measured
CIRCUIT_FAILURES = 5  # consecutive retryable failures that open the circuit
CIRCUIT_BASE = 2.0  # first open period, seconds; doubles while probes keep failing
CIRCUIT_MAX = 60.0
# A saturated lane puts a delivery back for about its expected wait, within these bounds
# (seconds, before jitter): a stalled endpoint is tried again at least every ~30 s, and a
# backlog released at once (a circuit closing, a restart) comes back spread, not parked.
DEFER_MIN = 1.0
DEFER_MAX = 20.0


class Lane:
    def __init__(self, on_done: Callable[[Any], None], threads: int = THREADS) -> None:
        self.threads = threads
        self._on_done = on_done
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._waiting: deque[tuple[Any, Callable[[Any], None]]] = deque()
        self._workers: list[threading.Thread] = []
        self._idle = 0  # threads waiting for work
        self._closed = False
        self.pending = 0  # submitted, not finished
        self._running: dict[int, float] = {}  # thread id -> when its current request started
        self._latency = LATENCY_PRIOR  # moving average of request times
        self._rate = 0.0  # completions per second, last full window
        self._window_start = time.monotonic()
        self._window_count = 0
        self._failures = 0
        self._last_failure = ""
        self._trips = 0
        self._open_until = 0.0

    # ---- capacity -----------------------------------------------------------------------------

    def _oldest(self, clock: float) -> float:
        return clock - min(self._running.values()) if self._running else 0.0

    def expected_wait(self) -> float:
        """Seconds a delivery submitted now would wait in this lane (lock held): what it holds
        divided by the better of its measured completion rate and threads / request time,
        where a request already running longer than the average counts as the request time."""
        clock = time.monotonic()
        elapsed = clock - self._window_start
        # The window in progress, once long enough, replaces the last one: a lane that
        # stopped completing anything must not live on its old rate.
        measured = self._rate if elapsed < RATE_WINDOW else self._window_count / elapsed
        rate = max(measured, self.threads / max(self._latency, self._oldest(clock), 1e-3))
        return self.pending / rate

    def running_wanted(self) -> int:
        """How many of its threads this lane runs at once now (lock held): one per
        THREAD_LATENCY of its request time (or of the request running longest)."""
        slowest = max(self._latency, self._oldest(time.monotonic()))
        return max(min(MIN_THREADS, self.threads), min(self.threads, math.ceil(slowest / THREAD_LATENCY)))

    def try_submit(self, item: Any, send: Callable[[Any], None]) -> bool:
        """Run send(item) on this lane's threads, then on_done(item); False when saturated."""
        with self._lock:
            if self.pending >= MIN_HELD and self.expected_wait() > MAX_WAIT:
                return False
            self.pending += 1
            self._waiting.append((item, send))
            if self._idle:
                if len(self._running) < self.running_wanted():
                    self._wake.notify()
            else:
                self._hold_one_back()
        return True

    def _hold_one_back(self) -> None:
        """A thread more than the lane runs, once all are busy (lock held): held back, it
        watches whether a request running long calls for it. Without one, deliveries waiting
        behind requests that hang would wait for the next submit."""
        if self._idle or len(self._workers) >= self.threads:
            return
        # Daemon: a request still on the wire when the worker exits (after its shutdown
        # grace) is left to RQ's abandoned-job handling, not waited for.
        name = f"webhook-lane_{len(self._workers)}"
        worker = threading.Thread(target=self._work, name=name, daemon=True)
        self._workers.append(worker)
        worker.start()

    def _work(self) -> None:
        """A lane thread: takes the oldest delivery waiting while the lane wants another request
        running, sends it, and on_done."""
        me = threading.get_ident()
        with self._lock:
            while True:
                while not self._waiting or len(self._running) >= self.running_wanted():
                    if self._closed and not self._waiting:
                        return
                    self._idle += 1
                    # Held back with work waiting: look again soon (a request running long
                    # calls for more threads); else until woken.
                    self._wake.wait(WATCH if self._waiting else None)
                    self._idle -= 1
                item, send = self._waiting.popleft()
                started = self._running[me] = time.monotonic()
                if self._waiting:
                    self._hold_one_back()
                self._lock.release()
                try:
                    self._run(item, send, started)
                except Exception:  # send and on_done report their own failures: the thread goes on
                    pass
                finally:
                    self._lock.acquire()

    def _run(self, item: Any, send: Callable[[Any], None], started: float) -> None:
        me = threading.get_ident()
        try:
            send(item)
        finally:
            with self._lock:
                clock = time.monotonic()
                self._running.pop(me, None)
                self._latency = 0.8 * self._latency + 0.2 * (clock - started)
                self.pending -= 1
                self._window_count += 1
                if clock - self._window_start >= RATE_WINDOW:
                    self._rate = self._window_count / (clock - self._window_start)
                    self._window_start, self._window_count = clock, 0
            self._on_done(item)

    def defer_delay(self) -> float:
        """How long to put back a delivery this saturated lane cannot take now: about the time
        it needs to work off what it holds. Not a streak that doubles per deferral: a batch of
        a hundred deferred at once would push most of them minutes out."""
        with self._lock:
            wait = self.expected_wait()
        return min(DEFER_MAX, max(DEFER_MIN, wait)) * random.uniform(0.5, 1.5)

    # ---- circuit breaker ------------------------------------------------------------------------

    def record(self, outcome: Outcome) -> None:
        verdict = outcome.verdict
        with self._lock:
            if verdict is Verdict.RETRY:
                self._failures += 1
                self._last_failure = outcome.describe()
                if self._failures >= CIRCUIT_FAILURES and time.monotonic() >= self._open_until:
                    period = min(CIRCUIT_MAX, CIRCUIT_BASE * 2**self._trips)
                    self._trips += 1
                    self._open_until = time.monotonic() + period
            else:
                # Any answer other than a retryable one shows the endpoint is up.
                self._failures = 0
                self._trips = 0
                self._open_until = 0.0

    def circuit_open_for(self) -> float:
        """Seconds the circuit stays open, 0 when closed (or half-open: probing again)."""
        with self._lock:
            return max(0.0, self._open_until - time.monotonic())

    def close(self, wait: bool = True) -> None:
        """Its threads end once what the lane holds is sent (wait: until they have)."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
        joined = 0
        while wait:
            # A thread may start another while it works off what is left: join until the
            # list stops growing (only a live thread of this lane appends to it).
            with self._lock:
                workers = self._workers[joined:]
            if not workers:
                return
            for worker in workers:
                worker.join()
            joined += len(workers)
