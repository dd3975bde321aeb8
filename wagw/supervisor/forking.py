"""The supervisor's side of the fork server (wagw.forkserver): start it, ask it for children,
and watch those children as its own.

`ForkingLauncher` is the supervisor's launcher when WAGW_FORK_SERVER is on: the fork server
itself is one more child (`fork-server`, run by the same state machine as every other:
restarted by its policy when it dies); a child running one of the forked commands is asked of
the server when it is up and ready, and started cold otherwise, so a server that is down,
slow or broken never fails a start. Every other child is started cold as before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING

from loguru import logger

from wagw.forkserver import protocol
from wagw.supervisor.osapi import OsLauncher, OsProcess, relay_output

if TYPE_CHECKING:
    from wagw.childstate import ChildSpec, ProcessHandle

FORK_SERVER = "fork-server"
# A server not ready this long after its start (its imports take 1-2 s on a loaded machine)
# is killed. The daemon's first children wait for it up to then; later ones never wait: a
# server not ready yet means a cold start. Both waits block the supervisor's loop, so they
# stay well under systemd's WatchdogSec (30 s).
READY_WAIT = 10.0
ANSWER_WAIT = 5.0  # a fork takes milliseconds; a server this slow is killed and restarted


def server_argv() -> list[str]:
    return [sys.executable, "-m", "wagw.forkserver"]


class ForkedProcess:
    """A child the fork server forked: the supervisor's own child (it is their subreaper),
    waited for with waitpid and signalled by a pid that stays its own until reaped."""

    def __init__(self, pid: int, output_fd: int, name: str) -> None:
        self.pid = pid
        self._code: int | None = None
        stream = open(output_fd, encoding="utf-8", errors="replace")  # noqa: SIM115 (the relay closes it)
        self._pump = relay_output(stream, name)

    def poll(self) -> int | None:
        if self._code is not None:
            return self._code
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # never ours, or reaped elsewhere: nothing more to learn
            logger.error("pid {}: not a child of the supervisor; taken as killed", self.pid)
            self._code = -signal.SIGKILL
            return self._code
        if pid == 0:
            return None
        self._code = os.waitstatus_to_exitcode(status)
        self._pump.join(timeout=1.0)  # what it wrote last (a traceback) before its exit
        return self._code

    def send_signal(self, sig: int) -> None:
        if self.poll() is not None:
            return  # reaped: the pid may belong to another process by now
        try:
            if sig == signal.SIGKILL:
                os.killpg(self.pid, sig)  # its own children with it
            else:
                os.kill(self.pid, sig)
        except ProcessLookupError:  # killpg before its setsid: no group yet
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)


class ForkServer:
    """The running fork server, if any: its process, its socket, whether it said ready."""

    def __init__(self) -> None:
        self.process: OsProcess | None = None
        self.sock: socket.socket | None = None
        self.ready = False
        self.started = 0.0
        self.first = True  # the daemon's first server: its first children wait for it

    def start(self, spec: ChildSpec, env: dict[str, str]) -> OsProcess:
        self._close()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with_fd = dataclasses.replace(spec, argv=[*spec.argv, str(theirs.fileno())])
            self.process = OsProcess(with_fd, env, pass_fds=(theirs.fileno(),))
        finally:
            theirs.close()
        self.sock, self.started = ours, time.monotonic()
        return self.process

    def _close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.ready = None, False
        if self.process is not None and self.process.poll() is not None:
            self.first = False

    def _alive(self) -> bool:
        return self.sock is not None and self.process is not None and self.process.poll() is None

    def is_ready(self) -> bool:
        """Its readiness probe (the fork-server's ChildSpec.ready), never waiting: whether it
        said it is ready. One that has not within READY_WAIT of its start is killed, and its
        restart policy takes over."""
        return self._await_ready(0.0)

    def _await_ready(self, wait: float) -> bool:
        if self.ready:
            return True
        if not self._alive():
            return False
        assert self.sock is not None
        deadline = self.started + READY_WAIT
        self.sock.settimeout(max(0.0, min(wait, deadline - time.monotonic())))
        try:
            said = self.sock.recv(protocol.MAX_MESSAGE)
        except (BlockingIOError, TimeoutError):
            if time.monotonic() >= deadline:
                self._broken(f"not ready within {READY_WAIT:.0f}s")
            return False
        except OSError as error:
            self._broken(f"socket: {error}")
            return False
        if said != protocol.READY:
            self._broken("it exited before it was ready" if not said else f"it said {said[:40]!r}")
            return False
        self.ready, self.first = True, False
        return True

    def fork(self, spec: ChildSpec, env: dict[str, str]) -> ForkedProcess | None:
        """The child forked by the server, or None: start it cold."""
        if not self._await_ready(READY_WAIT if self.first else 0.0):
            return None
        assert self.sock is not None
        env_r, env_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            self.sock.settimeout(ANSWER_WAIT)
            socket.send_fds(self.sock, [protocol.request(spec.name, spec.argv[3:])], [env_r, out_w])
            pid = protocol.parse_answer(self.sock.recv(protocol.MAX_MESSAGE))
        except (OSError, ValueError) as error:
            os.close(env_w)  # a child forked all the same reads nothing and exits
            os.close(out_r)
            self._broken(f"{spec.name} not forked: {error}")
            return None
        finally:
            os.close(env_r)
            os.close(out_w)
        forked = ForkedProcess(pid, out_r, spec.name)
        _hand_over(env_w, env)
        return forked

    def _broken(self, why: str) -> None:
        """Cold starts from now on; the server is killed and its policy restarts it."""
        logger.warning("{}: {}; starting children cold until it is back", FORK_SERVER, why)
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
        self._close()


def _hand_over(env_w: int, env: dict[str, str]) -> None:
    """The child's environment, secrets included, written where only the child reads it."""
    data = json.dumps(env).encode()
    try:
        while data:
            data = data[os.write(env_w, data) :]
    except BrokenPipeError:
        pass  # it died first: its exit is what the supervisor sees
    finally:
        os.close(env_w)


def forked_command(spec: ChildSpec) -> bool:
    """Whether the child runs a command the fork server forks (`python -m wagw <command>`)."""
    argv = spec.argv
    return (
        spec.inherit_env
        and len(argv) > 3
        and argv[:3] == [sys.executable, "-m", "wagw"]
        and argv[3] in protocol.FORKED_COMMANDS
    )


class ForkingLauncher(OsLauncher):
    def __init__(self, base_env: dict[str, str], server: ForkServer | None = None) -> None:
        super().__init__(base_env)
        self.server = server or ForkServer()

    def spawn(self, spec: ChildSpec) -> ProcessHandle:
        env = self.environment(spec)
        if spec.name == FORK_SERVER:
            return self.server.start(spec, env)
        if forked_command(spec):
            began = time.monotonic()
            forked = self.server.fork(spec, env)
            if forked is not None:
                logger.debug("{}: forked in {:.3f}s", spec.name, time.monotonic() - began)
                return forked
        return OsProcess(spec, env)
