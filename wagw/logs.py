"""One log stream for every process.

Children started by a parent (supervisor -> worker, wa-worker -> native host) run in *wire*
mode: each record is one JSON line on stderr. The parent reads the child's merged stdout and
stderr, re-emits wire records under the child's name, and emits anything else (a Go panic
written straight to fd 2, redis-server's own output) as a raw line, so nothing is dropped.
Standalone processes (supervisord, a terminal) render text or JSON on stdout; when that
stdout is the journal's stream (systemd's JOURNAL_STREAM names it), every line starts with its
sd-daemon(3) priority (`<3>` error, `<4>` warning, `<5>` notice, `<6>` info, `<7>` debug), so
`journalctl -p err` finds errors, whichever process logged them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import traceback
import unicodedata
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from loguru import logger

if TYPE_CHECKING:
    from wagw.config import Settings

WIRE_ENV = "WAGW_LOG_WIRE"
JOURNAL_ENV = "JOURNAL_STREAM"  # "<device>:<inode>" of the journal's stream, set by systemd
# syslog's "normal but significant" (redis-server's `*` lines); between INFO and WARNING.
NOTICE = "NOTICE"
try:
    logger.level(NOTICE)
except ValueError:
    logger.level(NOTICE, no=25, color="<bold>")
# sd-daemon(3) priority of a level: the first whose floor the level's number reaches.
_PRIORITIES = ((40, 3), (30, 4), (21, 5), (20, 6))  # error and critical, warning, notice, info
_DEBUG_PRIORITY = 7
TEXT_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>[{extra[proc]}]</cyan> {extra[text]}\n"
)
# Logged text (a job's arguments, a peer's reply, a contact's name) must not be able to
# rewrite, forge or disguise log lines. Escaped: control characters other than tab and
# newline (terminal escapes, carriage returns), and every character that draws nothing or
# reorders what follows it: format characters (bidi overrides, zero-width characters, tags),
# line and paragraph separators, surrogates, private-use and unassigned code points, and the
# letters that are blank by design (Hangul fillers).
_ASCII_CONTROL = "[\x00-\x08\x0b-\x1f\x7f-\x9f]"
_SUSPECT = re.compile(f"{_ASCII_CONTROL}|[^\x00-\x9f]+")  # runs past the Latin-1 controls are looked up
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
# A continuation line starts with this, so no line of a message can pass for a new record.
CONTINUATION = "\n    "
_PANIC_MARKERS = ("panic:", "fatal error:", "SIGABRT", "SIGSEGV", "Traceback")
# Lines libraries log above their weight: (stdlib logger, message template) -> level.
ROUTINE_LINES = {
    # waitress (the dashboard) has more requests than threads: the page polls several at once.
    ("waitress.queue", "Task queue depth is %d"): "DEBUG",
}


class _InterceptHandler(logging.Handler):
    """Route stdlib logging (rq, redis, neonize, httpx) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        level: str | int | None = ROUTINE_LINES.get((record.name, record.msg)) if isinstance(record.msg, str) else None
        if level is None:
            try:
                level = logger.level(record.levelname).name
            except ValueError:
                level = record.levelno
        logger.bind(logger_name=record.name).opt(exception=record.exc_info).log(level, record.getMessage())


def _escaped(char: str) -> str:
    return char.encode("unicode_escape").decode("ascii")


def _shown(match: re.Match[str]) -> str:
    text = match.group()
    if text.isprintable() and _BLANK_LETTERS.isdisjoint(text):  # in C: most runs of other scripts
        return text
    return "".join(
        _escaped(char) if unicodedata.category(char) in _HIDDEN_CATEGORIES or char in _BLANK_LETTERS else char
        for char in text
    )


def escape_controls(text: str) -> str:
    """`text` with control, format and invisible characters (but tab and newline) shown as
    escapes (`\\x1b`, `\\u202e`)."""
    return _SUSPECT.sub(_shown, text)


def _make_safe(record) -> None:
    """Patcher for every record of every process: the one place log text is made safe.

    JSON sinks keep newlines (JSON escapes them); the text sink indents continuation lines.
    """
    record["message"] = escape_controls(record["message"])
    text = record["message"]
    if record["exception"] is not None:
        text += "\n" + escape_controls("".join(traceback.format_exception(*record["exception"])).rstrip())
    record["extra"]["text"] = text.replace("\n", CONTINUATION)


def _wire_line(record) -> dict:
    return {
        "level": record["level"].name,
        "msg": record["message"],
        "logger": record["extra"].get("logger_name") or record["name"],
        "proc": record["extra"].get("proc"),
    }


def _json_line(record) -> dict:
    return {
        "time": record["time"].astimezone(UTC).isoformat(timespec="milliseconds"),
        "level": record["level"].name,
        "process": record["extra"].get("proc"),
        "message": record["message"],
        **{k: v for k, v in record["extra"].items() if k not in ("proc", "text")},
    }


def _line_sink(stream: TextIO | Console, shape, exception_field: str, *, journal: bool = False):
    """A loguru sink writing one JSON object a line, shaped by `shape(record)`."""

    def sink(message) -> None:
        record = message.record
        line = shape(record)
        if record["exception"] is not None:
            line[exception_field] = "".join(traceback.format_exception(*record["exception"])).rstrip()
        prefix = priority_prefix(record["level"].no) if journal else ""
        stream.write(prefix + json.dumps(line, default=str) + "\n")
        stream.flush()

    return sink


def journal_priority(level_no: int) -> int:
    """The syslog priority journald files a record of this loguru level under."""
    return next((priority for floor, priority in _PRIORITIES if level_no >= floor), _DEBUG_PRIORITY)


def priority_prefix(level_no: int) -> str:
    """sd-daemon(3)'s line prefix for this level: `<3>` for an error, …"""
    return f"<{journal_priority(level_no)}>"


def _journal_text_sink(stream: TextIO | Console):
    """The text sink under journald: each line of a record (a traceback's too) carries the
    record's priority, since journald files every line as an entry of its own."""

    def sink(message) -> None:
        prefix = priority_prefix(message.record["level"].no)
        lines = str(message).rstrip("\n").split("\n")
        stream.write("".join(f"{prefix}{line}\n" for line in lines))
        stream.flush()

    return sink


def to_journal(stream: TextIO) -> bool:
    """Is `stream` the journal's? systemd sets JOURNAL_STREAM to the device and inode of the
    stream it connects; a process whose output went elsewhere (a file, a pipe) only inherited it."""
    device, _, inode = os.environ.get(JOURNAL_ENV, "").partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        found = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # closed, or no descriptor (a test's StringIO)
        return False
    return (found.st_dev, found.st_ino) == (int(device), int(inode))


# Lines a held console keeps back at most; past that the oldest are dropped (and counted).
HOLD_LIMIT = 10_000


class Console:
    """A standalone process's stdout, which can be held: while `wagw run` shows a pairing QR
    code on the terminal, its log lines wait here instead of scrolling the code away."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()
        self._held: deque[str] | None = None
        self._dropped = 0

    def write(self, text: str) -> None:
        with self._lock:
            if self._held is None:
                self.stream.write(text)
                return
            if len(self._held) == self._held.maxlen:
                self._dropped += 1
            self._held.append(text)

    def flush(self) -> None:
        with self._lock:
            if self._held is None:
                self.stream.flush()

    @property
    def holding(self) -> bool:
        return self._held is not None

    def hold(self) -> None:
        with self._lock:
            if self._held is None:
                self._held, self._dropped = deque(maxlen=HOLD_LIMIT), 0

    def release(self) -> int:
        """Write what was held, oldest first; returns how many lines were held."""
        with self._lock:
            held, dropped, self._held = self._held, self._dropped, None
            if not held:
                return 0
            self.stream.write(f"--- {len(held) + dropped} log lines held while pairing")
            self.stream.write(f" ({dropped} oldest dropped) ---\n" if dropped else " ---\n")
            for text in held:
                self.stream.write(text)
            self.stream.flush()
            return len(held) + dropped


_console: Console | None = None
_wire_level: str | None = None  # the level of the wire sink configure_logging installed last
_handed_down = False  # set in the fork server: its children inherit that sink (hand_down_sink)


def console() -> Console | None:
    """The console of this process, if it logs to stdout (not in wire mode)."""
    return _console


def forget_sinks() -> None:
    """No sink at all, until configure_logging: for a forked process whose inherited sinks
    write to a descriptor that now means something else."""
    global _console, _wire_level, _handed_down
    logger.remove()
    _console = _wire_level = None
    _handed_down = False


def hand_down_sink() -> None:
    """The fork server's: the children it forks keep its wire sink (their fd 2 is their own
    output by then) instead of setting one up again, which would write to pages they
    otherwise keep sharing with it (~1.4 MB a child). configure_logging takes it once."""
    global _handed_down
    _handed_down = _wire_level is not None


def configure_logging(settings: Settings, process_name: str, *, wire: bool | None = None) -> None:
    """Configure loguru and stdlib logging for this process. Call once, at an entry point."""
    if wire is None:
        wire = os.environ.get(WIRE_ENV) == "1"
    level = settings.log_level
    global _console, _wire_level, _handed_down
    inherited, _handed_down = _handed_down, False
    if wire and inherited and _wire_level == level:  # forked from the server: the same sink
        logger.configure(extra={"proc": process_name}, patcher=_make_safe)
        return
    logger.remove()
    logger.configure(extra={"proc": process_name}, patcher=_make_safe)
    _console = None
    _wire_level = None
    if wire:
        logger.add(_line_sink(sys.stderr, _wire_line, "exc"), level=level, format="{message}")
        _configure_stdlib(level)
        _wire_level = level
        return
    out = _console = Console(sys.stdout)
    journal = to_journal(sys.stdout)
    if settings.log_format == "json":
        logger.add(_line_sink(out, _json_line, "exception", journal=journal), level=level, format="{message}")
    elif journal:
        logger.add(_journal_text_sink(out), level=level, format=lambda _record: TEXT_FORMAT, colorize=False)
    else:
        # A format function: loguru then appends no raw traceback of its own (_make_safe did).
        logger.add(out, level=level, format=lambda _record: TEXT_FORMAT, colorize=sys.stdout.isatty())
    _configure_stdlib(level)


def _configure_stdlib(level: str) -> None:
    # Installed before neonize is imported, so its logging.basicConfig() finds a handler and
    # leaves the root logger alone.
    logging.basicConfig(handlers=[_InterceptHandler()], level=level if level != "TRACE" else 5, force=True)
    for noisy in ("httpx", "httpcore", "urllib3", "werkzeug", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


class ChildOutput:
    """Relays one child's output; once a panic or traceback starts, the rest of it is an error.

    `raw_level` reads the level of a line that is not a wire record from the line itself (for a
    program with a log format of its own, such as redis-server); without it such a line is INFO.
    """

    def __init__(self, child_name: str, raw_level: Callable[[str], str] | None = None) -> None:
        self.child_name = child_name
        self.raw_level = raw_level
        self.in_crash = False

    def relay(self, line: str) -> None:
        raw_level = relay_line(self.child_name, line, crashing=self.in_crash, raw_level=self.raw_level)
        if raw_level == "ERROR":
            self.in_crash = True


def relay_line(
    child_name: str, line: str, *, crashing: bool = False, raw_level: Callable[[str], str] | None = None
) -> str | None:
    """Re-emit one line a child wrote, under the child's name. Returns the level of a raw line."""
    line = line.rstrip("\r\n")
    if not line:
        return None
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and "msg" in record and "level" in record:
            message = record["msg"]
            if record.get("exc"):
                message = f"{message}\n{record['exc']}"
            level = record["level"]
            try:
                logger.level(level)
            except ValueError:
                level = "INFO"
            # A grandchild's line relayed by a child keeps its own, more precise name.
            proc = record.get("proc") or child_name
            logger.bind(proc=proc, logger_name=record.get("logger")).log(level, message)
            return None
    if crashing or any(marker in line for marker in _PANIC_MARKERS):
        level = "ERROR"  # a Go panic or a Python traceback written straight to stderr
    else:
        level = raw_level(line) if raw_level is not None else "INFO"
    logger.bind(proc=child_name, raw=True).log(level, line)
    return level


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
