"""Media arguments of wa jobs (send_image, set_group_photo): an http(s) URL, a file in the media folder
or base64, turned into bytes and a mimetype sniffed from those bytes. Runs in the wa-worker,
before the call reaches the native host.

The trust rules (docs/security.md): a job reads local files only inside WAGW_MEDIA_DIR (after
resolving symlinks) and fetches URLs only from public addresses (workers/wa/fetch.py). Error
messages say the same for a missing file and one outside the folder, so a job cannot probe
the file system.
"""

from __future__ import annotations

import base64
import binascii
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from wagw.operations.args import MAX_IMAGE_BYTES, InvalidArguments
from wagw.operations.images import check_decodes
from workers.wa.fetch import FetchFailed, fetch

if TYPE_CHECKING:
    from wagw.config import Settings

FETCH_TIMEOUT = 30.0  # seconds at most for one download, within the job's own timeout
MAX_PATH = 4096
# The jobs whose `image` argument goes through these rules before the host sees it.
IMAGE_OPERATIONS = frozenset({"send_image", "set_group_photo"})
NOT_IN_MEDIA_DIR = "not a file in the media folder (WAGW_MEDIA_DIR)"


class ImageDownloadFailed(RuntimeError):
    """The image URL could not be fetched now (network, 5xx): worth a retry."""

    __module__ = "workers.wa"  # the name job failures have always shown (docs/jobs.md)


def _invalid(message: str) -> InvalidArguments:
    return InvalidArguments(f"invalid arguments for send_image: image: {message}")


def image_params(
    params: dict[str, Any], settings: Settings, deadline: float | None, operation: str = "send_image"
) -> dict[str, Any]:
    """`image` (URL, media-folder path or base64) -> `image_b64` and a sniffed `mimetype`."""
    try:
        return _image_params(params, settings, deadline)
    except InvalidArguments as error:
        if operation == "send_image":
            raise
        raise InvalidArguments(str(error).replace("for send_image:", f"for {operation}:", 1)) from None


def _image_params(params: dict[str, Any], settings: Settings, deadline: float | None) -> dict[str, Any]:
    kind, value = image_source(params.pop("image"), settings.media_path)
    if kind == "url":
        data = download(value, settings, deadline)
    elif kind == "path":
        data = read_media_file(value, settings.media_path)
    else:
        data = decode_base64(value)
    params["mimetype"] = sniff_image(data)
    try:
        check_decodes(data)  # what neonize does with it first: a corrupt image fails here, never retried
    except ValueError as error:
        raise _invalid(str(error)) from None
    params["image_b64"] = base64.b64encode(data).decode()
    return params


def download(url: str, settings: Settings, deadline: float | None) -> bytes:
    budget = FETCH_TIMEOUT if deadline is None else max(1.0, min(FETCH_TIMEOUT, deadline - time.monotonic() - 1))
    try:
        data = fetch(url, max_bytes=MAX_IMAGE_BYTES, timeout=budget, allow_private=settings.fetch_private)
    except FetchFailed as error:
        if error.retryable:
            raise ImageDownloadFailed(f"downloading the image failed: {error}") from None
        raise _invalid(f"the URL cannot be used: {error}") from None
    check_image_size(len(data))
    logger.debug("downloaded {} bytes for an image", len(data))
    return data


_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_image(data: bytes) -> str:
    """The image's mimetype from its first bytes; InvalidArguments if it is not an image."""
    for magic, mimetype in _MAGIC:
        if data.startswith(magic):
            return mimetype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise _invalid("not a JPEG, PNG, GIF or WebP image")


def _in_media_dir(value: str, media_dir: Path) -> Path | None:
    """The file `value` names (absolute, or relative to the media folder) when it is a regular
    file inside the folder once symlinks are resolved; else None."""
    if len(value) > MAX_PATH:
        return None
    root = media_dir.resolve()
    try:
        path = (root / value).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return path if path.is_relative_to(root) and path.is_file() else None


def image_source(value: str, media_dir: Path) -> tuple[str, str]:
    """Classify send_image's `image`: ("url", url) | ("path", path) | ("bytes", base64 text).

    A JPEG's base64 starts with "/9j/", so a leading slash means a path only if that file
    exists in the media folder.
    """
    text = value.strip()
    lowered = text[:8].lower()
    if lowered.startswith(("http://", "https://")):
        return "url", text
    if lowered.startswith("file://"):
        return "path", text[len("file://") :]
    if text.startswith("data:"):
        header, sep, payload = text.partition(",")
        if not sep or ";base64" not in header:
            raise _invalid("a data: URL must be base64")
        return "bytes", payload
    if text.startswith(("/", "./")) and _in_media_dir(text, media_dir) is not None:
        return "path", text
    return "bytes", text


def decode_base64(text: str) -> bytes:
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("not an http(s) URL, base64 data or a file in the media folder (WAGW_MEDIA_DIR)") from None
    check_image_size(len(data))
    return data


def read_media_file(path: str, media_dir: Path) -> bytes:
    file = _in_media_dir(path, media_dir)
    if file is None:
        raise _invalid(NOT_IN_MEDIA_DIR)
    check_image_size(file.stat().st_size)
    return file.read_bytes()


def check_image_size(size: int) -> None:
    if size == 0:
        raise _invalid("empty")
    if size > MAX_IMAGE_BYTES:
        raise _invalid(f"{size} bytes is more than {MAX_IMAGE_BYTES} bytes")
