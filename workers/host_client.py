"""`workers.host_client.*`: the names a job that failed at its native host shows (docs/jobs.md,
"Errors"), importable under them. They are defined in wagw.errors; the host client itself is
workers.wa.host_client."""

from wagw.errors import (
    HostCallError,
    HostCrashed,
    HostError,
    HostTimeout,
    HostUnavailable,
    SlotBanned,
    SlotLoggedOut,
    SlotNotPaired,
    SlotReplaced,
)

__all__ = [
    "HostCallError",
    "HostCrashed",
    "HostError",
    "HostTimeout",
    "HostUnavailable",
    "SlotBanned",
    "SlotLoggedOut",
    "SlotNotPaired",
    "SlotReplaced",
]
