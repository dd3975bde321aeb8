"""The real side of the seam between the supervisor's logic and the OS: spawning,
signalling, waiting, time. The seam itself (ProcessHandle, ProcessLauncher, Clock) is
wagw.childstate's; unit tests replace these with fakes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import IO

from wagw.childstate import ChildSpec, Clock, MonotonicClock, ProcessHandle, ProcessLauncher
from wagw.logs import ChildOutput
from wagw.supervisor import embedded_redis
from wagw.supervisor.grants import without_secrets

__all__ = ["Clock", "MonotonicClock", "OsLauncher", "OsProcess", "ProcessHandle", "ProcessLauncher"]


class OsProcess:
    """A child in its own process group, its merged output relayed line by line."""

    def __init__(self, spec: ChildSpec, env: dict[str, str], pass_fds: tuple[int, ...] = ()) -> None:
        argv = list(spec.argv)
        setpriv = shutil.which("setpriv")
        if spec.argv[0].endswith("redis-server") and setpriv:
            # redis-server cannot ask for this itself; our Python children do (wagw.cli).
            argv = [setpriv, "--pdeathsig", "TERM", *argv]
        self._popen = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C reaches only the supervisor
            text=True,
            errors="replace",
            bufsize=1,
            pass_fds=pass_fds,
        )
        self.pid = self._popen.pid
        self._name = spec.name
        # redis-server's lines carry their own level; wagw's children send wire records.
        self._raw_level = embedded_redis.log_level if spec.argv[0].endswith("redis-server") else None
        assert self._popen.stdout is not None  # spawned with stdout=PIPE
        self._pump = relay_output(self._popen.stdout, spec.name, self._raw_level)

    def poll(self) -> int | None:
        code = self._popen.poll()
        if code is not None:
            # Drain what the child wrote last (a panic trace) before its exit is reported.
            self._pump.join(timeout=1.0)
        return code

    def send_signal(self, sig: int) -> None:
        if self._popen.poll() is not None:
            return
        try:
            if sig == signal.SIGKILL:
                os.killpg(self.pid, sig)  # take the child's own children with it
            else:
                os.kill(self.pid, sig)
        except ProcessLookupError:
            pass


def relay_output(stream: IO[str], name: str, raw_level: Callable[[str], str] | None = None) -> threading.Thread:
    """A thread re-emitting a child's lines under its name until the stream ends."""

    def relay() -> None:
        output = ChildOutput(name, raw_level)
        for line in stream:
            output.relay(line)
        stream.close()

    pump = threading.Thread(target=relay, name=f"log-{name}", daemon=True)
    pump.start()
    return pump


class OsLauncher:
    def __init__(self, base_env: dict[str, str]) -> None:
        self._base_env = base_env

    def environment(self, spec: ChildSpec) -> dict[str, str]:
        if not spec.inherit_env:
            return dict(spec.env)
        # Secrets only as the child's spec grants them (wagw.supervisor.grants).
        env = without_secrets(self._base_env)
        env.update(spec.env)
        env.update({"WAGW_PROCESS_NAME": spec.name, "WAGW_PARENT_PID": str(os.getpid())})
        return env

    def spawn(self, spec: ChildSpec) -> ProcessHandle:
        return OsProcess(spec, self.environment(spec))
