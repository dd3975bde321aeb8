"""A crash's signature: what stays the same when the same bug crashes again.

A Go panic names the same functions each time, but its addresses (`0xc000123456`, `pc=…`),
frame offsets (`+0x3e`), goroutine ids and argument words change from run to run. The
signature hashes the panic's message and its top frames' function names with those
stripped, so one bug gives one signature on every host, slot and restart. A death without a
panic (a kill, an unexpected exit) is signed by how it ended.
"""

from __future__ import annotations

import hashlib
import re

TOP_FRAMES = 5  # frames of the panicking goroutine that make up the signature
SIGNATURE_CHARS = 12  # hex digits of the sha256 kept

_HEX = re.compile(r"0x[0-9a-fA-F]+")
_LONG_NUMBER = re.compile(r"\d{5,}")  # ids, phone numbers, timestamps: not part of the bug
_GOROUTINE = re.compile(r"^goroutine \d+ \[")
# "main.GetMe(0x0?)" -> "main.GetMe"; Go's "..." needs no case of its own: a second way to
# match dots made the pattern backtrack exponentially on a run of them.
_ARGUMENTS = re.compile(r"\([^()]*\)$")
_OFFSET = re.compile(r"\s\+0x[0-9a-fA-F]+$")
_MESSAGE_STARTS = ("panic:", "fatal error:")


def message(panic: str) -> str:
    """The panic's first line (`panic: …` or `fatal error: …`) with its variable parts stripped."""
    for line in panic.splitlines():
        line = line.strip()
        if line.startswith(_MESSAGE_STARTS):
            return _LONG_NUMBER.sub("N", _HEX.sub("0x?", line))
    return ""


def frames(panic: str, top: int = TOP_FRAMES) -> list[str]:
    """The panicking goroutine's top frames as `function (file:line)`, offsets and arguments stripped."""
    lines = panic.splitlines()
    start = next((i for i, line in enumerate(lines) if _GOROUTINE.match(line.strip())), None)
    if start is None:
        return []
    found: list[str] = []
    index = start + 1
    while index < len(lines) and len(found) < top:
        line = lines[index].rstrip()
        if not line.strip() or _GOROUTINE.match(line.strip()):
            break  # the next goroutine: only the panicking one counts
        if line.startswith("\t") or line.startswith(" "):
            index += 1
            continue
        function = _ARGUMENTS.sub("", line.strip())
        if function.startswith("created by "):
            break
        where = lines[index + 1].strip() if index + 1 < len(lines) and lines[index + 1].startswith("\t") else ""
        where = _OFFSET.sub("", where)
        found.append(f"{function} ({where})" if where else function)
        index += 2 if where else 1
    return found


def function_names(stack: list[str]) -> list[str]:
    return [frame.split(" (", 1)[0] for frame in stack]


def sign(panic: str, *, exit: str = "", operation: str | None = None, process: str = "") -> str:
    """A short hash naming the bug behind a crash (see the module's docstring)."""
    head = message(panic)
    stack = function_names(frames(panic))
    if head or stack:
        basis = "\n".join(["go", head, *stack])
    else:  # no panic to read: the way it ended, and what was doing it (the operation, else the
        # kind of process: `sales/wa-worker-2` and `wa-worker-1` alike)
        doing = operation.rpartition("/")[2] if operation else re.sub(r"\d+", "N", process.rpartition("/")[2])
        basis = "\n".join(["exit", exit, doing])
    return hashlib.sha256(basis.encode()).hexdigest()[:SIGNATURE_CHARS]
