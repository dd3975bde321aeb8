"""The daemon's process tree as /proc shows it: who is who, when each pid appeared, its memory.

The supervisor's status snapshot is published once a second; /proc is read here every
tenth of a second, so a replacement process is seen within 0.1 s of its start.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from dataclasses import dataclass, field


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def parent_map() -> dict[int, int]:
    """pid -> ppid for every process (zombies excluded)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _read(f"/proc/{entry}/stat")
        if not stat:
            continue
        fields = stat.rsplit(b") ", 1)[-1].split()
        if fields[0] == b"Z":
            continue
        parents[int(entry)] = int(fields[1])
    return parents


def descendants(root: int, parents: dict[int, int] | None = None) -> list[int]:
    parents = parent_map() if parents is None else parents
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


# A child of the fork server titles itself "wagw: <name> (forked)" (wagw.forkserver.protocol)
# first thing, and writes its name over the server's environment block a moment later.
FORKED_TITLE = re.compile(rb"wagw: (\S+) \(forked\)\x00")


def process_name(pid: int) -> str | None:
    """The wagw name of a process: a forked child's title, else WAGW_PROCESS_NAME from its
    environment; "<worker>/host" for native hosts."""
    cmdline = _read(f"/proc/{pid}/cmdline")
    if cmdline is None:
        return None
    forked = FORKED_TITLE.match(cmdline)
    if forked:
        return forked.group(1).decode(errors="replace")
    environ = _read(f"/proc/{pid}/environ") or b""
    name = None
    for item in environ.split(b"\0"):
        if item.startswith(b"WAGW_PROCESS_NAME="):
            name = item.split(b"=", 1)[1].decode(errors="replace")
    if b"workers.wa.host" in cmdline and not (name or "").endswith("/host"):
        return f"{name or 'wa-worker'}/host"
    if name is None and b"redis-server" in cmdline:
        return "redis"
    return name


def rss_kib(pid: int) -> int | None:
    status = _read(f"/proc/{pid}/status")
    if not status:
        return None
    for line in status.splitlines():
        if line.startswith(b"VmRSS:"):
            return int(line.split()[1])
    return None


@dataclass
class Sighting:
    pid: int
    name: str
    first_seen: float  # unix time
    last_seen: float


@dataclass
class TreeWatcher:
    """Samples the tree under one supervisor pid until stopped; several supervisors in turn."""

    interval: float = 0.1
    rss_every: float = 0.5
    sightings: dict[int, Sighting] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)  # name -> largest VmRSS of one process, KiB
    rss_samples: list[tuple[float, str, int]] = field(default_factory=list)  # (time, name, largest KiB)
    root: int | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="tree-watcher", daemon=True)
        self._next_rss = 0.0

    def start(self) -> TreeWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def watch(self, supervisor_pid: int | None) -> None:
        self.root = supervisor_pid

    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a process vanished mid-read: the next sample catches up
                self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        root = self.root
        if root is None:
            return
        now = time.time()
        parents = parent_map()
        names: dict[int, str] = {}
        for pid in [root, *descendants(root, parents)]:
            name = "supervisor" if pid == root else process_name(pid)
            parent = names.get(parents.get(pid), "")
            if name and (parent == name or (parent.startswith(name + "/") and not name.endswith("/host"))):
                # It inherited its parent's name: a helper command (and its children), a forked
                # work horse, or a fork caught between fork() and exec() (not worth a sample).
                argv0 = (_read(f"/proc/{pid}/cmdline") or b"").split(b"\0")[0]
                if not argv0 or argv0 == (_read(f"/proc/{parents[pid]}/cmdline") or b"").split(b"\0")[0]:
                    continue
                name = parent + "/" + os.path.basename(argv0.decode(errors="replace"))
            if name:
                names[pid] = name
        named = list(names.items())
        want_rss = time.monotonic() >= self._next_rss
        if want_rss:
            self._next_rss = time.monotonic() + self.rss_every
        peaks: dict[str, int] = {}
        with self._lock:
            for pid, name in named:
                seen = self.sightings.get(pid)
                if seen is None or seen.name != name:
                    self.sightings[pid] = Sighting(pid, name, now, now)
                else:
                    seen.last_seen = now
                if want_rss:
                    rss = rss_kib(pid)
                    if rss is not None:
                        peaks[name] = max(peaks.get(name, 0), rss)
            for name, rss in peaks.items():
                self.peak_rss[name] = max(self.peak_rss.get(name, 0), rss)
                self.rss_samples.append((now, name, rss))

    # Questions ------------------------------------------------------------------------
    def replacement(self, name: str, killed_pid: int, after: float) -> Sighting | None:
        """The first process named `name` that appeared after `after`, other than killed_pid."""
        with self._lock:
            found = [
                s for s in self.sightings.values() if s.name == name and s.pid != killed_pid and s.first_seen >= after
            ]
        return min(found, key=lambda s: s.first_seen) if found else None
