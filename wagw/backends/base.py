"""`wagw.backends.base.*`: the names a job that WhatsApp refused or failed shows (docs/jobs.md,
"Errors"), importable under them. They are defined in wagw.errors; the backend interface is
wagw.whatsapp.backend."""

from wagw.errors import (
    BackendError,
    ConnectFailure,
    LoggedOut,
    MissingSystemLibrary,
    NotPaired,
    StreamReplaced,
    TemporaryBan,
)

__all__ = [
    "BackendError",
    "ConnectFailure",
    "LoggedOut",
    "MissingSystemLibrary",
    "NotPaired",
    "StreamReplaced",
    "TemporaryBan",
]
