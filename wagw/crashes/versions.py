"""The neonize and whatsmeow versions a crash record names, read without loading neonize.

neonize's version comes from its installed metadata. whatsmeow is compiled into neonize's Go
library; Go writes every module a binary was built from into it (`dep\tgo.mau.fi/whatsmeow\t
<version>`, what `go version -m` prints), so the library file is searched for that line
instead of loaded: pure-Python processes must never load the Go runtime.
"""

from __future__ import annotations

import functools
import mmap
import re
from importlib import metadata

DISTRIBUTION = "neonize"
_WHATSMEOW = re.compile(
    rb"\ndep\tgo\.mau\.fi/whatsmeow\t([^\t\n]{1,100})(?:\t[^\n]*)?\n(?:=>\t[^\t\n]+\t([^\t\n]{1,100}))?"
)


@functools.cache
def neonize() -> str | None:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def whatsmeow() -> str | None:
    """whatsmeow's module version in neonize's Go library (a `=>` replacement's when there is one)."""
    try:
        files = metadata.files(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name.endswith((".so", ".dylib", ".dll")):
            found = _search(str(file.locate()))
            if found:
                return found
    return None


def _search(path: str) -> str | None:
    try:
        with open(path, "rb") as library, mmap.mmap(library.fileno(), 0, access=mmap.ACCESS_READ) as data:
            match = _WHATSMEOW.search(data)
            found = None if match is None else bytes(match.group(2) or match.group(1))
    except (OSError, ValueError):
        return None
    return found.decode("ascii", "replace") if found else None


def both() -> dict[str, str | None]:
    return {"neonize": neonize(), "whatsmeow": whatsmeow()}
