"""Read a file a job names, beneath a folder, through one open that follows no symlink.

Checking a path (resolve(), is_file()) and then opening it by name leaves a window: whoever
can write into the folder swaps a directory for a symlink between the two, and the open lands
outside. Here the name is opened once, relative to a descriptor of the folder, refusing `..`,
absolute names and a symlink at any level; the type and size come from fstat of that
descriptor and the bytes from it, at most the cap + 1.

Linux >= 5.6 does the walk in the kernel (openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS).
Where openat2 is missing or a seccomp filter refuses it, the same walk runs here: one
component at a time, each opened with O_NOFOLLOW relative to the one before.
"""

from __future__ import annotations

import errno
import functools
import os
import platform
import stat
from pathlib import Path
from typing import Any

_DIRECTORY = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a fifo does not wait for a writer (fstat then refuses it).
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CHUNK = 1 << 20

# openat2's number is 437 on every architecture of the unified syscall table; alpha differs.
_OPENAT2 = 437 if platform.system() == "Linux" and not platform.machine().startswith("alpha") else None
_RESOLVE_NO_SYMLINKS = 0x04
_RESOLVE_BENEATH = 0x08
use_openat2 = _OPENAT2 is not None  # cleared on the first ENOSYS or EPERM (a seccomp filter)


class Refused(Exception):
    """Not a regular file beneath the folder: missing, outside it, through a symlink, a fifo, a
    device, unreadable. One error for all, so a caller cannot probe the file system."""


class TooLarge(Exception):
    """The file has more than the cap: at least `size` bytes."""

    def __init__(self, size: int) -> None:
        super().__init__(f"at least {size} bytes")
        self.size = size


def read_beneath(folder: Path, name: str, max_bytes: int) -> bytes:
    """The bytes of the regular file `name` (relative) beneath `folder`: Refused or TooLarge."""
    fd = open_beneath(folder, name)
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise TooLarge(size)
        data = read_at_most(fd, max_bytes + 1, hint=size + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew after the fstat
        raise TooLarge(len(data))
    return data


def is_file_beneath(folder: Path, name: str) -> bool:
    try:
        os.close(open_beneath(folder, name))
    except Refused:
        return False
    return True


def read_at_most(fd: int, limit: int, hint: int = _CHUNK) -> bytes:
    """At most `limit` bytes from `fd` (fewer at end of file), read in bounded steps."""
    chunks: list[bytes] = []
    total = 0
    step = max(1, min(hint, limit))
    while total < limit:
        chunk = os.read(fd, min(step, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        step = _CHUNK
    return b"".join(chunks)


def open_beneath(folder: Path, name: str) -> int:
    """A read-only descriptor of the regular file `name` beneath `folder`; Refused otherwise.
    The folder itself (the operator's setting) may be reached through symlinks; nothing in
    `name` may."""
    parts = _parts(name)
    try:
        root = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        raise Refused(name) from None
    try:
        fd = _openat2(root, "/".join(parts)) if use_openat2 else None
        if fd is None:
            fd = _walk(root, parts)
    except OSError:
        raise Refused(name) from None
    finally:
        os.close(root)
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        regular = False
    if not regular:
        os.close(fd)
        raise Refused(name)
    return fd


def _parts(name: str) -> list[str]:
    if "\0" in name or name.startswith("/"):
        raise Refused(name)
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise Refused(name)
    return parts


def _walk(root: int, parts: list[str]) -> int:
    current = os.dup(root)
    try:
        for part in parts[:-1]:
            following = os.open(part, _DIRECTORY, dir_fd=current)
            os.close(current)
            current = following
        return os.open(parts[-1], _FILE, dir_fd=current)
    finally:
        os.close(current)


def _openat2(root: int, relative: str) -> int | None:
    """The descriptor openat2 gives, OSError if it refuses, None if it is not available."""
    global use_openat2
    import ctypes  # with the first file read, not in every wa-worker

    syscall, how = _openat2_call(_FILE, _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS)
    fd = syscall(_OPENAT2, root, os.fsencode(relative), ctypes.byref(how), ctypes.sizeof(how))
    if fd >= 0:
        return int(fd)
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EPERM):
        use_openat2 = False
        return None
    raise OSError(error, os.strerror(error))


@functools.cache
def _openat2_call(flags: int, resolve: int) -> tuple[Any, Any]:
    """libc's syscall() typed for openat2, and its struct open_how."""
    import ctypes

    class OpenHow(ctypes.Structure):
        _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]

    syscall = ctypes.CDLL(None, use_errno=True).syscall
    syscall.restype = ctypes.c_long
    syscall.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
    return syscall, OpenHow(flags=flags, mode=0, resolve=resolve)
