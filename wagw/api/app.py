"""The FastAPI application of `wagw api`: `create_app(settings, roster)`.

Its routers are listed in `include_routers`, one line each. Every request passes the guard
first (wagw.api.guard: Host, body size, login); every answer, errors included, is the
envelope (wagw.api.envelope). /docs serves Swagger UI from an installed package
(fastapi-offline), so the page works without internet access.
"""

from __future__ import annotations

import contextlib
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
from fastapi import FastAPI
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from loguru import logger
from starlette.exceptions import HTTPException

from wagw import __version__, client, operations
from wagw.api import devices, native
from wagw.api.calls import Caller
from wagw.api.context import ApiContext, document_account_parameters, uses_current_account
from wagw.api.direct import DirectRoutes
from wagw.api.envelope import ApiError, Envelope, envelope
from wagw.api.gowa import routes as gowa
from wagw.api.groups import GROUPS, TITLES
from wagw.api.guard import Guard
from wagw.api.mcp_server import Mcp
from wagw.api.selection import LiveRoster
from wagw.loginthrottle import LoginThrottle

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from fastapi import Request
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis

    from wagw.accounts import Roster
    from wagw.config import Settings

# A JSON body carries at most one job's arguments (a base64 image is the largest).
JSON_BODY_MAX = client.MAX_ARGUMENT_BYTES + 1024 * 1024
DESCRIPTION = (
    "wagw's HTTP API: each call enqueues the wa job of the same name (docs/jobs.md) and waits up to "
    "WAGW_API_WAIT seconds for its end; a job still running answers 202 with Location: /jobs/{id}; "
    "`Prefer: respond-async` answers 202 at once. Every answer is `{code, message, results}`. "
    "The account: `X-Device-Id` or `?device_id=` (its name or a linked device's JID)."
)


def include_routers(app: FastAPI) -> None:
    """Every router the API serves; another router is one more line here."""
    app.include_router(native.router())
    app.include_router(devices.router())  # pairing and the list of accounts (wagw.devicecontrol)
    gowa.include(app)  # last: a go-whatsapp-web-multidevice path another router serves keeps its route


def create_app(
    settings: Settings,
    roster: Roster | None = None,
    *,
    conn: Redis | None = None,
    aconn: AsyncRedis | None = None,
) -> FastAPI:
    """The API for these settings (connections made from them unless given)."""
    from redis.asyncio import Redis as AsyncRedisClient

    from wagw.redisconn import connect

    conn = conn or connect(settings)
    aconn = aconn or AsyncRedisClient.from_url(
        settings.effective_redis_url, health_check_interval=30, socket_connect_timeout=5
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:  # MCP's, started with its first request
            app.state.mcp.task_group = tasks
            yield
            app.state.mcp.task_group = None
            tasks.cancel_scope.cancel()

    app = FastAPIOffline(
        lifespan=lifespan,
        title="wagw",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=[{"name": TITLES[group]} for group in GROUPS],
        # FastAPI's OpenTelemetry hooks: wagw configures no provider, so each request paid only
        # the check that none is configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.api = ApiContext(
        settings=settings,
        roster=LiveRoster(settings, roster),
        conn=conn,
        aconn=aconn,
        caller=Caller(conn, aconn, settings.api_wait),
    )
    app.state.mcp = Mcp(app.state.api)
    app.add_route("/mcp", app.state.mcp, methods=["GET", "POST", "DELETE"], include_in_schema=False)
    _install_error_handlers(app)
    include_routers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(DirectRoutes)  # inside the guard: /wa/<operation> without the routing
    app.add_middleware(
        Guard,
        aconn=aconn,
        logins=settings.api_logins,
        throttle=LoginThrottle(settings.api_login_window, server="api"),
        hosts=settings.api_hosts,
        json_max_bytes=JSON_BODY_MAX,
        upload_max_bytes=settings.api_upload_max_bytes,
    )
    app.add_middleware(_SecurityHeaders)
    return app


class _SecurityHeaders:
    """Headers every answer carries: no sniffing, no framing, no referrer."""

    HEADERS: ClassVar[list[tuple[bytes, bytes]]] = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ]

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, sending)


class AnsweredErrors:
    """The outermost layer: Starlette re-raises an error after its handler answered it, for
    the server to log with its message, which may hold what an app sent; it was logged
    without it already (`internal` below)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:  # answered 500 and logged by `internal`
            if scope["type"] != "http":
                raise


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, error: Exception) -> Any:
        assert isinstance(error, ApiError)
        return error.response()

    async def invalid_request(request: Request, error: Exception) -> Any:
        assert isinstance(error, RequestValidationError)
        first = (error.errors() or [{}])[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = f"invalid request: {where}: {first.get('msg', 'invalid')}" if where else "invalid request"
        return envelope("VALIDATION_ERROR", message, status=400)

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

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, internal)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the argument models the generated routes name."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
    )
    for path, route in _api_routes(app.routes, ""):
        if route.include_in_schema and uses_current_account(route.dependant):
            for method in route.methods or ():
                operation = document["paths"].get(path, {}).get(method.lower())
                if operation is not None:
                    document_account_parameters(operation, len(get_flat_params(route.dependant)))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Envelope", Envelope.model_json_schema(ref_template="#/components/schemas/{model}"))
    for op in operations.OPERATIONS.values():
        schema = op.args.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[op.args.__name__] = schema
    document["components"]["securitySchemes"] = {
        "basic": {"type": "http", "scheme": "basic"},
        "token": {"type": "http", "scheme": "bearer", "description": "`wagw accounts token NAME`"},
    }
    document["security"] = [{"basic": []}, {"token": []}]
    document["paths"].get("/health", {}).get("get", {})["security"] = []
    app.openapi_schema = document
    return document


def _api_routes(routes: list[Any], prefix: str) -> Iterator[tuple[str, APIRoute]]:
    """(path, route) of every FastAPI route, those of included routers too."""
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI keeps an included router whole
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _api_routes(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route
