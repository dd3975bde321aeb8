"""download_media's wa-worker half: store the bytes the native host downloaded.

The host downloads, verifies and decrypts in Go (whatsmeow, from the media object's direct
path on WhatsApp's media hosts; wagw never fetches the event's URL). Its bytes arrive here
as base64; this module checks them against the object (size cap per kind, sha256), writes
them to WAGW_MEDIA_DIR under a content-addressed name `<sha256>.<ext>` (the extension from a
fixed table, never from the caller: no caller-chosen names or paths), mode 0600 in a folder
created 0700, and removes downloads older than WAGW_MEDIA_RETENTION now and then. The
extension table (wagw/mediatypes.py) is shared with the webhook worker, which checks a
download's path against it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from wagw.mediatypes import extension
from wagw.operations.args import MAX_DOWNLOAD_BYTES, InvalidArguments
from workers.wa.media import OCTET_STREAM, sniff

if TYPE_CHECKING:
    from wagw.config import Settings

# What download_media writes, and the only names retention removes.
STORED = re.compile(r"[0-9a-f]{64}\.[a-z0-9]{1,8}")
LEFTOVER = re.compile(r"\.[0-9a-f]{64}\.[a-z0-9]{1,8}\.[0-9]+\.[0-9]+\.tmp")  # a write cut short
PRUNE_EVERY = 3600.0  # seconds between two retention sweeps of one wa-worker

_pruned_at: float | None = None
_prune_lock = threading.Lock()


def _invalid(message: str) -> InvalidArguments:
    return InvalidArguments(f"invalid arguments for download_media: media: {message}")


def mimetype_of(data: bytes, claimed: str | None) -> str:
    """The event's mimetype when it has one (WhatsApp's, e.g. "audio/ogg; codecs=opus"), else
    what the bytes show, else application/octet-stream."""
    return claimed or sniff(data) or OCTET_STREAM


def store(result: dict[str, Any], media: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Write the host's bytes to the media folder: {path, mimetype, size, sha256}."""
    try:
        data = base64.b64decode(result["data_b64"], validate=True)
    except (KeyError, TypeError, binascii.Error, ValueError):
        raise RuntimeError("download_media: the native host returned no media bytes") from None
    kind = media["kind"]
    cap = MAX_DOWNLOAD_BYTES[kind]
    if not data:
        raise _invalid("the downloaded file is empty")
    if len(data) > cap:
        raise _invalid(f"{len(data)} bytes is more than the {cap} bytes a {kind} may have")
    digest = hashlib.sha256(data).hexdigest()
    expected = media.get("file_sha256")
    if expected and base64.b64decode(expected).hex() != digest:
        raise _invalid("the downloaded bytes do not match file_sha256")
    mimetype = mimetype_of(data, media.get("mime_type") or result.get("mimetype"))
    path = write(settings.media_path, f"{digest}.{extension(mimetype)}", data)
    prune(settings.media_path, settings.media_retention)
    logger.debug("download_media stored {} bytes of a {}", len(data), kind)
    return {"path": str(path), "mimetype": mimetype, "size": len(data), "sha256": digest}


def write(folder: Path, name: str, data: bytes) -> Path:
    """`data` as folder/name, mode 0600, replaced atomically (a reader never sees half a file);
    the folder is created 0700. `name` is content-addressed (STORED), never the caller's."""
    if not STORED.fullmatch(name):
        raise ValueError(f"not a content-addressed name: {name!r}")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / name
    temporary = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def prune(folder: Path, retention: float, *, now: float | None = None, force: bool = False) -> int:
    """Remove downloads (STORED names, regular files directly in `folder`, symlinks never
    followed) last modified more than `retention` seconds ago; at most once per PRUNE_EVERY
    unless forced. Returns how many were removed."""
    global _pruned_at
    now = time.time() if now is None else now
    with _prune_lock:
        if not force and _pruned_at is not None and time.monotonic() - _pruned_at < PRUNE_EVERY:
            return 0
        _pruned_at = time.monotonic()
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not (STORED.fullmatch(entry.name) or LEFTOVER.fullmatch(entry.name)):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime <= retention:
                continue
            os.unlink(entry.path)
            removed += 1
        except OSError as error:
            logger.debug("retention: {} not removed: {}", entry.name, error)
    if removed:
        logger.info("retention: removed {} downloaded media files older than {:g} seconds", removed, retention)
    return removed
