"""Named exit codes shared by every wagw process; the restart policies (wagw.childstate) key on them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    # chaos.run: the run itself could not be carried out, so no target was judged (1: a
    # target was missed). argparse exits 2 too, on a bad command line.
    ABORTED = 2
    NOT_RUNNING = 3  # wagw status: no supervisor, as `systemctl status` says of a stopped unit
    USAGE = 64  # EX_USAGE
    TEMPFAIL = 75  # EX_TEMPFAIL: network trouble; restart with normal backoff
    CONFIG = 78  # EX_CONFIG: bad settings; never retried
    NOT_PAIRED = 80  # the device has no keys: run `wagw pair`
    LOGGED_OUT = 81  # the phone removed this linked device: pair again
    STREAM_REPLACED = 82  # another client connected with the same keys
    TEMP_BANNED = 83  # WhatsApp temporarily banned the account: long backoff

    @classmethod
    def describe(cls, code: int | None) -> str:
        """A human name for a raw exit status (negative = killed by signal)."""
        if code is None:
            return "-"
        if code < 0:
            import signal

            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        try:
            return cls(code).name.lower()
        except ValueError:
            return f"exit {code}"


# Exits the supervisor must not retry: restarting cannot fix them.
FATAL_EXITS = frozenset({ExitCode.CONFIG, ExitCode.NOT_PAIRED, ExitCode.LOGGED_OUT, ExitCode.STREAM_REPLACED})

# Fatal exits that a new pairing of the device fixes: a running supervisor restarts such a
# child by itself once `wagw pair` has linked its role again (wagw.devices.paired_since).
PAIRING_FIXES = frozenset({ExitCode.NOT_PAIRED, ExitCode.LOGGED_OUT, ExitCode.STREAM_REPLACED})

# Exits that are retried, but only after a long pause.
LONG_BACKOFF_EXITS = frozenset({ExitCode.TEMP_BANNED})

# A wa-worker's native host (workers.wa.host_restarts, under wagw.childstate.NATIVE_HOST).
# The exits a host chooses itself (a backend error's code, 0 on stdin EOF): a host that ends
# any other way during a call crashed (a Go panic, a signal, an unexpected error), which
# counts toward quarantine (wagw.quarantine).
HOST_CLEAN_EXITS = frozenset(
    {
        ExitCode.OK,
        ExitCode.TEMPFAIL,
        ExitCode.NOT_PAIRED,
        ExitCode.LOGGED_OUT,
        ExitCode.STREAM_REPLACED,
        ExitCode.TEMP_BANNED,
    }
)
# After these exits the wa-worker starts no host by itself until `wagw pair` links the slot
# again (workers.wa.host_restarts): it stays up and fails the slot's jobs at once, naming the
# fix. Stream replaced is one of them: whatsmeow means another connection with the same keys,
# and connecting again would throw that one off, and it us, back and forth.
HOST_FATAL_EXITS = frozenset({ExitCode.NOT_PAIRED, ExitCode.LOGGED_OUT, ExitCode.STREAM_REPLACED})
# Of those, the one after which a fresh host looks at the keys again when a job arrives and
# every minute: a host without keys reads its store and never reaches WhatsApp.
HOST_RECHECK_EXITS = frozenset({ExitCode.NOT_PAIRED})
# A temporary ban waits the long backoff (jobs meanwhile fail at once, retried per their Retry).
# Every other exit is retried with the host's own backoff.
HOST_LONG_BACKOFF_EXITS = LONG_BACKOFF_EXITS

# What to do about a child the supervisor gave up on, by its exit ({role}: the child's device).
# Shown in systemd's STATUS (`systemctl status wagw`) and in the log line saying it is fatal.
FATAL_FIXES: dict[int, str] = {
    ExitCode.CONFIG: "invalid settings — the log names the setting; fix it, then restart wagw",
    ExitCode.NOT_PAIRED: "not paired — run `wagw pair --role {role}`",
    ExitCode.LOGGED_OUT: "logged out by the phone — run `wagw pair --role {role} --force`",
    ExitCode.STREAM_REPLACED: (
        "another client connected with its keys — stop it (a copy of this data dir?), then "
        "`systemctl reload wagw`; or link a new device: `wagw pair --role {role} --force`"
    ),
}


def fatal_fix(code: int | None, role: str | None) -> str | None:
    """What fixes a child that exited fatally with `code`, or None for an exit without one."""
    fix = FATAL_FIXES.get(code) if code is not None else None
    return fix.format(role=role or "session") if fix else None
