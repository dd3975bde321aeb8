"""`wagw run` with its stdout named by JOURNAL_STREAM, as systemd runs it: every line it writes
starts with an sd-daemon priority, the lines it re-emits for its children (redis-server's, a
worker's, a Go panic's) keep theirs, and a job with bad arguments is one warning line."""

from __future__ import annotations

import json
import re
import signal

from rq import Queue

from chaos.polling import wait_for
from wagw import keys
from wagw.redisconn import SERIALIZER

PREFIX = re.compile(r"<([3-7])>")


def priority_of(lines: list[str], text: str) -> str:
    """The prefix of the first line containing `text`."""
    line = next((line for line in lines if text in line), None)
    assert line is not None, f"no line with {text!r}"
    return line[:3]


def test_wagw_run_under_journald_writes_each_line_with_its_priority(daemon_factory):
    daemon = daemon_factory()
    daemon.log_path.touch()  # its stdout: systemd names the journal's stream by device and inode
    found = daemon.log_path.stat()
    daemon.env["JOURNAL_STREAM"] = f"{found.st_dev}:{found.st_ino}"
    daemon.start()

    # A user error in a wa-worker: bad arguments.
    job = Queue(keys.WA_QUEUE, connection=daemon.redis, serializer=SERIALIZER).enqueue(
        "workers.wa.send_text", to="15551234567@s.whatsapp.net"
    )
    wait_for(lambda: job.get_status(refresh=True) == "failed", 20, 0.05, "the bad job to fail")
    # A real Go panic in the session, written by the Go runtime straight to its stderr.
    session = daemon.child_pid("session")
    daemon.redis.rpush(keys.FAKE_INBOUND, json.dumps({"type": "crash"}))
    wait_for(lambda: daemon.child_pid("session") not in (None, session), 15, 0.05, "the session back after its panic")
    assert daemon.process("session")["last_exit"] == -signal.SIGABRT
    wait_for(lambda: f"job {job.id} (workers.wa.send_text) failed" in daemon.log_text(), 10, 0.05, "the job's line")
    assert daemon.stop() == 0

    lines = daemon.log_text().splitlines()
    unprefixed = [line for line in lines if not PREFIX.match(line)]
    assert not unprefixed, unprefixed[:5]
    # The supervisor's own lines, and the lines it re-emits under each child's name.
    assert priority_of(lines, "[supervisor] wagw ") == "<6>"
    assert priority_of(lines, "[scheduler] scheduler started") == "<6>"
    assert priority_of(lines, "[webhook-worker-1] no webhook endpoints are configured") == "<4>"
    assert priority_of(lines, "[redis] ") == "<5>"  # "Redis is starting": an announcement, not a warning
    assert priority_of(lines, "Server initialized") == "<5>"
    ready = next(line for line in lines if "ready to accept connections" in line.lower())
    assert ready.startswith("<5>")
    # The Go panic and the trace after it: error.
    panic_at = next(i for i, line in enumerate(lines) if "[session] panic:" in line)
    assert lines[panic_at].startswith("<3>")
    assert lines[panic_at + 1].startswith("<3>") and "[session]" in lines[panic_at + 1]
    assert priority_of(lines, "session: running -> backoff") == "<4>"
    # The user error: one warning line with the reason, no traceback.
    failed = [i for i, line in enumerate(lines) if f"job {job.id}" in line and "failed" in line]
    assert len(failed) == 1, [lines[i] for i in failed]
    line = lines[failed[0]]
    assert line.startswith("<4>") and "[wa-worker-1]" in line
    reason = "workers.validation.InvalidArguments: invalid arguments for send_text: text: Field required"
    assert line.endswith(f"failed, not retried: {reason}")
    assert not lines[failed[0] + 1].startswith(("<4>    ", "<3>    "))  # no continuation lines
    assert all("Traceback" not in line for line in lines if "[wa-worker-1]" in line)
