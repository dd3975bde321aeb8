"""An audio or MP4 video file's duration in whole seconds, read from its container (pure Python).

neonize 0.5.2's send_audio asks the `ffmpeg` program for the duration, which wagw neither
requires nor runs; wagw sends the AudioMessage itself (neonize's upload and send_message) and
reads the duration here: Ogg Opus (the last page's granule position, 48 kHz) and MP4/M4A (the
movie header's duration and timescale). None when the container does not say (MP3): the
message then goes without `seconds`.
"""

from __future__ import annotations

import struct

OPUS_HEAD = b"OpusHead"


def is_ogg_opus(data: bytes) -> bool:
    """An Ogg stream whose first packet is an Opus header (what WhatsApp's voice notes are)."""
    return data.startswith(b"OggS") and OPUS_HEAD in data[:128]


def duration(data: bytes, mimetype: str) -> int | None:
    try:
        if mimetype.startswith("audio/ogg"):
            return _ogg_opus(data)
        if mimetype in ("audio/mp4", "video/mp4"):
            return _mp4(data)
    except (struct.error, ValueError, IndexError):
        return None
    return None


def _ogg_opus(data: bytes) -> int | None:
    if not is_ogg_opus(data):
        return None
    last = data.rfind(b"OggS")
    granule = struct.unpack_from("<q", data, last + 6)[0]
    head = data.find(OPUS_HEAD)
    pre_skip = struct.unpack_from("<H", data, head + 10)[0]
    if granule <= 0:
        return None
    return round(max(0, granule - pre_skip) / 48_000)


def _mp4(data: bytes) -> int | None:
    at = data.find(b"mvhd")
    if at < 4:
        return None
    version = data[at + 4]
    if version == 1:
        timescale, length = struct.unpack_from(">IQ", data, at + 4 + 4 + 16)
    else:
        timescale, length = struct.unpack_from(">II", data, at + 4 + 4 + 8)
    if not timescale:
        return None
    return round(length / timescale)
