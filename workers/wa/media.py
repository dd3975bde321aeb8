"""Media arguments of wa jobs (send_image today): an http(s) URL, a local path or base64,
turned into bytes and a mimetype sniffed from those bytes. Runs in the wa-worker, before the
call reaches the native host."""

from __future__ import annotations

import base64
import binascii
import time
from pathlib import Path
from typing import Any

import httpx
from loguru import logger

from wagw.addresses import shown
from wagw.operations.args import MAX_IMAGE_BYTES, InvalidArguments


class ImageDownloadFailed(RuntimeError):
    """The image URL could not be fetched now (network, 5xx): worth a retry."""

    __module__ = "workers.wa"  # the name job failures have always shown (docs/jobs.md)


def image_params(params: dict[str, Any], deadline: float | None) -> dict[str, Any]:
    kind, value = image_source(params.pop("image"))
    if kind == "url":
        data = _download(value, deadline)
    elif kind == "path":
        data = read_image_file(value)
    else:
        data = decode_base64(value)
    params["mimetype"] = sniff_image(data)
    params["image_b64"] = base64.b64encode(data).decode()
    return params


def _download(url: str, deadline: float | None) -> bytes:
    budget = 30.0 if deadline is None else max(1.0, min(30.0, deadline - time.monotonic() - 1))
    try:
        with httpx.stream("GET", url, timeout=budget, follow_redirects=True) as response:
            if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                raise InvalidArguments(
                    f"invalid arguments for send_image: image: GET {url} returned HTTP {response.status_code}"
                )
            response.raise_for_status()
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                check_image_size(size)
                chunks.append(chunk)
    except httpx.HTTPError as error:
        raise ImageDownloadFailed(f"downloading the image from {url} failed: {error}") from error
    data = b"".join(chunks)
    check_image_size(len(data))
    logger.debug("downloaded {} bytes from {}", len(data), url)
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
    raise InvalidArguments("invalid arguments for send_image: image: not a JPEG, PNG, GIF or WebP image")


def image_source(value: str) -> tuple[str, str]:
    """Classify send_image's `image`: ("url", url) | ("path", path) | ("bytes", base64 text).

    A JPEG's base64 starts with "/9j/", so a leading slash means a path only if that file exists.
    """
    text = value.strip()
    lowered = text[:8].lower()
    if lowered.startswith(("http://", "https://")):
        return "url", text
    if lowered.startswith("file://"):
        return "path", text[len("file://"):]
    if text.startswith("data:"):
        header, sep, payload = text.partition(",")
        if not sep or ";base64" not in header:
            raise InvalidArguments("invalid arguments for send_image: image: a data: URL must be base64")
        return "bytes", payload
    if len(text) < 4096 and text.startswith(("/", "./", "~")) and Path(text).expanduser().is_file():
        return "path", text
    return "bytes", text


def decode_base64(text: str) -> bytes:
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArguments(
            "invalid arguments for send_image: image: not an http(s) URL, an existing file path or base64 data"
        ) from None
    check_image_size(len(data))
    return data


def read_image_file(path: str) -> bytes:
    file = Path(path).expanduser()
    if not file.is_file():
        raise InvalidArguments(f"invalid arguments for send_image: image: no such file {shown(path)}")
    check_image_size(file.stat().st_size)
    return file.read_bytes()


def check_image_size(size: int) -> None:
    if size == 0:
        raise InvalidArguments("invalid arguments for send_image: image: empty")
    if size > MAX_IMAGE_BYTES:
        raise InvalidArguments(
            f"invalid arguments for send_image: image: {size} bytes is more than {MAX_IMAGE_BYTES} bytes"
        )
