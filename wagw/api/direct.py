"""The generated `POST /wa/<operation>` routes served without Starlette's and FastAPI's routing.

A call's own work is small (a few hundred microseconds); a linear scan of the app's ~120
routes, FastAPI's request handler and its exception middleware took a sixth of it. This ASGI
layer sits inside the guard and the security headers, so every request still passes them,
and hands a POST to a path the app would route to one of wagw.api.native's call endpoints
straight to that same endpoint (the same function, so the same answers). An error the
endpoint raises is answered by the app's own handler for it, as its exception middleware
would; one it has none for goes on out to the app's 500 handler. Any other request goes on
to the app.

Which paths qualify is worked out from the app's routes on the first request, by the order
Starlette matches them in: a path an earlier route would take stays the app's.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.routing import Match, compile_path

from wagw import operations

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, MutableMapping

    from starlette.responses import Response

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]
    Endpoint = Callable[[Request], Awaitable[Response]]

# The endpoints this layer may serve itself: wagw.api.native registers its call endpoints.
ENDPOINTS: weakref.WeakSet[Any] = weakref.WeakSet()
METHOD = "POST"


def serve_directly(endpoint: Endpoint) -> Endpoint:
    """Mark a route endpoint that takes only the request as one DirectRoutes may call."""
    ENDPOINTS.add(endpoint)
    return endpoint


class DirectRoutes:
    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.table: dict[str, Endpoint] | None = None
        self.handlers: dict[Any, Callable[..., Awaitable[Response]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == METHOD and not scope.get("root_path"):
            if self.table is None:
                self._learn(scope["app"])
            assert self.table is not None
            endpoint = self.table.get(scope["path"])
            if endpoint is not None:
                await self._serve(endpoint, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _serve(self, endpoint: Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except Exception as error:
            handler = self._handler_of(error)
            if handler is None:
                raise
            response = await handler(request, error)
        await response(scope, receive, send)

    def _handler_of(self, error: Exception) -> Callable[..., Awaitable[Response]] | None:
        """The app's handler for this error, as Starlette's exception middleware finds it; the
        500 handler (Exception) is the outer error middleware's, as in the app."""
        for kind in type(error).__mro__:
            if kind is Exception:
                return None
            if kind in self.handlers:
                return self.handlers[kind]
        return None

    def _learn(self, app: Any) -> None:
        handlers = app.exception_handlers.items()
        self.handlers = {kind: handler for kind, handler in handlers if kind not in (500, Exception)}
        table = {}
        for op in operations.OPERATIONS.values():
            path = f"/wa/{op.name}"
            route = first_route(app.router.routes, "", path)
            if isinstance(route, APIRoute) and route.endpoint in ENDPOINTS and not route.dependencies:
                table[path] = route.endpoint
        self.table = table


def first_route(routes: Iterable[Any], prefix: str, path: str) -> Any:
    """The route Starlette would serve `POST path` with, among `routes` (FastAPI keeps an
    included router whole: its routes are looked at in place, under its prefix); None when
    none takes it, or an included router adds dependencies of its own."""
    scope = {"type": "http", "path": path, "method": METHOD, "root_path": ""}
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            if getattr(context, "dependencies", None):
                return None
            found = first_route(inner.routes, prefix + (getattr(context, "prefix", "") or ""), path)
            if found is not None:
                return found
        elif isinstance(route, APIRoute):
            if compile_path(prefix + route.path)[0].match(path) and METHOD in (route.methods or ()):
                return route
        elif route.matches(scope)[0] == Match.FULL:
            return route
    return None
