"""The fork server's process: preload, freeze, then fork a child per request until told to stop.

Single-threaded on purpose: a fork copies only the calling thread, so no lock can be copied
held. It logs nothing about a request beyond the child's name and pid (no secret passes
through it anyway: wagw.forkserver).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import signal
import socket
import sys
import time
from typing import NoReturn

from loguru import logger
from pydantic import ValidationError

from wagw.cli import COMMANDS, build_parser
from wagw.config import Settings
from wagw.exitcodes import ExitCode
from wagw.forkserver import child, protocol
from wagw.logs import configure_logging, hand_down_sink
from wagw.procs import die_with_parent

NAME = "fork-server"


def preload() -> int:
    """Import what every forked command imports at start: its entry module (by name, as the
    CLI does) and wagw.cli's own; and what the native hosts the wa-workers fork import
    (HOST_MODULES). Returns how many modules are loaded."""
    for command in protocol.FORKED_COMMANDS:
        importlib.import_module(COMMANDS[command][0].partition(":")[0])
    for module in protocol.HOST_MODULES:
        importlib.import_module(module)
    if go_loaded():
        raise RuntimeError("neonize was imported by the fork server's preload: nothing could be forked from it")
    return len(sys.modules)


def warm_up() -> None:
    """Do once here what every forked child does first, so that it shares the result instead
    of making its own: the command line parser (cached: wagw.cli.build_parser) and the paths
    of Settings validation (pydantic's, run on this process's environment, which holds no
    secret; the instance is dropped at once). About 2 MB less in each forked child."""
    build_parser()
    with contextlib.suppress(ValidationError):  # a child says what is invalid, not the server
        Settings(_env_file=None)


def go_loaded() -> bool:
    """Whether neonize (and with it the Go runtime, which does not survive a fork) is loaded
    here. A forked session loads it after the fork, in the child; the server never does."""
    return "neonize" in sys.modules


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: python -m wagw.forkserver FD (started by `wagw run`)", file=sys.stderr)
        return ExitCode.USAGE
    parent = os.environ.get("WAGW_PARENT_PID")
    if parent:  # the supervisor's child: never outlives it
        die_with_parent(int(parent))
    signal.signal(signal.SIGTERM, _stop)
    # model_construct reads no environment and holds defaults: the server's own logging.
    configure_logging(Settings.model_construct(), os.environ.get("WAGW_PROCESS_NAME", NAME))
    hand_down_sink()
    sock = socket.socket(fileno=int(argv[0]))
    began = time.monotonic()
    modules = preload()
    warm_up()
    gc.collect()
    gc.freeze()  # the collector never touches (so never un-shares) what the children inherit
    sock.send(protocol.READY)
    logger.info("ready: {} modules preloaded in {:.1f}s", modules, time.monotonic() - began)
    try:
        return serve(sock)
    except SystemExit as stop:
        return int(stop.code or 0)


def _stop(_signum: int, _frame: object) -> None:
    raise SystemExit(ExitCode.OK)


def serve(sock: socket.socket) -> int:
    while True:
        try:
            data, fds, _flags, _address = socket.recv_fds(sock, protocol.MAX_MESSAGE, protocol.FDS_PER_REQUEST)
        except ConnectionResetError:
            data, fds = b"", []
        if not data:  # the supervisor closed its end
            for fd in fds:
                os.close(fd)
            return ExitCode.OK
        try:
            sock.send(_fork(sock, data, fds))
        finally:
            for fd in fds:
                os.close(fd)


def _fork(sock: socket.socket, data: bytes, fds: list[int]) -> bytes:
    try:
        name, argv = protocol.parse_request(data)
        if len(fds) != protocol.FDS_PER_REQUEST:
            raise ValueError(f"a fork request carries {protocol.FDS_PER_REQUEST} fds, not {len(fds)}")
    except (ValueError, KeyError, TypeError) as error:
        logger.error("fork request refused: {}", error)
        return protocol.answer(error=str(error))
    if go_loaded():
        logger.error("{}: not forked: neonize is loaded in the fork server", name)
        return protocol.answer(error="neonize is loaded in the fork server")
    env_fd, out_fd = fds
    try:
        pid = child.double_fork(lambda: _become(sock, name, argv, env_fd, out_fd))
    except OSError as error:
        logger.error("{}: fork failed: {}", name, error)
        return protocol.answer(error=f"fork failed: {error}")
    logger.debug("{}: forked (pid {})", name, pid)
    return protocol.answer(pid=pid)


def _become(sock: socket.socket, name: str, argv: list[str], env_fd: int, out_fd: int) -> NoReturn:
    sock.close()
    child.become(name, argv, env_fd, out_fd)
