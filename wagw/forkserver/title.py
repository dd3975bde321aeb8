"""A forked child's name where ps and /proc show it, written in place.

A forked child starts with the fork server's command line and environment block, so
/proc/<pid>/cmdline and /proc/<pid>/environ would name it `fork-server`. It writes its title
over the command line's bytes and `WAGW_PROCESS_NAME=<name>` over the environment block's
(only after it has taken its real environment elsewhere: wagw.forkserver.child), both padded
with NULs, so ps, chaos/procs.py and anything else that names wagw processes by /proc see
its own name. Not the setproctitle package: installed, it also makes rq retitle every worker
process, clearing their environment block (and with it the name cold children show there).
"""

from __future__ import annotations

import contextlib
import ctypes


def _areas() -> tuple[tuple[int, int], tuple[int, int]]:
    """(arg_start, arg_end), (env_start, env_end) of this process (proc(5), stat fields 48-51)."""
    with open("/proc/self/stat", "rb") as stat:
        fields = stat.read().rsplit(b") ", 1)[1].split()
    arg_start, arg_end, env_start, env_end = (int(value) for value in fields[45:49])
    return (arg_start, arg_end), (env_start, env_end)


def _overwrite(area: tuple[int, int], text: bytes) -> None:
    start, end = area
    size = end - start
    if start and size > 0:
        ctypes.memmove(start, text[: size - 1].ljust(size, b"\0"), size)


def set_title(title: str) -> None:
    """What ps and /proc/<pid>/cmdline show (cut to the room the server's command line had)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        _overwrite(_areas()[0], title.encode())


def set_environ_name(name: str) -> None:
    """What /proc/<pid>/environ shows: this one variable. Call once the C environment no
    longer points into the block (os.environ cleared)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        _overwrite(_areas()[1], f"WAGW_PROCESS_NAME={name}\0".encode())
