"""Small synthetic audio containers for tests: just the headers wagw reads (magic numbers and
the duration fields), not playable audio."""

from __future__ import annotations

import struct


def _ogg_page(header_type: int, granule: int, sequence: int, payload: bytes) -> bytes:
    return (
        b"OggS"
        + bytes([0, header_type])
        + struct.pack("<qIII", granule, 0x5157, sequence, 0)
        + bytes([1, len(payload)])
        + payload
    )


def ogg_opus(seconds: float, pre_skip: int = 312) -> bytes:
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", pre_skip, 48_000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 4) + b"wagw" + struct.pack("<I", 0)
    audio = bytes(100)
    granule = pre_skip + int(seconds * 48_000)
    return _ogg_page(2, 0, 0, head) + _ogg_page(0, 0, 1, tags) + _ogg_page(4, granule, 2, audio)


def m4a(seconds: int, timescale: int = 44_100) -> bytes:
    ftyp = struct.pack(">I", 24) + b"ftypM4A " + struct.pack(">I", 0) + b"M4A isom"
    mvhd_body = bytes([0, 0, 0, 0]) + struct.pack(">IIII", 0, 0, timescale, seconds * timescale) + bytes(80)
    mvhd = struct.pack(">I", 8 + len(mvhd_body)) + b"mvhd" + mvhd_body
    moov = struct.pack(">I", 8 + len(mvhd)) + b"moov" + mvhd
    return ftyp + moov + bytes(64)


def mp4(seconds: int, timescale: int = 1_000) -> bytes:
    """An MP4 (brand mp42) whose movie header says `seconds`."""
    return m4a(seconds, timescale).replace(b"ftypM4A ", b"ftypmp42", 1)


MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + bytes(400)
