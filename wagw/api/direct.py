"""The calls to `POST /wa/<operation>` and `GET /health` served without Starlette's and
FastAPI's routing.

A call's own work is small (a few hundred microseconds); a linear scan of the app's ~120
routes, FastAPI's request handler and its exception middleware took a sixth of it. This ASGI
layer sits inside the guard and the security headers, so every request still passes them,
and hands such a request straight to its endpoint: the very function the app's route for it
calls (wagw.api.native.direct_routes), so the answers are the same. An error the endpoint
raises is answered by the handler the app has for it (wagw.api.handlers); one with none goes
on out to the 500 handler, as in the app. Any other request goes on to the next layer.
tests/unit/test_api_direct.py checks that the app routes each of these to that endpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

from wagw.api.handlers import HANDLERS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from starlette.responses import Response

    from wagw.api.asgi import Asgi, Receive, Scope, Send

    Endpoint = Callable[[Request], Awaitable[Response]]


class DirectRoutes:
    def __init__(self, app: Asgi, *, routes: Mapping[tuple[str, str], Endpoint]) -> None:
        self.app = app
        self.routes = routes  # (method, path) -> endpoint

    def serves(self, scope: Scope) -> Endpoint | None:
        if scope["type"] != "http" or scope.get("root_path"):
            return None
        return self.routes.get((scope["method"], scope["path"]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.serves(scope)
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except Exception as error:
            handler = handler_of(error)
            if handler is None:
                raise
            response = await handler(request, error)
        await response(scope, receive, send)


def handler_of(error: Exception) -> Callable[..., Awaitable[Response]] | None:
    """The handler for this error, found as Starlette's exception middleware finds it."""
    for kind in type(error).__mro__:
        if kind in HANDLERS:
            return HANDLERS[kind]
    return None
