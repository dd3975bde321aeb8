"""Small synthetic MP4 files for tests: the boxes wagw reads (movie header, track headers with
their size and matrix, an iTunes cover), not playable video."""

from __future__ import annotations

import struct

from tests.audiofiles import mp4

_IDENTITY = (0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
_QUARTER = (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)  # turned 90°: portrait from a phone


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def tkhd(width: int, height: int, *, turned: bool = False, version: int = 0) -> bytes:
    times = struct.pack(">QQIIQ", 0, 0, 1, 0, 1000) if version == 1 else struct.pack(">IIIII", 0, 0, 1, 0, 1000)
    matrix = struct.pack(">9i", *(_QUARTER if turned else _IDENTITY))
    rest = bytes(8) + struct.pack(">hhhH", 0, 0, 0, 0) + matrix + struct.pack(">II", width << 16, height << 16)
    return box(b"tkhd", bytes([version, 0, 0, 3]) + times + rest)


def cover_box(picture: bytes, png: bool = False) -> bytes:
    data = box(b"data", struct.pack(">II", 14 if png else 13, 0) + picture)
    meta = bytes(4) + box(b"hdlr", bytes(8) + b"mdirappl" + bytes(9)) + box(b"ilst", box(b"covr", data))
    return box(b"udta", box(b"meta", meta))


def mp4_video(
    seconds: int, width: int, height: int, *, turned: bool = False, cover: bytes | None = None, version: int = 0
) -> bytes:
    """An MP4 of `seconds` with an audio track (no picture) and a video track of width x height
    (turned a quarter when `turned`), with `cover` as its iTunes cover picture if given."""
    plain = mp4(seconds)
    at = plain.index(b"moov") - 4
    moov_size = struct.unpack_from(">I", plain, at)[0]
    moov = plain[at + 8 : at + moov_size]
    moov += box(b"trak", tkhd(0, 0, version=version))  # a sound track: no picture
    moov += box(b"trak", tkhd(width, height, turned=turned, version=version))
    if cover is not None:
        moov += cover_box(cover)
    return plain[:at] + box(b"moov", moov) + plain[at + moov_size :]
