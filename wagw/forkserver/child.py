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
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else ExitCode.FAILURE)
    except BaseException:
        traceback.print_exc()
    finally:
        _exit(code)


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


def _exit(code: int) -> NoReturn:
    """As an interpreter's end would: atexit handlers, flushed streams; then no return into
    the server's loop, whatever happens."""
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
