"""A go-whatsapp-web-multidevice request's values as its routes read them: the query, the
path and the body, which that API binds from JSON, a urlencoded form or a multipart form
alike. Uploads of the row's file fields are streamed into the media folder
(wagw.api.uploads); a request that enqueues nothing removes them again.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from wagw.api import native
from wagw.api.context import api_context
from wagw.api.envelope import ApiError
from wagw.api.gowa.model import Row
from wagw.api.gowa.requests import Incoming
from wagw.api.uploads import MEDIA_PATH_PREFIX, save_upload

IDEMPOTENCY_HEADER = "Idempotency-Key"
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")
MAX_FIELDS = 1000


async def _form(request: Request, files: int) -> Any:
    try:
        # a file part for each file field (more are refused before they are spooled), and
        # room for repeated fields (a poll's options, a list of participants)
        return await request.form(max_files=max(files, 1), max_fields=MAX_FIELDS)
    except ApiError:
        raise
    except Exception as error:
        raise ApiError(400, "INVALID_REQUEST", f"the form cannot be read: {type(error).__name__}") from error


async def read_incoming(row: Row, request: Request) -> Incoming:
    """The request's values; uploads of the row's file fields saved in the media folder."""
    query = {key: request.query_params.getlist(key) for key in request.query_params}
    path = {key: str(value) for key, value in request.path_params.items()}
    body: dict[str, Any] = {}
    files: dict[str, tuple[str, str | None]] = {}
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    form = content_type in FORMS
    if form:
        context = api_context(request)
        file_fields = {f.name for f in row.fields if f.kind == "file"}
        data = await _form(request, len(file_fields))
        try:
            for key in dict.fromkeys(data.keys()):
                values = data.getlist(key)
                uploads = [value for value in values if isinstance(value, UploadFile)]
                if uploads:
                    if key in file_fields and key not in files:
                        saved = await save_upload(
                            uploads[0], context.settings.media_path, context.settings.api_upload_max_bytes
                        )
                        files[key] = (saved, uploads[0].filename)
                    continue
                body[key] = [str(value) for value in values]
        except BaseException:
            remove_uploads(request, files)
            raise
        finally:
            await data.close()
    else:
        raw = await request.body()
        if raw.strip():
            try:
                parsed = json.loads(raw)
            except (ValueError, RecursionError) as error:
                raise ApiError(400, "INVALID_REQUEST", "the body is not JSON (or a form)") from error
            if not isinstance(parsed, dict):
                raise ApiError(400, "INVALID_REQUEST", "the body must be a JSON object")
            body = parsed
    return Incoming(query, path, body, form, files)


def call_options(request: Request) -> dict[str, Any]:
    """How the request asks for its job to be called: its idempotency key, and whether to
    answer 202 at once (`Prefer: respond-async`)."""
    prefer = request.headers.get("prefer")
    return {"idempotency_key": request.headers.get(IDEMPOTENCY_HEADER), "respond_async": native.respond_async(prefer)}


def remove_uploads(request: Request, files: dict[str, tuple[str, str | None]]) -> None:
    """Uploads of a request that enqueued nothing: nothing will send them."""
    media = api_context(request).settings.media_path
    for saved, _ in files.values():
        with contextlib.suppress(OSError):
            os.unlink(media / saved.removeprefix(MEDIA_PATH_PREFIX))
