"""The one module in wagw that imports neonize, and with it the Go runtime (whatsmeow).

Everything in wagw/whatsapp/ that needs neonize asks `load()` for it, so the Go library is
loaded in exactly one way, only by the leaf processes that call it (session, native hosts,
the pairing child), and a missing system dependency fails with one clear message instead of
a traceback from deep inside an import.

The dependency that is easy to miss: `neonize.client` imports python-magic, which loads the
system library libmagic1 with ctypes. Without it python-magic raises "failed to find
libmagic"; `load()` turns that into MissingSystemLibrary, which names the package to install
and exits the process with ExitCode.CONFIG (restarting cannot fix it).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from wagw.whatsapp.backend import MissingSystemLibrary

LIBMAGIC_HINT = (
    "neonize cannot be loaded: the system library libmagic1 is missing "
    "(neonize imports python-magic, which needs it). Install it: `apt-get install libmagic1` "
    "(Debian/Ubuntu; `dnf install file-libs` on Fedora/RHEL, `apk add libmagic` on Alpine)"
)


@dataclass(frozen=True)
class Neonize:
    """neonize's modules, loaded. Untyped (neonize ships no type information)."""

    client: Any  # neonize.client: NewClient, ClientFactory
    events: Any  # neonize.events: the event classes, Event.execute, INT_TO_EVENT
    exc: Any  # neonize.exc: NeonizeError and its subclasses
    proto: Any  # neonize.proto.Neonize_pb2: JID, GroupInfo, GetProfilePictureParams, …
    e2e: Any  # neonize.proto.waE2E.WAWebProtobufsE2E_pb2: Message, ContextInfo, …
    enum: Any  # neonize.utils.enum: ReceiptType, …
    binder: Any  # neonize._binder: the loaded Go library (`gocode`) and its ctypes types


_lock = threading.Lock()
_loaded: Neonize | None = None

# neonize warns at the first connect() of each process (every pairing, session and native host
# start) that the ffmpeg program is missing. wagw never runs neonize's helpers that need it
# (its video, audio and sticker sends are built without them: docs/jobs.md), so that warning,
# and only that one, is dropped; `wagw doctor` says what needs what.
FFMPEG_LOGGER = "neonize.utils.ffmpeg"
FFMPEG_WARNING = "neonize: %s not found on PATH"


class NoFfmpegWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(FFMPEG_WARNING))


def _quiet_ffmpeg_warning() -> None:
    found = logging.getLogger(FFMPEG_LOGGER)
    if not any(isinstance(each, NoFfmpegWarning) for each in found.filters):
        found.addFilter(NoFfmpegWarning())


def is_missing_libmagic(error: ImportError) -> bool:
    """python-magic's own error for an absent libmagic (or the magic module itself missing)."""
    return "libmagic" in str(error) or getattr(error, "name", None) == "magic"


def load() -> Neonize:
    """neonize, imported once per process; MissingSystemLibrary when libmagic1 is absent."""
    global _loaded
    with _lock:
        if _loaded is None:
            try:
                import neonize.client as client  # imports python-magic, then loads the Go library
            except ImportError as error:
                if is_missing_libmagic(error):
                    raise MissingSystemLibrary(f"{LIBMAGIC_HINT} [{error}]") from error
                raise
            import neonize._binder as binder
            import neonize.events as events
            import neonize.exc as exc
            import neonize.utils.enum as enum
            from neonize.proto import Neonize_pb2 as proto
            from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as e2e

            _quiet_ffmpeg_warning()
            _loaded = Neonize(client=client, events=events, exc=exc, proto=proto, e2e=e2e, enum=enum, binder=binder)
        return _loaded
