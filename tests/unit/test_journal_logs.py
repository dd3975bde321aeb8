"""Logs under journald: every line starts with its sd-daemon priority, re-emitted child lines
keep their own, redis-server's and waitress's lines sit at the level they deserve, and the
status systemd shows names what is fatal and what to do about it."""

from __future__ import annotations

import json
import logging
import os
import sys

import fakeredis
import pytest
from loguru import logger

from tests.unit.test_first_contact import exit_child, make_supervisor
from wagw.config import Settings
from wagw.exitcodes import ExitCode
from wagw.logs import ChildOutput, configure_logging, journal_priority, priority_prefix, relay_line
from wagw.supervisor import embedded_redis
from wagw.supervisor.state import State
from workers.wa.worker import one_line_reason


@pytest.mark.parametrize(
    ("level", "priority"),
    [
        ("TRACE", 7),
        ("DEBUG", 7),
        ("INFO", 6),
        ("NOTICE", 5),
        ("SUCCESS", 5),
        ("WARNING", 4),
        ("ERROR", 3),
        ("CRITICAL", 3),
    ],
)
def test_each_level_has_its_syslog_priority(level, priority):
    assert journal_priority(logger.level(level).no) == priority
    assert priority_prefix(logger.level(level).no) == f"<{priority}>"


class Stdout:
    """A file that stands in for stdout while logging is configured (pytest swaps sys.stdout
    around each test phase; the sink keeps the stream it was given)."""

    def __init__(self, path) -> None:
        self.path = path
        self.stream = open(path, "w")  # noqa: SIM115  # closed by the fixture

    def configure(self, process: str = "supervisor", **settings) -> None:
        stdout, sys.stdout = sys.stdout, self.stream
        try:
            configure_logging(Settings(_env_file=None, **settings), process, wire=False)
        finally:
            sys.stdout = stdout

    def lines(self) -> list[str]:
        self.stream.flush()
        return self.path.read_text().splitlines()


@pytest.fixture
def journal(tmp_path, monkeypatch):
    """stdout is a file that JOURNAL_STREAM names, as systemd names the journal's stream."""
    out = Stdout(tmp_path / "stdout")
    found = os.fstat(out.stream.fileno())
    monkeypatch.setenv("JOURNAL_STREAM", f"{found.st_dev}:{found.st_ino}")
    yield out
    logger.remove()
    out.stream.close()


def test_under_journald_every_text_line_starts_with_its_priority(journal):
    journal.configure("supervisor", log_level="DEBUG")
    logger.debug("looking")
    logger.info("started")
    logger.log("NOTICE", "noted")
    logger.warning("careful")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    lines = journal.lines()
    assert [line[:3] for line in lines[:4]] == ["<7>", "<6>", "<5>", "<4>"]
    assert lines[0].endswith("[supervisor] looking") and lines[3].endswith("[supervisor] careful")
    traceback = lines[4:]
    assert len(traceback) > 3 and traceback[0].endswith("failed")
    # journald files each line as its own entry: the traceback is all at error priority.
    assert all(line.startswith("<3>") for line in traceback), traceback
    assert traceback[-1] == "<3>    ValueError: boom"


def test_under_journald_json_lines_carry_the_prefix_and_stay_json(journal):
    journal.configure("supervisor", log_format="json")
    logger.error("bad")
    (line,) = journal.lines()
    assert line.startswith("<3>{")
    assert json.loads(line[3:])["message"] == "bad"


def test_a_journal_stream_naming_another_file_leaves_lines_as_they_are(journal, monkeypatch):
    # Inherited from a unit, but this process's output goes elsewhere (a file, a pipe).
    monkeypatch.setenv("JOURNAL_STREAM", "1:1")
    journal.configure("status")
    logger.error("bad")
    (line,) = journal.lines()
    assert not line.startswith("<") and line.endswith("[status] bad")


def test_without_journal_stream_no_prefix(journal, monkeypatch):
    monkeypatch.delenv("JOURNAL_STREAM")
    journal.configure("supervisor")
    logger.warning("careful")
    (line,) = journal.lines()
    assert line[:1].isdigit() and "WARNING [supervisor] careful" in line


def test_a_childs_relayed_lines_keep_their_own_priority(journal):
    journal.configure("supervisor")
    wire = {"level": "WARNING", "msg": "no webhook endpoints are configured here", "logger": "x", "proc": None}
    relay_line("webhook-worker-1", json.dumps(wire))
    relay_line("session", json.dumps({"level": "ERROR", "msg": "lost", "exc": "Traceback …\nValueError: x"}))
    relay_line("session", json.dumps({"level": "NOTICE", "msg": "noted"}))
    output = ChildOutput("wa-worker-1/host")
    for raw in ("starting", "panic: runtime error: invalid memory address", "goroutine 1 [running]:", "main.go:12"):
        output.relay(raw + "\n")
    lines = journal.lines()
    assert lines[0].startswith("<4>") and lines[0].endswith(
        "[webhook-worker-1] no webhook endpoints are configured here"
    )
    assert lines[1].startswith("<3>") and lines[1].endswith("[session] lost")
    assert lines[2:4] == ["<3>    Traceback …", "<3>    ValueError: x"]
    assert lines[4].startswith("<5>") and lines[4].endswith("[session] noted")
    assert lines[5].startswith("<6>") and lines[5].endswith("[wa-worker-1/host] starting")
    # A raw Go panic and every line after it: error priority.
    assert [line[:3] for line in lines[6:]] == ["<3>"] * 3
    assert lines[6].endswith("[wa-worker-1/host] panic: runtime error: invalid memory address")


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("41:M 06 Dec 2026 02:12:00.848 . Client closed connection", "DEBUG"),
        ("41:M 06 Dec 2026 02:12:00.848 - Accepted connection", "INFO"),
        ("41:M 06 Dec 2026 02:12:00.850 * The server is now ready to accept connections at /x.sock", "NOTICE"),
        ("41:M 06 Dec 2026 02:12:00.849 # WARNING Memory overcommit must be enabled! To fix this issue …", "WARNING"),
        ("41:M 06 Dec 2026 02:12:00.849 # Can't save in background: fork: Cannot allocate memory", "WARNING"),
        # Its start and stop announcements, which redis logs at its warning level to always show them.
        ("41:C 06 Dec 2026 02:12:00.847 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo", "NOTICE"),
        ("41:C 06 Dec 2026 02:12:00.847 # Redis version=6.2.14, bits=64, commit=40305114, just started", "NOTICE"),
        ("41:C 06 Dec 2026 02:12:00.847 # Configuration loaded", "NOTICE"),
        ("41:M 06 Dec 2026 02:12:00.849 # Server initialized", "NOTICE"),
        ("41:M 06 Dec 2026 02:12:09.830 # User requested shutdown...", "NOTICE"),
        ("41:M 06 Dec 2026 02:12:09.831 # Redis is now ready to exit, bye bye...", "NOTICE"),
        ("41:signal-handler (1796523129) Received SIGTERM scheduling shutdown...", "NOTICE"),
        ("41:M 06 Dec 2026 02:12:09.831 # Redis 6.2.14 crashed by signal: 11, si_code: 0", "ERROR"),
        ("=== REDIS BUG REPORT START: Cut & paste starting from here ===", "ERROR"),
        ("something redis-server printed without its format", "INFO"),
    ],
)
def test_redis_server_lines_take_the_level_of_their_mark(line, level):
    assert embedded_redis.log_level(line) == level


def test_relayed_redis_lines_get_their_marks_priority(journal):
    journal.configure("supervisor")
    output = ChildOutput("redis", embedded_redis.log_level)
    output.relay("41:M 06 Dec 2026 02:12:00.849 # Server initialized\n")
    output.relay("41:M 06 Dec 2026 02:12:00.849 # WARNING Memory overcommit must be enabled!\n")
    output.relay("41:M 06 Dec 2026 02:12:00.850 * Ready to accept connections\n")
    assert [line[:3] for line in journal.lines()] == ["<5>", "<4>", "<5>"]


def test_waitress_queue_depth_is_debug_and_its_other_warnings_stay(journal):
    journal.configure("dashboard", log_level="DEBUG")
    logging.getLogger("waitress.queue").warning("Task queue depth is %d", 2)
    logging.getLogger("waitress").warning("application-written content exceeded the number of bytes")
    lines = journal.lines()
    assert lines[0].startswith("<7>") and lines[0].endswith("Task queue depth is 2")
    assert lines[1].startswith("<4>") and "content exceeded" in lines[1]


def test_a_permanent_failure_reads_as_one_line_with_its_reason():
    from wagw.operations.args import InvalidArguments

    error = InvalidArguments("invalid arguments for send_text: to: Field required")
    assert one_line_reason(error) == (
        "workers.validation.InvalidArguments: invalid arguments for send_text: to: Field required"
    )
    crash = RuntimeError("outcome unknown: send_text may have reached WhatsApp\n--- stderr ---\npanic: x")
    assert one_line_reason(crash) == "builtins.RuntimeError: outcome unknown: send_text may have reached WhatsApp […]"


# What systemd shows: STATUS ---------------------------------------------------------------


class Notes:
    def __init__(self) -> None:
        self.statuses: list[str] = []
        self.watchdog_interval = None

    def status(self, status: str) -> None:
        self.statuses.append(status)


def test_status_names_each_fatal_child_and_its_fix():
    sup, _clock, children = make_supervisor(fakeredis.FakeRedis())
    sup.notifier = Notes()  # type: ignore[assignment]
    exit_child(children["session"], ExitCode.NOT_PAIRED, sup)
    assert children["session"].state is State.FATAL
    sup._publish()
    assert sup.notifier.statuses[-1] == (  # type: ignore[attr-defined]
        "1 fatal, 2 running; session fatal: not paired — run `wagw pair --role session`"
    )
    exit_child(children["wa-worker-1"], ExitCode.LOGGED_OUT, sup)
    exit_child(children["scheduler"], ExitCode.CONFIG, sup)
    status = sup._status_line()
    assert status.startswith("3 fatal; scheduler fatal: invalid settings — the log names the setting")
    assert "wa-worker-1 fatal: logged out by the phone — run `wagw pair --role worker-1 --force`" in status
    assert "session fatal: not paired" in status


def test_status_of_a_child_that_failed_to_start_says_where_to_look():
    sup, _clock, children = make_supervisor(fakeredis.FakeRedis())
    child = children["scheduler"]
    child.state, child.last_exit, child.fatal_reason = State.FATAL, 1, "failed to start 5 times in a row"
    assert sup._status_line().endswith(
        "scheduler fatal: failed to start 5 times in a row — its errors: `journalctl -u wagw -p err`"
    )


def test_everything_running_is_just_the_counts():
    sup, _clock, _children = make_supervisor(fakeredis.FakeRedis())
    assert sup._status_line() == "3 running"


def test_the_status_reaches_systemd_in_utf8(tmp_path, monkeypatch):
    import socket

    from wagw.supervisor.notify import Notifier

    path = str(tmp_path / "notify.sock")
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(path)
    systemd.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    notifier = Notifier()
    status = "1 fatal, 2 running; session fatal: not paired — run `wagw pair --role session`"
    notifier.ready(status)
    notifier.status("2 running; ünïcode")
    assert systemd.recv(4096).decode() == f"READY=1\nSTATUS={status}"
    assert systemd.recv(4096).decode() == "STATUS=2 running; ünïcode"
    systemd.close()
