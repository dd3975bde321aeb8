"""WhatsApp backends. Import a concrete backend only in a leaf process (session, native host)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wagw.config import Settings
    from wagw.whatsapp.backend import Backend


def make_backend(settings: Settings, role: str) -> Backend:
    """The configured backend for a device role ("session", "worker-1", …).

    The neonize module loads the Go runtime; this import is deferred so that pure-Python
    processes (supervisor, RQ workers) never load it.
    """
    if settings.backend == "fake":
        from wagw.whatsapp.fake import FakeBackend

        return FakeBackend(settings, role)
    from wagw.whatsapp.neonize_backend import NeonizeBackend

    return NeonizeBackend(settings, role)
