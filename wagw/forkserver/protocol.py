"""The messages between the supervisor and its fork server, over one SOCK_SEQPACKET socket.

The server says READY once it has imported and frozen everything. Each request is one JSON
object, {"name": ..., "argv": [...]} (the child's process name and its `wagw` arguments:
never a secret), carrying two fds: the read end of the child's environment pipe and the
write end of its output pipe. The answer is {"pid": N} or {"error": "..."}.
"""

from __future__ import annotations

import json

READY = b"ready"
MAX_MESSAGE = 64 * 1024
FDS_PER_REQUEST = 2  # environment (read end), output (write end)
# The `wagw` commands the server forks; their modules are preloaded. The session loads neonize,
# but only after the fork, in the child: the server never loads it (wagw.forkserver).
FORKED_COMMANDS = ("scheduler", "webhook-worker", "wa-worker", "history-writer", "session")
# The modules of a native host that a wa-worker forks (workers.wa.host_forker); never the neonize
# backend's, which loads Go.
HOST_MODULES = ("workers.wa.host", "wagw.whatsapp.fake")
# A forked child's process title (ps, /proc/<pid>/cmdline): chaos/procs.py names it by this.
TITLE_PREFIX = "wagw: "
TITLE_SUFFIX = " (forked)"


def title(name: str) -> str:
    return f"{TITLE_PREFIX}{name}{TITLE_SUFFIX}"


def request(name: str, argv: list[str]) -> bytes:
    return json.dumps({"name": name, "argv": argv}).encode()


def parse_request(data: bytes) -> tuple[str, list[str]]:
    message = json.loads(data)
    name, argv = message["name"], message["argv"]
    if not isinstance(name, str) or not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise ValueError("a fork request names a process and its wagw arguments")
    if not argv or argv[0] not in FORKED_COMMANDS:
        raise ValueError(f"not a command the fork server forks: {argv[:1]}")
    return name, argv


def answer(pid: int | None = None, error: str | None = None) -> bytes:
    return json.dumps({"pid": pid} if error is None else {"error": error}).encode()


def parse_answer(data: bytes) -> int:
    """The forked child's pid; ValueError with the server's reason if it did not fork."""
    message = json.loads(data)
    if "error" in message:
        raise ValueError(str(message["error"]))
    pid = message["pid"]
    if not isinstance(pid, int) or pid <= 1:
        raise ValueError(f"not a pid: {pid!r}")
    return pid
