"""A supervisor in miniature, run as its own process by test_fork_server.py: it becomes a
subreaper (as `wagw run` does; never the test process itself, which would then inherit every
orphan of the suite), runs a fork server and children through the real launcher and state
machine, and prints what it saw as one JSON object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from wagw.childstate import Child, ChildSpec, MonotonicClock, RestartPolicy, State
from wagw.config import SETTINGS_FROM_PARENT
from wagw.supervisor import orphans
from wagw.supervisor.children import fork_server_spec
from wagw.supervisor.forking import ForkedProcess, ForkingLauncher


def _tick_until(children: list[Child], done, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children:
            child.tick(shutting_down=False)
        if done():
            return True
        time.sleep(0.02)
    return False


def main() -> None:
    report: dict = {"subreaper": orphans.become_subreaper()}
    env = {**os.environ, SETTINGS_FROM_PARENT: "1", "WAGW_LOG_WIRE": "1", "PYTHONUNBUFFERED": "1"}
    launcher = ForkingLauncher(env)
    clock = MonotonicClock()
    policy = RestartPolicy()
    server = Child(fork_server_spec(launcher.server.is_ready), policy, launcher, clock)
    server.start()
    # A config error in a forked child: its real exit (78), fatal at once, never retried.
    bad = Child(
        ChildSpec("scheduler", [sys.executable, "-m", "wagw", "scheduler"], env={"WAGW_SHUTDOWN_GRACE": "-1"}),
        policy,
        launcher,
        clock,
    )
    bad.start()
    report["bad_forked"] = isinstance(bad.handle, ForkedProcess)
    _tick_until([server, bad], lambda: bad.state is State.FATAL, 60)
    report["bad"] = {"state": bad.state.value, "last_exit": bad.last_exit, "restarts": bad.restarts}
    # A process this supervisor started itself keeps its exit status when orphans are reaped;
    # an orphan (a shell's background child) is reaped.
    own = subprocess.Popen([sys.executable, "-c", "raise SystemExit(7)"])
    shell = subprocess.Popen(
        ["sh", "-c", f"{sys.executable} -c 'import time; time.sleep(0.3)' & echo $!"], stdout=subprocess.PIPE
    )
    orphan = int(shell.communicate()[0])
    reaped: list[int] = []

    def orphan_reaped() -> bool:
        reaped.extend(pid for pid, _code in orphans.reap([own.pid, server.process.pid]))
        return orphan in reaped

    _tick_until([server], orphan_reaped, 30)
    report["orphan_reaped"] = orphan in reaped
    report["own_exit"] = own.wait(timeout=30)
    report["own_reaped_by_reap"] = own.pid in reaped
    was_running = server.state is State.RUNNING  # its probe: it said it is ready
    server.stop(5)
    _tick_until([server], lambda: not server.alive, 30)
    report["server"] = {"state": server.state.value, "last_exit": server.last_exit, "was_running": was_running}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
