"""What `wagw api` serves: the calls of the hot path answered at once, the app built when
first needed.

`POST /wa/<operation>` and `GET /health` pass the layers the app puts around every route (the
500 handler, the security headers, the guard) and go straight to their endpoints
(wagw.api.direct). Any other request (the pairing and compatible routes, /docs, the OpenAPI
document, /mcp) builds the FastAPI app on its first arrival (wagw.api.app.create_app: FastAPI
and its ~120 routes, a sixth of the process's memory) and goes to it from then on. Both share
one ApiContext (the connections, the call core, the login budget) and one MCP server.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.datastructures import State
from starlette.middleware.errors import ServerErrorMiddleware

from wagw.api import native
from wagw.api.context import ApiContext
from wagw.api.direct import DirectRoutes
from wagw.api.guard import Guard, guard_options
from wagw.api.handlers import internal
from wagw.api.mcp_server import Mcp

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis import Redis

    from wagw.accounts import Roster
    from wagw.config import Settings


class SecurityHeaders:
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
    without it already (wagw.api.handlers.internal)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:  # answered 500 and logged by `internal`
            if scope["type"] != "http":
                raise


@contextlib.asynccontextmanager
async def mcp_running(mcp: Mcp) -> AsyncIterator[None]:
    """The task group MCP's sessions run in (started with its first request), for a lifespan."""
    import anyio

    async with anyio.create_task_group() as tasks:
        mcp.task_group = tasks
        yield
        mcp.task_group = None
        tasks.cancel_scope.cancel()


class Front:
    """The ASGI app `wagw api` runs (wrapped in AnsweredErrors)."""

    def __init__(self, settings: Settings, roster: Roster | None = None, *, conn: Redis | None = None) -> None:
        self.settings = settings
        self.context = ApiContext.create(settings, roster, conn=conn)
        self.mcp = Mcp(self.context)
        self.state = State({"api": self.context, "mcp": self.mcp})  # request.app.state, as the app's
        self.direct = DirectRoutes(self._to_app, routes=native.direct_routes())
        guarded = SecurityHeaders(Guard(self.direct, **guard_options(settings, self.context)))
        self.layers = ServerErrorMiddleware(guarded, handler=internal)
        self.app: Any = None  # the FastAPI app, once a request needed it

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif self.direct.serves(scope) is not None:
            scope["app"] = self
            await self.layers(scope, receive, send)
        else:
            await self.built()(scope, receive, send)

    async def _to_app(self, scope: Any, receive: Any, send: Any) -> None:
        await self.built()(scope, receive, send)  # not reached: only direct routes come this way

    def built(self) -> Any:
        if self.app is None:
            from wagw.api.app import create_app

            self.app = create_app(self.settings, context=self.context, mcp=self.mcp)
        return self.app

    async def _lifespan(self, receive: Any, send: Any) -> None:
        await receive()  # lifespan.startup
        async with mcp_running(self.mcp):
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})
