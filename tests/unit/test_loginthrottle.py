"""The dashboard's failed-login budget, on a hand-driven clock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from wagw.loginthrottle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_budget_per_window_then_waits_for_its_oldest_failure_to_age():
    clock = Clock()
    throttle = LoginThrottle(window=60, per_client=3, total=100, clock=clock)
    for _ in range(3):
        assert throttle.acquire("a") == 0
        clock.now += 10
    assert throttle.acquire("a") == 30  # the first failure leaves the window in 30 s
    assert throttle.acquire("b") == 0  # others are not locked out
    clock.now += 30
    assert throttle.acquire("a") == 0


def test_a_right_login_costs_nothing():
    throttle = LoginThrottle(window=60, per_client=2, total=2, clock=Clock())
    for _ in range(10):
        assert throttle.acquire("a") == 0
        throttle.release("a")
    assert throttle.acquire("a") == 0 and throttle.acquire("b") == 0


def test_the_total_budget_locks_every_client_and_bounds_what_is_remembered():
    clock = Clock()
    throttle = LoginThrottle(window=60, per_client=2, total=5, clock=clock)
    granted = sum(throttle.acquire(f"10.0.0.{n}") == 0 for n in range(100) for _ in range(2))
    assert granted == 5
    assert throttle.acquire("192.0.2.1") == 60
    assert len(throttle._clients) <= 5 and len(throttle._all) == 5
    clock.now += 60
    assert throttle.acquire("192.0.2.1") == 0 and len(throttle._clients) == 1


def test_threads_racing_never_get_more_than_the_budget():
    throttle = LoginThrottle(window=60, per_client=7, total=100)
    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(lambda _: throttle.acquire("a"), range(200)))
    assert waits.count(0) == 7
