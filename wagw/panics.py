"""What of a native host's stderr a crash report keeps: the Go panic block, and the lines worth
showing with it. A host's stderr mixes wagw's own log records (JSON lines) with what the Go
runtime writes straight to file descriptor 2 when it aborts."""

from __future__ import annotations

import json

TAIL_LINES = 60  # of a host's kept stderr, at most this many go into a job's exception
_PANIC_STARTS = ("panic:", "fatal error:", "SIGABRT", "SIGSEGV")


def _record(line: str) -> dict | None:
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except ValueError:
            return None
        if isinstance(record, dict) and "msg" in record:
            return record
    return None


def render_tail(lines: list[str]) -> str:
    """The stderr lines worth showing: from the panic (with a little context before it) or the last few."""
    start = _panic_start(lines)
    chosen = lines[max(0, start - 5) : start + TAIL_LINES] if start is not None else lines[-20:]
    rendered = []
    for line in chosen:
        record = _record(line)
        rendered.append(f"[{record.get('level')}] {record['msg']}" if record else line)
    return "\n".join(rendered)


def panic_text(lines: list[str]) -> str:
    """The Go panic (or fatal error) block, or "" when the host died without one."""
    start = _panic_start(lines)
    if start is None:
        return ""
    block = [line for line in lines[start : start + TAIL_LINES] if _record(line) is None]
    return "\n".join(block).strip()


def _panic_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if _record(line) is None and line.lstrip().startswith(_PANIC_STARTS):
            return index
    return None
