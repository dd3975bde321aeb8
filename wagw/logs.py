"""One log stream for every process.

Children started by a parent (supervisor -> worker, wa-worker -> native host) run in *wire*
mode: each record is one JSON line on stderr. The parent reads the child's merged stdout and
stderr, re-emits wire records under the child's name, and emits anything else (a Go panic
written straight to fd 2, redis-server's own output) as a raw line, so nothing is dropped.
Standalone processes (supervisord, a terminal) render text or JSON on stdout.
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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from loguru import logger

if TYPE_CHECKING:
    from wagw.config import Settings

WIRE_ENV = "WAGW_LOG_WIRE"
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


class _InterceptHandler(logging.Handler):
    """Route stdlib logging (rq, redis, neonize, httpx) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
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


def _line_sink(stream: TextIO | Console, shape, exception_field: str):
    """A loguru sink writing one JSON object a line, shaped by `shape(record)`."""

    def sink(message) -> None:
        record = message.record
        line = shape(record)
        if record["exception"] is not None:
            line[exception_field] = "".join(traceback.format_exception(*record["exception"])).rstrip()
        stream.write(json.dumps(line, default=str) + "\n")
        stream.flush()

    return sink


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


def console() -> Console | None:
    """The console of this process, if it logs to stdout (not in wire mode)."""
    return _console


def configure_logging(settings: Settings, process_name: str, *, wire: bool | None = None) -> None:
    """Configure loguru and stdlib logging for this process. Call once, at an entry point."""
    if wire is None:
        wire = os.environ.get(WIRE_ENV) == "1"
    logger.remove()
    logger.configure(extra={"proc": process_name}, patcher=_make_safe)
    level = settings.log_level
    global _console
    _console = None
    if wire:
        logger.add(_line_sink(sys.stderr, _wire_line, "exc"), level=level, format="{message}")
        return _configure_stdlib(level)
    out = _console = Console(sys.stdout)
    if settings.log_format == "json":
        logger.add(_line_sink(out, _json_line, "exception"), level=level, format="{message}")
    else:
        # A format function: loguru then appends no raw traceback of its own (_make_safe did).
        logger.add(out, level=level, format=lambda _record: TEXT_FORMAT, colorize=sys.stdout.isatty())
    _configure_stdlib(level)


def _configure_stdlib(level: str) -> None:
    # Installed before neonize is imported, so its logging.basicConfig() finds a handler and
    # leaves the root logger alone.
    logging.basicConfig(handlers=[_InterceptHandler()], level=level if level != "TRACE" else 5, force=True)
    for noisy in ("httpx", "httpcore", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


class ChildOutput:
    """Relays one child's output; once a panic or traceback starts, the rest of it is an error."""

    def __init__(self, child_name: str) -> None:
        self.child_name = child_name
        self.in_crash = False

    def relay(self, line: str) -> None:
        raw_level = relay_line(self.child_name, line, crashing=self.in_crash)
        if raw_level == "ERROR":
            self.in_crash = True


def relay_line(child_name: str, line: str, *, crashing: bool = False) -> str | None:
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
    level = "ERROR" if crashing or any(marker in line for marker in _PANIC_MARKERS) else "INFO"
    logger.bind(proc=child_name, raw=True).log(level, line)
    return level


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
