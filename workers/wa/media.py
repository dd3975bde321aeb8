"""Media arguments of wa jobs (send_image's `image`, send_file's `file`): an http(s) URL, a
file in the media folder or base64, turned into bytes and a mimetype sniffed from those bytes
(small magic-number checks, never the caller's word for an image). Each kind has WhatsApp's
size cap (MEDIA). Runs in the wa-worker, before the call reaches the native host; the bytes
travel to the host as base64 in params["<argument>_b64"].

The trust rules (docs/security.md): a job reads local files only inside WAGW_MEDIA_DIR, through
one open that follows no symlink (workers/wa/safe_open.py), and fetches URLs only from public
addresses (workers/wa/fetch.py). Error messages say the same for a missing file and one
outside the folder, so a job cannot probe the file system.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from loguru import logger

from wagw.errors import ImageDownloadFailed, MediaDownloadFailed
from wagw.operations.args import (
    MAX_AUDIO_BYTES,
    MAX_DOCUMENT_BYTES,
    MAX_IMAGE_BYTES,
    MAX_STICKER_BYTES,
    STICKER_SIZE,
    InvalidArguments,
    file_name,
)
from wagw.operations.audio import is_ogg_opus
from wagw.operations.images import check_decodes, upright
from workers.wa import safe_open

if TYPE_CHECKING:
    from wagw.config import Settings

FETCH_TIMEOUT = 30.0  # seconds at most for one download, within the job's own timeout
MAX_PATH = 4096
NOT_IN_MEDIA_DIR = "not a file in the media folder (WAGW_MEDIA_DIR)"


@dataclass(frozen=True)
class Media:
    """One kind of media argument: which job and argument, WhatsApp's cap, how it is typed."""

    operation: str
    argument: str
    noun: str  # for messages: "image", "file"
    max_bytes: int
    # (bytes, the job's validated params) -> the mimetype sent; raises ValueError if unusable
    mimetype: Callable[[bytes, dict[str, Any]], str]

    def invalid(self, message: str) -> InvalidArguments:
        return InvalidArguments(f"invalid arguments for {self.operation}: {self.argument}: {message}")


def _image_mimetype(data: bytes, params: dict[str, Any]) -> str:
    mimetype = sniff(data)
    if mimetype not in _IMAGE_TYPES:
        raise ValueError("not a JPEG, PNG, GIF or WebP image")
    # What neonize does with it first: a corrupt image fails here, never retried.
    check_decodes(data)
    return mimetype


# A caller's mimetype is a syntactically valid type/subtype (RFC 6838's characters).
_MIMETYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
OCTET_STREAM = "application/octet-stream"


def _document_mimetype(data: bytes, params: dict[str, Any]) -> str:
    """The sniffed type when the bytes say what they are; else the caller's, unless it claims
    an image, video or audio (which WhatsApp clients would try to render: only bytes that
    are one get such a type); else application/octet-stream."""
    sniffed = sniff(data)
    if sniffed is not None:
        return sniffed
    claimed = (params.pop("mimetype", None) or "").strip().lower()
    if claimed and _MIMETYPE.fullmatch(claimed) and not claimed.startswith(("image/", "video/", "audio/")):
        return claimed
    return OCTET_STREAM


def _sticker(data: bytes, params: dict[str, Any]) -> tuple[bytes, str]:
    """One static JPEG, PNG or WebP image as a 512x512 PNG (WhatsApp's sticker size): scaled,
    up or down, to fit and centred on a transparent square. neonize squares what it is given
    but does not scale it, so a small image made a small sticker."""
    import io

    from PIL import Image

    if sniff(data) not in ("image/jpeg", "image/png", "image/webp"):
        raise ValueError("not a JPEG, PNG or WebP image")
    check_decodes(data)
    with Image.open(io.BytesIO(data)) as image:
        if getattr(image, "n_frames", 1) > 1:
            raise ValueError("an animated image (wagw sends static stickers only)")
        picture = upright(image).convert("RGBA")
    scale = STICKER_SIZE / max(picture.size)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    picture = picture.resize(size, Image.Resampling.LANCZOS)
    square = Image.new("RGBA", (STICKER_SIZE, STICKER_SIZE), (0, 0, 0, 0))
    square.paste(picture, ((STICKER_SIZE - size[0]) // 2, (STICKER_SIZE - size[1]) // 2))
    out = io.BytesIO()
    square.save(out, format="png")
    return out.getvalue(), "image/png"


IMAGE = Media("send_image", "image", "image", MAX_IMAGE_BYTES, _image_mimetype)
DOCUMENT = Media("send_file", "file", "file", MAX_DOCUMENT_BYTES, _document_mimetype)


def _audio_mimetype(data: bytes, params: dict[str, Any]) -> str:
    mimetype = sniff(data)
    if params.get("ptt"):
        if not is_ogg_opus(data):
            raise ValueError("a voice note (ptt) must be Ogg Opus audio")
        return OGG_OPUS
    if mimetype == "audio/ogg":
        return OGG_OPUS if is_ogg_opus(data) else "audio/ogg"
    if mimetype == "video/mp4":  # an M4A file with a generic MP4 brand
        return "audio/mp4"
    if mimetype not in ("audio/mpeg", "audio/mp4"):
        raise ValueError("not Ogg, MP3 or M4A audio")
    return mimetype


def _video_mimetype(data: bytes, params: dict[str, Any]) -> str:
    if sniff(data) != "video/mp4":
        raise ValueError("not an MP4 video (WhatsApp plays MP4)")
    return "video/mp4"


OGG_OPUS = "audio/ogg; codecs=opus"  # the mimetype WhatsApp's own voice notes carry
VIDEO = Media("send_video", "video", "video", MAX_AUDIO_BYTES, _video_mimetype)
AUDIO = Media("send_audio", "audio", "audio", MAX_AUDIO_BYTES, _audio_mimetype)
STICKER = Media("send_sticker", "sticker", "sticker", MAX_STICKER_BYTES, lambda data, params: "image/png")
# The jobs with a media argument, by operation (wagw.operations rows name the same argument).
GROUP_PHOTO = Media("set_group_photo", "image", "image", MAX_IMAGE_BYTES, _image_mimetype)
MEDIA = {kind.operation: kind for kind in (IMAGE, DOCUMENT, STICKER, AUDIO, VIDEO, GROUP_PHOTO)}
# Kinds whose bytes are converted before they are sent: (bytes, params) -> (bytes, mimetype).
CONVERT: dict[str, Callable[[bytes, dict[str, Any]], tuple[bytes, str]]] = {"send_sticker": _sticker}


def prepare(operation: str, params: dict[str, Any], settings: Settings, deadline: float | None) -> dict[str, Any]:
    """Turn the job's media argument into params["mimetype"] and params["<argument>_b64"]."""
    kind = MEDIA[operation]
    source, value = media_source(params.pop(kind.argument), settings.media_path, kind)
    if source == "url":
        data = download(value, settings, deadline, kind)
    elif source == "path":
        data = read_media_file(value, settings.media_path, kind)
    else:
        data = decode_base64(value, kind)
    try:
        if operation in CONVERT:
            data, params["mimetype"] = CONVERT[operation](data, params)
        else:
            params["mimetype"] = kind.mimetype(data, params)
    except ValueError as error:
        raise kind.invalid(str(error)) from None
    params[f"{kind.argument}_b64"] = base64.b64encode(data).decode()
    if kind is DOCUMENT and not params.get("filename"):
        params["filename"] = document_name(source, value, params["mimetype"])
    return params


def document_name(source: str, value: str, mimetype: str) -> str:
    """The file name of a document sent without one: the last part of its path or URL (the
    extension its type has added when it has none), else "document.<extension>"."""
    from urllib.parse import unquote, urlsplit

    from wagw.mediatypes import OTHER, extension

    suffix = extension(mimetype)
    last = ""
    if source == "path":
        last = PurePosixPath(value).name
    elif source == "url":
        last = unquote(urlsplit(value).path.rsplit("/", 1)[-1])
    try:
        name = file_name(last)
    except ValueError:
        return f"document.{suffix}"
    if "." not in name.strip(".") and suffix != OTHER:
        name = f"{name}.{suffix}"
    return name


def image_params(params: dict[str, Any], settings: Settings, deadline: float | None) -> dict[str, Any]:
    return prepare("send_image", params, settings, deadline)


def _invalid(message: str) -> InvalidArguments:
    return IMAGE.invalid(message)


def download(url: str, settings: Settings, deadline: float | None, kind: Media = IMAGE) -> bytes:
    # httpx (~5 MB per process) loads with the first URL, not in every wa-worker.
    from workers.wa.fetch import FetchFailed, fetch

    budget = FETCH_TIMEOUT if deadline is None else max(1.0, min(FETCH_TIMEOUT, deadline - time.monotonic() - 1))
    try:
        data = fetch(url, max_bytes=kind.max_bytes, timeout=budget, allow_private=settings.fetch_private)
    except FetchFailed as error:
        if error.retryable:
            failure = ImageDownloadFailed if kind is IMAGE else MediaDownloadFailed
            raise failure(f"downloading the {kind.noun} failed: {error}") from None
        raise kind.invalid(f"the URL cannot be used: {error}") from None
    check_size(len(data), kind)
    logger.debug("downloaded {} bytes for a {}", len(data), kind.noun)
    return data


_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
    (b"\x1aE\xdf\xa3", "video/webm"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
)
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def sniff(data: bytes) -> str | None:
    """The mimetype the first bytes show (a few magic numbers), or None."""
    for magic, mimetype in _MAGIC:
        if data.startswith(magic):
            return mimetype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[4:8] == b"ftyp":  # ISO base media: MP4, M4A, 3GP, QuickTime
        brand = data[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        if brand.startswith(b"3gp"):
            return "video/3gpp"
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and data[1] & 0x06:  # MPEG audio frame
        return "audio/mpeg"
    return None


def sniff_image(data: bytes) -> str:
    """The image's mimetype from its first bytes; InvalidArguments if it is not an image."""
    mimetype = sniff(data)
    if mimetype not in _IMAGE_TYPES:
        raise _invalid("not a JPEG, PNG, GIF or WebP image")
    return mimetype


def _media_name(value: str, media_dir: Path) -> str | None:
    """`value` (absolute, or relative to the media folder) as a name relative to the folder,
    or None when it does not name something inside it. Only a lexical step: the open
    (workers/wa/safe_open.py) refuses `..` and symlinks."""
    if len(value) > MAX_PATH:
        return None
    path = PurePosixPath(value)
    if not path.is_absolute():
        return value
    for root in (PurePosixPath(os.path.abspath(media_dir)), PurePosixPath(media_dir.resolve())):
        if path.is_relative_to(root):
            return str(path.relative_to(root))
    return None


def image_source(value: str, media_dir: Path) -> tuple[str, str]:
    return media_source(value, media_dir, IMAGE)


def media_source(value: str, media_dir: Path, kind: Media) -> tuple[str, str]:
    """Classify a media argument: ("url", url) | ("path", path) | ("bytes", base64 text).

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
            raise kind.invalid("a data: URL must be base64")
        return "bytes", payload
    if text.startswith(("/", "./")) and _is_media_file(text, media_dir):
        return "path", text
    return "bytes", text


def decode_base64(text: str, kind: Media = IMAGE) -> bytes:
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise kind.invalid("not an http(s) URL, base64 data or a file in the media folder (WAGW_MEDIA_DIR)") from None
    check_size(len(data), kind)
    return data


def _is_media_file(value: str, media_dir: Path) -> bool:
    name = _media_name(value, media_dir)
    return name is not None and safe_open.is_file_beneath(media_dir, name)


def read_media_file(path: str, media_dir: Path, kind: Media = IMAGE) -> bytes:
    """The file's bytes, read through one open beneath the media folder that follows no symlink."""
    name = _media_name(path, media_dir)
    try:
        if name is None:
            raise safe_open.Refused(path)
        data = safe_open.read_beneath(media_dir, name, kind.max_bytes)
    except safe_open.Refused:
        raise kind.invalid(NOT_IN_MEDIA_DIR) from None
    except safe_open.TooLarge as error:
        raise _too_large(error.size, kind) from None
    check_size(len(data), kind)
    return data


def check_image_size(size: int) -> None:
    check_size(size, IMAGE)


def check_size(size: int, kind: Media) -> None:
    if size == 0:
        raise kind.invalid("empty")
    if size > kind.max_bytes:
        raise _too_large(size, kind)


def _too_large(size: int, kind: Media) -> InvalidArguments:
    return kind.invalid(f"{size} bytes is more than {kind.max_bytes} bytes")
