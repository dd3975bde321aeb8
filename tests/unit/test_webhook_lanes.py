"""Per-endpoint lanes: the circuit breaker and the saturation check (pure logic, real threads)."""

from __future__ import annotations

import statistics
import threading
import time

from chaos.polling import wait_for
from workers.webhooks import lanes as webhook_lanes
from workers.webhooks.lanes import Lane
from workers.webhooks.policy import Outcome


def test_circuit_opens_after_consecutive_retryable_failures_and_closes_on_an_answer():
    lane = Lane(lambda item: None)
    for _ in range(webhook_lanes.CIRCUIT_FAILURES - 1):
        lane.record(Outcome(503, 0.01))
    assert lane.circuit_open_for() == 0
    lane.record(Outcome(None, 0.01, error="ConnectError"))
    assert 0 < lane.circuit_open_for() <= webhook_lanes.CIRCUIT_BASE
    # A 4xx is an answer: the endpoint is up.
    lane.record(Outcome(404, 0.01))
    assert lane.circuit_open_for() == 0
    lane.close()


def test_circuit_period_doubles_while_probes_fail(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(webhook_lanes.time, "monotonic", lambda: clock[0])
    lane = Lane(lambda item: None)
    periods = []
    for _ in range(5):
        for _ in range(webhook_lanes.CIRCUIT_FAILURES):
            lane.record(Outcome(500, 0.01))
        periods.append(lane.circuit_open_for())
        clock[0] += periods[-1]  # the period ends: the next delivery probes
    assert periods == [2.0, 4.0, 8.0, 16.0, 32.0]
    lane.record(Outcome(200, 0.01))
    for _ in range(webhook_lanes.CIRCUIT_FAILURES):
        lane.record(Outcome(500, 0.01))
    assert lane.circuit_open_for() == 2.0  # success reset the doubling
    lane.close()


def test_a_slow_lane_stops_taking_work_and_defers_for_its_expected_wait():
    done = []
    release = threading.Event()
    lane = Lane(done.append, threads=2)

    def slow_send(item):
        release.wait(10)

    accepted = 0
    # Threads busy for longer than MAX_WAIT: after the threads are full, nothing more fits.
    for n in range(10):
        if lane.try_submit(n, slow_send):
            accepted += 1
        time.sleep(0.01)  # pacing: the lane measures its sends' running time on the real clock
    deadline = time.monotonic() + webhook_lanes.MAX_WAIT + 2
    while lane.try_submit("late", slow_send) and time.monotonic() < deadline:
        accepted += 1
        time.sleep(0.05)
    assert not lane.try_submit("again", slow_send)
    assert 2 <= accepted < 1000
    # Deferrals follow the lane's expected wait, bounded: a hundred deferred in a row (one
    # batch) are not pushed further and further out.
    wait = min(webhook_lanes.DEFER_MAX, max(webhook_lanes.DEFER_MIN, lane.expected_wait()))
    delays = [lane.defer_delay() for _ in range(100)]
    assert all(0.5 * webhook_lanes.DEFER_MIN <= d <= 1.5 * webhook_lanes.DEFER_MAX for d in delays)
    assert max(delays[50:]) <= 1.5 * wait + 1.0  # the later ones no longer than the first could be
    assert 0.5 * wait - 1.0 <= statistics.median(delays) <= 1.5 * wait + 1.0
    release.set()
    lane.close()
    assert len(done) == accepted


def test_a_fast_lane_takes_a_large_batch():
    done = []
    lane = Lane(done.append)
    assert all(lane.try_submit(n, lambda item: None) for n in range(500))
    lane.close()
    assert sorted(done) == list(range(500))


class Concurrency:
    """A send that records how many sends run at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.now = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, item) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(self.seconds)
        with self.lock:
            self.now -= 1


def test_a_fast_endpoint_runs_few_threads_at_once(monkeypatch):
    # Requests far shorter than THREAD_LATENCY (made long here, for a loaded machine).
    monkeypatch.setattr(webhook_lanes, "THREAD_LATENCY", 0.2)
    done = []
    lane = Lane(done.append)
    warm = Concurrency(0.0)
    for n in range(30):  # the lane learns the endpoint's request time
        assert lane.try_submit(n, warm)
    deadline = time.monotonic() + 30
    while len(done) < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    fast = Concurrency(0.002)
    assert all(lane.try_submit(n, fast) for n in range(200))
    lane.close()
    assert len(done) == 230
    assert fast.most <= webhook_lanes.MIN_THREADS  # a pool of THREADS ran 8 at once


def test_a_slow_endpoint_gets_all_its_threads():
    done = []
    lane = Lane(done.append)
    slow = Concurrency(0.1)
    assert all(lane.try_submit(n, slow) for n in range(40))
    lane.close()
    assert len(done) == 40
    assert slow.most == webhook_lanes.THREADS


def test_a_request_running_long_lets_the_lane_run_another_thread_without_new_work():
    done = []
    lane = Lane(done.append)
    for n in range(30):
        assert lane.try_submit(n, lambda item: None)
    deadline = time.monotonic() + 30
    while len(done) < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    release = threading.Event()
    # Two stuck requests hold the lane's running threads; what waits behind them is sent by
    # the threads the lane then runs, with nothing more submitted.
    assert lane.try_submit("stuck-1", lambda item: release.wait(30))
    assert lane.try_submit("stuck-2", lambda item: release.wait(30))
    for n in range(10):
        assert lane.try_submit(f"after-{n}", lambda item: None)
    deadline = time.monotonic() + 20
    while sum(1 for item in done if str(item).startswith("after-")) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sum(1 for item in done if str(item).startswith("after-")) == 10
    assert "stuck-1" not in done and "stuck-2" not in done
    release.set()
    lane.close()
    assert len(done) == 42


def test_close_waits_for_threads_the_lane_starts_after_it_was_called(monkeypatch):
    # Long enough that the lane starts no thread for a held request while this test submits,
    # even on a loaded machine.
    monkeypatch.setattr(webhook_lanes, "THREAD_LATENCY", 0.1)
    done = []
    lane = Lane(done.append)
    for n in range(30):  # one at a time: a fast endpoint, learnt on one thread
        assert lane.try_submit(n, lambda item: None)
        wait_for(lambda n=n: len(done) > n, 10, interval=0.001, what=f"delivery {n}")
    gate = threading.Event()
    started_before_close = 0
    sending_on: set[int] = set()

    def send(item) -> None:
        thread = int(threading.current_thread().name.rsplit("_", 1)[1])
        sending_on.add(thread)
        gate.wait(30)
        if thread >= started_before_close:  # requests on threads started after close() end last
            time.sleep(0.5)

    for n in range(12):
        assert lane.try_submit(f"late-{n}", send)
    # Settled: MIN_THREADS sending, one more held back.
    wait_for(lambda: len(sending_on) == 2 and lane._idle == 1, 10, interval=0.001, what="two sending, one held back")
    with lane._lock:
        started_before_close = len(lane._workers)
    closer = threading.Thread(target=lane.close)
    closer.start()
    # The requests held at the gate run long: the lane starts more threads for what waits.
    wait_for(lambda: max(sending_on, default=-1) >= started_before_close, 20, what="a thread started after close()")
    gate.set()
    closer.join(timeout=30)
    assert not closer.is_alive()
    assert sum(1 for item in done if str(item).startswith("late-")) == 12
