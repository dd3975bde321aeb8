"""Downloaded media's file extensions, by mimetype: one table for download_media, which names
its files `<sha256>.<ext>` with it (workers/wa/downloads.py), and for the webhook worker, which
takes a download's path only with the extension this table gives for the event's own
mimetype (workers/webhooks/media.py)."""

from __future__ import annotations

# Mimetypes without parameters; anything else is stored as ".bin".
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/aac": "aac",
    "audio/amr": "amr",
    "audio/wav": "wav",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/gzip": "gz",
    "text/plain": "txt",
}
OTHER = "bin"
# Every extension a download can have.
ALL = frozenset(EXTENSIONS.values()) | {OTHER}


def extension(mimetype: str) -> str:
    """The extension for a mimetype ("audio/ogg; codecs=opus" -> "ogg")."""
    return EXTENSIONS.get(mimetype.split(";", 1)[0].strip().lower(), OTHER)
