"""What an MP4 says about its picture, read from its boxes (pure Python): the size it is shown
at, and the cover picture some files carry.

neonize 0.5.2's send_video runs the `ffmpeg` program for the duration and a thumbnail, which
wagw neither requires nor runs; without a decoder no frame can be cut, so the thumbnail is
the file's own cover picture when it has one (iTunes' `moov/udta/meta/ilst/covr`, which
video tools write), else none. The size is the video track's (`tkhd` width and height, 16.16
fixed point), swapped when its matrix turns the picture a quarter, as phones record portrait
video. The duration is read by wagw.operations.audio.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

# Boxes whose payload is more boxes; `meta` is a full box (4 bytes of version and flags
# first) in MP4 files, a plain one in some QuickTime files.
_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"udta", b"ilst", b"covr", b"edts"})
_COVER_TYPES = (13, 14)  # the `data` box's well-known types: JPEG, PNG
MAX_SIDE = 16_384  # pixels: anything larger is no video track a phone recorded


@dataclass(frozen=True)
class Picture:
    width: int | None = None
    height: int | None = None
    cover: bytes | None = None  # a JPEG or PNG the file carries as its cover


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes between start and end."""
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:  # a 64-bit size follows
            if at + 16 > end:
                return
            size = struct.unpack_from(">Q", data, at + 8)[0]
            header = 16
        elif size == 0:  # to the end
            size = end - at
        if size < header or at + size > end:
            return
        yield kind, at + header, at + size
        at += size


def _walk(data: bytes, start: int, end: int, depth: int = 0) -> Iterator[tuple[bytes, int, int, bytes]]:
    """Every box below start..end, depth first: (type, payload start, payload end, parent)."""
    if depth > 8:
        return
    for kind, first, last in _boxes(data, start, end):
        yield kind, first, last, b""
        inner = first
        if kind == b"meta":
            inner = first + 4 if data[first + 8 : first + 12] == b"hdlr" else first
        elif kind not in _CONTAINERS:
            continue
        for child in _walk(data, inner, last, depth + 1):
            yield child[0], child[1], child[2], child[3] or kind


def _track_size(data: bytes, first: int, last: int) -> tuple[int, int] | None:
    """A tkhd's shown width and height, or None for a track without a picture."""
    version = data[first]
    at = first + 4 + (32 if version == 1 else 20) + 8 + 8  # times, ids, duration; reserved, layer…
    if at + 36 + 8 > last:
        return None
    a, b = struct.unpack_from(">ii", data, at)
    width, height = (value >> 16 for value in struct.unpack_from(">II", data, at + 36))
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        return None
    return (height, width) if abs(b) > abs(a) else (width, height)


def _is_picture(data: bytes, first: int, last: int) -> bool:
    """A cover's `data` box: its type (the low 24 bits of the first word) is JPEG or PNG."""
    return last - first > 8 and struct.unpack_from(">I", data, first)[0] & 0xFFFFFF in _COVER_TYPES


def picture(data: bytes) -> Picture:
    """The shown size of the first video track and the cover, where the file says."""
    size: tuple[int, int] | None = None
    cover = None
    try:
        for kind, first, last, parent in _walk(data, 0, len(data)):
            if kind == b"tkhd" and size is None:
                size = _track_size(data, first, last)
            elif kind == b"data" and parent == b"covr" and cover is None and _is_picture(data, first, last):
                cover = data[first + 8 : last]
    except (struct.error, IndexError):
        pass
    width, height = size or (None, None)
    return Picture(width, height, cover)
