"""Small facts about processes on this host."""

from __future__ import annotations

import os


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
