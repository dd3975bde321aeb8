"""First contact: `wagw run` on a terminal offers to pair the devices it finds unpaired.

Under systemd (no terminal) nothing here runs: an unpaired session stays `fatal` with its
instruction, and a device paired later with `wagw pair` is picked up by the supervisor
(Supervisor._revive_paired) all the same.

On a terminal (stdin and stdout both TTYs), once every child has started and a device role
is found unpaired (the session exited NOT_PAIRED, or a wa-worker slot reports `unpaired`),
the supervisor runs `wagw pair --role all --ask` as a foreground child that owns the
terminal: it asks QR code or phone number, shows the QR code or the pairing code, and exits.
The supervisor's loop never waits for it: signals, restarts and the other children carry on,
and only the supervisor's console output is held back while it runs (so the QR code stays
on screen), then written out. It is offered once per `wagw run`; a Ctrl-C stops wagw as
always (the pairing child is in the terminal's foreground group and stops with it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from typing import TextIO

from loguru import logger

from wagw.devices import DeviceState
from wagw.exitcodes import ExitCode
from wagw.logs import WIRE_ENV, Console

STOP_WAIT = 5.0  # seconds a pairing child gets after SIGINT before SIGKILL


def on_terminal(stdin: TextIO | None = None, stdout: TextIO | None = None) -> bool:
    """Is there somebody at a terminal to ask? Both stdin and stdout must be TTYs."""
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    try:
        return stdin is not None and stdout is not None and stdin.isatty() and stdout.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def unpaired_roles(fatal_exits: Mapping[str, int | None], device_states: Mapping[str, str | None]) -> list[str]:
    """Device roles that wait for a pairing: a process that exited NOT_PAIRED (role -> last
    exit of a fatal child), or a device that reports `unpaired` (role -> heartbeat state)."""
    roles = {role for role, code in fatal_exits.items() if code == ExitCode.NOT_PAIRED}
    roles |= {role for role, state in device_states.items() if state == DeviceState.UNPAIRED}
    return sorted(roles, key=lambda role: (role != "session", role))


def should_offer(*, terminal: bool, offered: bool, settled: bool, unpaired: Iterable[str]) -> bool:
    """Offer the pairing once, on a terminal, after the start, when something is unpaired."""
    return terminal and not offered and settled and any(True for _ in unpaired)


class TerminalPairing:
    """`wagw pair --role all --ask` in the foreground, with the terminal."""

    def __init__(self, env: Mapping[str, str], console: Console | None, argv: list[str] | None = None) -> None:
        self.argv = argv or [sys.executable, "-m", "wagw", "pair", "--role", "all", "--ask"]
        self.env = {k: v for k, v in env.items() if k != WIRE_ENV}  # it talks to a person, in text
        self.env.update({"WAGW_PROCESS_NAME": "pair", "WAGW_PARENT_PID": str(os.getpid())})
        self.console = console
        self.process: subprocess.Popen | None = None
        self.exit_code: int | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.exit_code is None

    def start(self, roles: list[str]) -> None:
        logger.warning(
            "not paired: {}. Pairing on this terminal now; everything else keeps running "
            "(its log lines wait until pairing ends)",
            ", ".join(roles),
        )
        if self.console is not None:
            self.console.flush()
            self.console.hold()
        # Same process group as the supervisor: the terminal's foreground, so it can read the
        # keyboard, and a Ctrl-C reaches it as it reaches wagw.
        self.process = subprocess.Popen(self.argv, env=self.env)

    def poll(self) -> int | None:
        """The exit status once it has ended (the console is released then), else None."""
        if self.process is None or self.exit_code is not None:
            return self.exit_code
        code = self.process.poll()
        if code is None:
            return None
        self.exit_code = code
        self._release()
        if code == ExitCode.OK:
            logger.info("pairing on the terminal ended")
        else:
            logger.warning(
                "pairing on the terminal ended with {}: pair later with `wagw pair --role all`; "
                "a running wagw picks the devices up by itself",
                ExitCode.describe(code),
            )
        return code

    def stop(self) -> None:
        """wagw is stopping: end the pairing as a Ctrl-C would (its neonize child with it)."""
        process = self.process
        if process is None or self.exit_code is not None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.exit_code = process.returncode
        self._release()

    def _release(self) -> None:
        if self.console is not None:
            self.console.release()
