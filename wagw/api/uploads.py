"""Files an app uploads (multipart) for a job to send: streamed into the media folder
(WAGW_MEDIA_DIR) under a name wagw chooses, and named to the job as `file://<name>`.

The name is 64 random hex digits and an extension from wagw.mediatypes for the declared type,
the shape of the media folder's downloads, so the wa-workers' retention sweep
(WAGW_MEDIA_RETENTION) removes uploads too. Nothing of the caller's file name reaches the
file system. Files are 0600 in a 0700 folder; one over WAGW_API_UPLOAD_MAX_BYTES is refused
(413) and nothing of it stays.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

from wagw import mediatypes
from wagw.api.envelope import ApiError

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.datastructures import UploadFile

CHUNK = 1024 * 1024
MEDIA_PATH_PREFIX = "file://"


def too_large(limit: int) -> ApiError:
    return ApiError(413, "FILE_TOO_LARGE", f"the upload is larger than {limit} bytes (WAGW_API_UPLOAD_MAX_BYTES)")


async def save_upload(upload: UploadFile, media_dir: Path, max_bytes: int) -> str:
    """Copy `upload` into `media_dir`; the job argument naming it (`file://<name>`)."""
    media_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"{secrets.token_hex(32)}.{mediatypes.extension(upload.content_type or '')}"
    partial = media_dir / f".{name}.upload"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise too_large(max_bytes)
                out.write(chunk)
        if written == 0:
            raise ApiError(400, "VALIDATION_ERROR", f"the uploaded file {upload_field(upload)} is empty")
        os.replace(partial, media_dir / name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return MEDIA_PATH_PREFIX + name


def upload_field(upload: UploadFile) -> str:
    """How a message shows an upload: never its file name (the caller's text)."""
    return f"({upload.size if upload.size is not None else '?'} bytes)"
