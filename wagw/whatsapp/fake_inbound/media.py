"""The fake's media: bytes derived from a 32-byte media key, so that download_media on the
fake returns deterministic content whose sha256 is the event's file_sha256; and a control
message's "media" object read into the (kind, object) a `message` takes."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from wagw import events
from wagw.whatsapp.fake_inbound.fields import Malformed

FAKE_MEDIA_PREFIX = "/v/t62.fake/"
# `"media": {…, "download": <one of these>}` stages what download_media meets for it.
STAGED_DOWNLOADS = ("crash", "hang", "fail", "expired")


def fake_media_bytes(media_key: bytes, length: int) -> bytes:
    """The fake's content for a media key: `length` bytes of a SHA-256 counter stream."""
    blocks = (hashlib.sha256(media_key + i.to_bytes(4, "big")).digest() for i in range((length + 31) // 32))
    return b"".join(blocks)[:length]


def fake_media(message_id: str, kind: str) -> dict[str, Any]:
    """Deterministic download fields of the fake's media message `message_id`."""
    key = hashlib.sha256(f"wagw-fake-media:{kind}:{message_id}".encode()).digest()
    length = 1024 + key[0] * 16
    content = fake_media_bytes(key, length)
    encrypted = hashlib.sha256(b"enc" + content).digest()
    direct_path = f"{FAKE_MEDIA_PREFIX}{encrypted.hex()[:24]}.enc"
    return {
        "url": f"https://mmg.whatsapp.net{direct_path}?ccb=11-4&oh=fake&oe=fake",
        "direct_path": direct_path,
        "media_key": base64.b64encode(key).decode(),
        "file_sha256": base64.b64encode(hashlib.sha256(content).digest()).decode(),
        "file_enc_sha256": base64.b64encode(encrypted).decode(),
        "file_length": length,
    }


def media_of(data: dict, message_id: str = "") -> tuple[str, dict] | None:
    media = data.get("media")
    if media is None:
        return None
    if not isinstance(media, dict):
        raise Malformed("'media' must be an object")
    kind = media.get("kind")
    if kind not in events.MEDIA_KINDS:
        raise Malformed(f"'media.kind' must be one of {', '.join(events.MEDIA_KINDS)}")
    obj = {k: v for k, v in media.items() if k not in ("kind", "download")}
    if "mimetype" in obj:
        obj["mime_type"] = obj.pop("mimetype")
    obj.update(fake_media(message_id, kind))
    staged = media.get("download")
    if staged is not None:
        # The fake's download_media conventions (docs/jobs.md): this message's media crashes
        # the host with a real Go panic, hangs, fails or has expired when downloaded.
        if staged not in STAGED_DOWNLOADS:
            raise Malformed(f"'media.download' must be one of {', '.join(STAGED_DOWNLOADS)}")
        obj["direct_path"] = f"{FAKE_MEDIA_PREFIX}{staged}.enc"
        obj["url"] = f"https://mmg.whatsapp.net{obj['direct_path']}?ccb=11-4&oh=fake&oe=fake"
    return kind, obj
