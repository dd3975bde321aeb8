"""The supervisor core on real OS processes (no wagw children): backoff, fatal, stop order."""

from __future__ import annotations

import os
import resource
import signal
import sys
import threading
import time

from wagw.procs import pid_alive
from wagw.supervisor.core import Supervisor
from wagw.supervisor.osapi import MonotonicClock, OsLauncher
from wagw.supervisor.state import Child, ChildSpec, RestartPolicy, State


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def make_children(specs, policy: RestartPolicy | None = None):
    policy = policy or RestartPolicy()
    clock = MonotonicClock()
    launcher = OsLauncher(dict(os.environ))
    return [Child(spec, policy, launcher, clock) for spec in specs], clock


def drive(children, until, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children:
            child.tick(shutting_down=False)
        if until():
            return
        time.sleep(0.02)
    raise AssertionError(f"timeout; states: {[(c.name, c.state) for c in children]}")


def test_child_exiting_at_once_backs_off_without_spinning_and_ends_fatal():
    policy = RestartPolicy(max_start_failures=5, backoff_steps=(0.0, 0.2, 0.4, 0.8, 1.6))
    (child,), _ = make_children([ChildSpec("flaky", py("raise SystemExit(1)"))], policy)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    child.start()
    drive([child], lambda: child.state is State.FATAL, timeout=20)
    elapsed = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    assert child.restarts == 4
    assert elapsed >= 0.2 + 0.4 + 0.8  # the delays really happened
    assert cpu < 0.5 * elapsed, f"supervisor burned {cpu:.2f}s CPU in {elapsed:.2f}s"


def test_config_error_is_fatal_at_first_exit():
    (child,), _ = make_children([ChildSpec("badconf", py("raise SystemExit(78)"))])
    child.start()
    drive([child], lambda: child.state is State.FATAL, timeout=10)
    assert child.restarts == 0 and child.last_exit == 78 and "config" in child.fatal_reason


def test_panic_text_on_stderr_reaches_the_log(capfd):
    from wagw.config import Settings
    from wagw.logs import configure_logging

    configure_logging(Settings(_env_file=None), "supervisor", wire=False)
    code = (
        "import sys; sys.stderr.write('panic: unsupported payload type: *store.PrivacyToken\\n'); raise SystemExit(2)"
    )
    (child,), _ = make_children([ChildSpec("native", py(code))])
    child.start()
    drive([child], lambda: child.state is not State.STARTING, timeout=10)
    out = capfd.readouterr().out
    from loguru import logger

    logger.remove()
    assert "[native] panic: unsupported payload type: *store.PrivacyToken" in out
    assert "ERROR" in next(line for line in out.splitlines() if "PrivacyToken" in line)


def test_stop_runs_in_reverse_tiers_and_kills_stragglers_at_the_grace_deadline():
    order_file = f"/tmp/wagw-order-{os.getpid()}"

    def stopper(name: str, ignore_term: bool = False) -> list[str]:
        body = (
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)"
            if ignore_term
            else (
                f"signal.signal(signal.SIGTERM, lambda *a: (open({order_file!r}, 'a').write('{name}\\n'), sys.exit(0)))"
            )
        )
        return py(f"import signal, sys, time\n{body}\nwhile True: time.sleep(0.05)")

    specs = [
        ChildSpec("back", stopper("back"), stop_tier=3),
        ChildSpec("middle", stopper("middle"), stop_tier=2),
        ChildSpec("stubborn", stopper("stubborn", ignore_term=True), stop_tier=2),
        ChildSpec("front", stopper("front"), stop_tier=0),
    ]
    children, clock = make_children(specs, RestartPolicy(start_seconds=0.3))
    sup = Supervisor(children, clock=clock, grace=1.5)
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
        started = time.monotonic()
        code = sup.run()
        elapsed = time.monotonic() - started
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    pids = [c.handle.pid for c in children]
    assert code == 0
    assert all(c.state is State.STOPPED for c in children)
    assert not any(pid_alive(pid) for pid in pids)
    with open(order_file) as f:
        assert f.read().split() == ["front", "middle", "back"]
    os.unlink(order_file)
    stubborn = next(c for c in children if c.name == "stubborn")
    assert stubborn.last_exit == -signal.SIGKILL
    assert elapsed < 2.0 + 1.5 + 3.0
