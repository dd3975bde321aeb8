"""The host forker: a small single-threaded child of the wa-worker that forks its native hosts.

A host started cold is a fresh interpreter that imports the common core again (~35 MB, all
of it its own). Forked from a process that already holds those modules, it shares their pages
(~20 MB). The wa-worker itself cannot fork it once it runs threads (a fork copies locks held
mid-write, and the finalizers of inherited sockets could close fds the host has reused since),
so at its start, while it is still single-threaded and before it opens any connection, it
forks this process, which imports the host's modules (never neonize: the Go runtime does not
survive a fork) and then forks a host per request.

Reaping: the wa-worker is PR_SET_CHILD_SUBREAPER and the forker double-forks, so every host is
the wa-worker's own child, as a cold one is: it waits for it and reads its real exit status
(the signal of a Go panic) whatever becomes of the forker. A forker that dies or refuses is
never a failed start: the wa-worker starts its hosts cold from then on.

What it holds: a copy of the wa-worker at its start, Settings included, and the host gets
every setting anyway (over its stdin). Protocol: one SOCK_SEQPACKET message each way per host;
the request is {"name": ..., "env": {...}} (never a secret) with four fds (the host's stdin,
stdout, stderr and events pipe ends), the answer {"pid": N, "events_fd": N} or {"error": ...}.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import weakref
from typing import IO, NoReturn

from loguru import logger

from wagw.exitcodes import ExitCode
from wagw.forkserver import child, protocol, title
from wagw.logs import forget_sinks
from wagw.procs import die_with_parent
from wagw.supervisor import orphans

FDS_PER_HOST = 4  # stdin (read end), stdout, stderr, events (write ends)
ANSWER_TIMEOUT = 10.0  # seconds; it only forks, so a forker this slow is treated as gone
CLOSE_WAIT = 2.0  # seconds it gets to exit on its socket's EOF before it is killed


class ForkedHost:
    """A forked host as its _Incarnation uses a Popen: pid, pipes, poll, wait, kill. The host
    is this process's child (the subreaper's), so waitpid reads its status; the pidfd makes
    a wait with a timeout, and a kill that can never reach a reused pid."""

    def __init__(
        self, pid: int, stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None, stderr: IO[bytes] | None = None
    ):
        self.pid = pid
        self.args = ["host", str(pid)]
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.returncode: int | None = None
        self._pidfd = os.pidfd_open(pid)
        weakref.finalize(self, os.close, self._pidfd)  # not at the reap: a wait may be polling it
        self._lock = threading.Lock()

    def poll(self) -> int | None:
        with self._lock:
            if self.returncode is None:
                try:
                    done, status = os.waitpid(self.pid, os.WNOHANG)
                except ChildProcessError:  # not ours to read: never by design (orphans.reap is told)
                    done, status = self.pid, ExitCode.FAILURE << 8
                if done:
                    self.returncode = os.waitstatus_to_exitcode(status)
            return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.poll() is None:
            exited = select.poll()
            exited.register(self._pidfd, select.POLLIN)
            if not exited.poll(None if timeout is None else timeout * 1000):
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        while (code := self.poll()) is None:  # readable means exited: the status is there
            time.sleep(0.001)
        return code

    def kill(self) -> None:
        with self._lock:
            if self.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)


class HostForker:
    """The wa-worker's end. Main thread only, like the host spawns it serves."""

    def __init__(self, sock: socket.socket, pid: int):
        self._sock = sock
        self.pid = pid
        self._closed = False

    @property
    def alive(self) -> bool:
        """Not closed: it still takes requests (a dead one is found, and closed, at the next)."""
        return not self._closed

    @classmethod
    def start(cls, name: str) -> HostForker | None:
        """Fork the forker; None (hosts start cold) where it cannot be done safely."""
        if threading.active_count() > 1:
            logger.info("native hosts start cold: the wa-worker already runs threads")
            return None
        try:
            os.close(os.pidfd_open(os.getpid()))  # Linux >= 5.3, and no seccomp profile refusing it
        except (AttributeError, OSError) as error:
            logger.info("native hosts start cold: no pidfds here ({})", error)
            return None
        if not orphans.become_subreaper():
            logger.info("native hosts start cold: this kernel cannot make the wa-worker their subreaper")
            return None
        try:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        except OSError as error:
            logger.warning("native hosts start cold: no socket for a host forker ({})", error)
            return None
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError as error:
            ours.close()
            theirs.close()
            logger.warning("native hosts start cold: the host forker could not be forked ({})", error)
            return None
        if pid == 0:
            ours.close()
            _serve_forever(theirs, name, parent)
        theirs.close()
        ours.settimeout(ANSWER_TIMEOUT)
        return cls(ours, pid)

    def fork(self, name: str, env: dict[str, str], owned: tuple[int, ...] = ()) -> tuple[ForkedHost, int, int] | None:
        """A forked host with fresh pipes, the read end of its events pipe and that pipe's fd
        number in the host; None if the forker is gone (it is reaped then, with anything it
        left half-forked but the `owned` pids, and every later host starts cold)."""
        if not self.alive:
            return None
        pipes = [os.pipe() for _ in range(3)]
        events_read, events_write = os.pipe()
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1], events_write]
        answer: object = None
        problem = "it closed its socket"
        ours = [pipes[0][1], pipes[1][0], pipes[2][0], events_read]
        try:
            socket.send_fds(self._sock, [json.dumps({"name": name, "env": env}).encode()], theirs)
            answer = json.loads(self._sock.recv(protocol.MAX_MESSAGE) or b"null")
        except (OSError, ValueError) as error:
            problem = str(error) or type(error).__name__
        except BaseException:
            # Interrupted mid-request (a job's timeout alarm): its answer may still come, and
            # would be read as the next request's, so this forker is done with.
            for fd in ours:
                os.close(fd)
            self.close(owned)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        if not (isinstance(answer, dict) and all(isinstance(answer.get(key), int) for key in ("pid", "events_fd"))):
            why = f"refused: {answer.get('error')}" if isinstance(answer, dict) else f"is gone ({problem})"
            logger.warning("the host forker {}: native hosts start cold from now on", why)
            for fd in ours:
                os.close(fd)
            self.close(owned)
            return None
        host = ForkedHost(
            answer["pid"],
            os.fdopen(pipes[0][1], "wb"),
            os.fdopen(pipes[1][0], "rb"),
            os.fdopen(pipes[2][0], "rb"),
        )
        return host, events_read, int(answer["events_fd"])

    def close(self, owned: tuple[int, ...] = ()) -> None:
        """Close its socket (it exits on EOF), reap it, and reap whatever it left half-forked."""
        if self._closed:
            return
        self._closed = True
        self._sock.close()
        try:
            forker = ForkedHost(self.pid)
            try:
                forker.wait(CLOSE_WAIT)
            except subprocess.TimeoutExpired:
                forker.kill()
                forker.wait()
        except OSError:  # reaped already (ChildProcessError, ProcessLookupError): nothing to wait for
            pass
        orphans.reap(owned)

    def reap_strays(self, owned: tuple[int, ...]) -> None:
        """Reap what came to the wa-worker as its hosts' subreaper: the orphans a dead host
        left (neonize leaves a shell child), half-forked hosts. `owned`: the live hosts."""
        orphans.reap(owned if self._closed else (*owned, self.pid))


# The forker's side ------------------------------------------------------------------------
def _serve_forever(sock: socket.socket, name: str, parent: int) -> NoReturn:
    code: int = ExitCode.FAILURE
    try:
        title.set_title(protocol.title(f"{name}/forker"))
        _keep_standard_fds_open()  # so the fds a request brings are never 0-2
        os.setsid()  # no terminal's Ctrl+C, no signal meant for the wa-worker's group
        die_with_parent(parent, signal.SIGKILL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for module in protocol.HOST_MODULES:  # already there when the fork server forked the wa-worker
            importlib.import_module(module)
        if "neonize" in sys.modules:
            raise RuntimeError("neonize is loaded in the host forker: no host can be forked from it")
        # No collection first: it would write to every object the wa-worker made, so copy
        # the pages this process shares with it. Frozen, the hosts' collector skips them.
        gc.freeze()
        while True:
            data, fds, _flags, _address = socket.recv_fds(sock, protocol.MAX_MESSAGE, FDS_PER_HOST)
            if not data:
                code = ExitCode.OK
                break
            try:
                sock.send(_fork_host(sock, data, fds))
            finally:
                for fd in fds:
                    os.close(fd)
    except SystemExit:  # its wa-worker died before it started
        pass
    except BaseException:
        logger.exception("the host forker failed")
    finally:
        os._exit(code)


def _keep_standard_fds_open() -> None:
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            devnull = os.open(os.devnull, os.O_RDWR)
            if devnull != fd:  # the lowest free fd: this one, unless a lower one was closed too
                os.dup2(devnull, fd)
                os.close(devnull)


def _fork_host(sock: socket.socket, data: bytes, fds: list[int]) -> bytes:
    try:
        request = json.loads(data)
        name, env = request["name"], request["env"]
        if len(fds) != FDS_PER_HOST or not isinstance(name, str) or not isinstance(env, dict):
            raise ValueError("a host request names the host, its environment and four fds")
        pid = child.double_fork(lambda: _become_host(sock, name, env, fds))
    except (ValueError, KeyError, TypeError, OSError) as error:
        return json.dumps({"error": str(error)}).encode()
    return json.dumps({"pid": pid, "events_fd": fds[3]}).encode()


def _become_host(sock: socket.socket, name: str, env: dict[str, str], fds: list[int]) -> NoReturn:
    """In the forked host: what `python -m workers.wa.host` would be, over the given pipes."""
    code: int = ExitCode.FAILURE
    try:
        sock.close()
        forget_sinks()  # the host's own come with its hello; fd 1 is about to carry the replies
        title.set_title(protocol.title(name))
        os.setsid()  # as a cold host's start_new_session
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", write_through=True)
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", write_through=True
        )
        os.environ.update(env)
        from workers.wa.host import main

        code = main()
    except SystemExit as stop:
        code = child.exit_code(stop)
    except BaseException:
        traceback.print_exc()
    finally:
        child.exit_as_interpreter(code)
