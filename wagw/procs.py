"""Small facts about processes on this host."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

from wagw.exitcodes import ExitCode

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def pid_alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[-1][:1] != "Z"
    except OSError:
        return True  # no /proc: trust kill(0)


def die_with_parent(parent_pid: int, sig: int = signal.SIGTERM) -> None:
    """Have the kernel send `sig` to this process when its parent dies (Linux only); exit at
    once if the parent is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    # Checked after the prctl: a parent dying before it took effect would otherwise go unseen.
    if os.getppid() != parent_pid:
        raise SystemExit(ExitCode.FAILURE)
