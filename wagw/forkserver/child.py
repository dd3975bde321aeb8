"""What a forked child does before it is the `wagw` command it was forked for: its own
session, title, output and environment, then `wagw.cli.main(argv)` as a cold child runs it
(Settings, logging and PR_SET_PDEATHSIG are its own)."""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import NoReturn

from wagw.exitcodes import ExitCode
from wagw.forkserver import protocol, title

# The supervisor closed the environment pipe empty: it gave up on this fork (no answer in
# time, or the server died meanwhile), so nothing watches this child. It exits unseen.
ABANDONED = ExitCode.FAILURE


def become(name: str, argv: list[str], env_fd: int, out_fd: int) -> NoReturn:
    code: int = ExitCode.FAILURE
    try:
        title.set_title(protocol.title(name))  # first: chaos/procs.py and ps name it by this
        os.setsid()  # its own session and process group, as a cold child's start_new_session
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the server's handler is not the child's
        environment = _read_all(env_fd)
        if not environment:
            os._exit(ABANDONED)
        _redirect(out_fd)
        os.environ.clear()  # the C environment too: nothing points into the server's block now
        title.set_environ_name(name)
        os.environ.update(json.loads(environment))
        del environment
        sys.argv = ["wagw", *argv]
        from wagw.cli import main

        code = main(argv)
    except SystemExit as stop:
        code = exit_code(stop)
    except BaseException:
        traceback.print_exc()
    finally:
        exit_as_interpreter(code)


def exit_code(stop: SystemExit) -> int:
    """The status an interpreter would exit with for this SystemExit."""
    return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else ExitCode.FAILURE)


def double_fork(become: Callable[[], NoReturn]) -> int:
    """Fork a child that runs `become`, through an intermediate that exits at once; its pid.
    Once the intermediate is reaped (before this returns), the child belongs to the nearest
    subreaper above this process: the one that waits for it and reads its real exit status."""
    report_r, report_w = os.pipe()
    intermediate = os.fork()
    if intermediate == 0:
        code = 1
        try:
            os.close(report_r)
            pid = os.fork()
            if pid == 0:
                os.close(report_w)
                become()  # never returns
            os.write(report_w, str(pid).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(report_w)
    try:
        report = b""
        while chunk := os.read(report_r, 32):
            report += chunk
    finally:
        os.close(report_r)
        os.waitpid(intermediate, 0)
    if not report.isdigit():
        raise OSError("the intermediate process did not report its child")
    return int(report)


def _read_all(fd: int) -> bytes:
    data = b""
    try:
        while chunk := os.read(fd, 65536):
            data += chunk
    finally:
        os.close(fd)
    return data


def _redirect(out_fd: int) -> None:
    """stdout and stderr into the pipe the supervisor relays, stdin from /dev/null."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)


def exit_as_interpreter(code: int) -> NoReturn:
    """As an interpreter's end would: atexit handlers, flushed streams; then no return into
    the server's loop, whatever happens."""
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
