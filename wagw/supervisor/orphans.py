"""The supervisor as its tree's subreaper (PR_SET_CHILD_SUBREAPER): what the fork server's
children need (wagw.forkserver), and what it costs, reaping the orphans that come with it.

An orphan anywhere below the supervisor (a dead wa-worker's native host, a history writer's
migration child, a half-done fork of a fork server killed mid-request) becomes the
supervisor's child, and a zombie until reaped. `reap` waits only for a pid the supervisor did
not start itself: a Popen reaped here would read as exit 0 to its owner (subprocess takes a
vanished child for a clean exit), so the caller names every pid it started.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterable

from loguru import logger

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def become_subreaper() -> bool:
    """Make orphans below this process its children; False where the kernel cannot."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def children() -> set[int]:
    """This process's children, from every thread's /proc children list."""
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError), open(f"/proc/self/task/{tid}/children") as listing:
                found.update(int(pid) for pid in listing.read().split())
    return found


def reap(owned: Iterable[int]) -> list[tuple[int, int]]:
    """Reap every exited child not in `owned`; (pid, exit status) of each, for the log."""
    mine = set(owned)
    reaped = []
    for pid in sorted(children() - mine):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        if done:
            reaped.append((pid, os.waitstatus_to_exitcode(status)))
    for pid, code in reaped:
        logger.debug("orphan {} reaped (exit {})", pid, code)
    return reaped
