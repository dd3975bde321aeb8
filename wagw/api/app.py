"""The FastAPI application of `wagw api`: `create_app(settings, roster)`.

Its routers are listed in `include_routers`, one line each. Every request passes the guard
first (wagw.api.guard: Host, body size, login); every answer, errors included, is the
envelope (wagw.api.envelope). /docs serves Swagger UI from an installed package
(fastapi-offline), so the page works without internet access.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from wagw import __version__, operations
from wagw.api import devices, handlers, native
from wagw.api.context import ApiContext, document_account_parameters, uses_current_account
from wagw.api.direct import DirectRoutes
from wagw.api.envelope import Envelope, envelope
from wagw.api.front import AnsweredErrors as AnsweredErrors  # where `wagw api` and tests take it
from wagw.api.front import SecurityHeaders, mcp_running
from wagw.api.gowa import routes as gowa
from wagw.api.groups import GROUPS, TITLES
from wagw.api.guard import Guard, guard_options
from wagw.api.mcp_server import Mcp

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from fastapi import Request
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis

    from wagw.accounts import Roster
    from wagw.config import Settings

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
    context: ApiContext | None = None,
    mcp: Mcp | None = None,
) -> FastAPI:
    """The API for these settings (connections made from them unless given), sharing
    `context` and `mcp` when given (wagw.api.front builds it on first use)."""
    context = context or ApiContext.create(settings, roster, conn=conn, aconn=aconn)
    mcp = mcp or Mcp(context)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with mcp_running(mcp):
            yield

    with _no_pydantic_v1():
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
        app.state.api = context
        app.state.mcp = mcp
        app.add_route("/mcp", app.state.mcp, methods=["GET", "POST", "DELETE"], include_in_schema=False)
        _install_error_handlers(app)
        include_routers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    # Inside the guard: /wa/<operation> and /health without the routing (the same endpoints).
    app.add_middleware(DirectRoutes, routes=native.direct_routes())
    app.add_middleware(Guard, **guard_options(settings, context))
    app.add_middleware(SecurityHeaders)
    return app


@contextlib.contextmanager
def _no_pydantic_v1() -> Iterator[None]:
    """FastAPI imports pydantic.v1 (~1 MB) as it adds each route, only to find that no type
    the route names is a pydantic v1 model; wagw has none. Meanwhile it cannot be imported
    (None in sys.modules: ImportError, which FastAPI takes as "not one")."""
    if "pydantic.v1" in sys.modules:
        yield
        return
    sys.modules["pydantic.v1"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if "pydantic.v1" in sys.modules and sys.modules["pydantic.v1"] is None:
            del sys.modules["pydantic.v1"]


def _install_error_handlers(app: FastAPI) -> None:
    async def invalid_request(request: Request, error: Exception) -> Any:
        assert isinstance(error, RequestValidationError)
        first = (error.errors() or [{}])[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = f"invalid request: {where}: {first.get('msg', 'invalid')}" if where else "invalid request"
        return envelope("VALIDATION_ERROR", message, status=400)

    for kind, handler in handlers.HANDLERS.items():
        app.add_exception_handler(kind, handler)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, handlers.internal)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the argument models the generated routes name."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
    )
    for path, route in api_routes(app.routes, ""):
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


def api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(path, route) of every FastAPI route, those of included routers too."""
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI keeps an included router whole
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from api_routes(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route
