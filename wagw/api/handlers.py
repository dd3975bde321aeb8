"""How an error raised while a request is handled is answered, one handler per kind of error
(Starlette's exception handlers: the app registers them, wagw.api.direct uses the same)."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger
from starlette.exceptions import HTTPException

from wagw.api.envelope import ApiError, envelope

if TYPE_CHECKING:
    from starlette.requests import Request


async def api_error(request: Request, error: Exception) -> Any:
    assert isinstance(error, ApiError)
    return error.response()


async def http_error(request: Request, error: Exception) -> Any:
    assert isinstance(error, HTTPException)
    code = "NOT_FOUND" if error.status_code == 404 else f"HTTP_{error.status_code}"
    return envelope(code, str(error.detail), status=error.status_code, headers=dict(error.headers or {}))


async def internal(request: Request, error: Exception) -> Any:
    # The message may hold what an app sent: the log gets the type and where it was raised.
    frames = traceback.extract_tb(error.__traceback__)
    where = " <- ".join(f"{Path(frame.filename).name}:{frame.lineno}" for frame in reversed(frames[-4:]))
    logger.error("api: {} {} failed: {} at {}", request.method, request.url.path, type(error).__name__, where)
    return envelope("INTERNAL_SERVER_ERROR", f"internal error ({type(error).__name__}); see wagw's log", status=500)


# The handlers of the errors a route may raise; a 500 (any other Exception) is `internal`'s,
# in the outermost error layer.
HANDLERS: dict[type[Exception], Any] = {ApiError: api_error, HTTPException: http_error}
