"""The calls `wagw api` serves without FastAPI's routing (wagw.api.direct, wagw.api.front) go
to the endpoints the app would route them to, pass the same layers, and answer the same; the
app is built only when another route is asked for."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Match, compile_path

LOGIN = ("app", "correct-horse-battery")
AUTH = {"Authorization": "Basic " + base64.b64encode(":".join(LOGIN).encode()).decode()}
ALICE = "15551234567@s.whatsapp.net"


def first_route(routes: list[Any], prefix: str, method: str, path: str) -> Any:
    """The route Starlette serves `method path` with (FastAPI keeps an included router whole:
    its routes are looked at in place, under its prefix), as (route, dependencies added by
    the routers that include it)."""
    scope = {"type": "http", "path": path, "method": method, "root_path": ""}
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = route.include_context
            found = first_route(inner.routes, prefix + (context.prefix or ""), method, path)
            if found is not None:
                return found[0], [*context.dependencies, *found[1]]
        elif isinstance(route, APIRoute):
            if compile_path(prefix + route.path)[0].match(path) and method in route.methods:
                return route, []
        elif route.matches(scope)[0] == Match.FULL:
            return route, []
    return None


@pytest.fixture
def settings(settings_env):
    from wagw.config import Settings

    settings_env.setenv("WAGW_API_BASIC_AUTH", ":".join(LOGIN))
    return Settings(_env_file=None)


def test_the_app_routes_each_direct_route_to_the_same_endpoint(settings):
    from wagw.api import native
    from wagw.api.app import create_app

    app = create_app(settings)
    direct = native.direct_routes()
    assert len(direct) == len(native.operations.OPERATIONS) + 1
    for (method, path), endpoint in direct.items():
        found = first_route(app.router.routes, "", method, path)
        assert found is not None, f"the app has no route for {method} {path}"
        route, dependencies = found
        assert isinstance(route, APIRoute) and route.endpoint is endpoint, f"{method} {path} goes to {route}"
        assert not route.dependencies and not dependencies and not route.dependant.dependencies


def test_the_front_answers_direct_routes_without_the_app_then_builds_it_once(settings, redis_conn):
    from wagw.api.app import create_app
    from wagw.api.front import AnsweredErrors, Front

    front = Front(settings)
    with TestClient(AnsweredErrors(front), base_url="http://127.0.0.1") as api:
        health = api.get("/health")
        assert health.status_code == 200 and health.json()["results"]["redis"] is True
        assert health.headers["x-frame-options"] == "DENY" and health.headers["x-content-type-options"] == "nosniff"
        refused = api.post("/wa/send_text", json={"to": ALICE, "text": "hi"})  # no login
        assert refused.status_code == 401 and refused.json()["code"] == "UNAUTHORIZED"
        assert refused.headers["www-authenticate"] == 'Basic realm="wagw api"'
        invalid = api.post("/wa/send_text", json={"to": ALICE, "text": ""}, headers=AUTH)
        assert invalid.status_code == 400 and invalid.json()["results"] == {"argument": "text"}
        later = {**AUTH, "Prefer": "respond-async"}
        queued = api.post("/wa/send_text", json={"to": ALICE, "text": "hi"}, headers=later)
        assert queued.status_code == 202 and queued.headers["referrer-policy"] == "no-referrer"
        assert redis_conn.lrange("rq:queue:wa", 0, -1) == [queued.json()["results"]["job_id"].encode()]
        bad_host = api.get("/health", headers={"Host": "evil.example"})
        assert bad_host.status_code == 421
        assert front.app is None, "a direct route built the app"

        document = api.get("/openapi.json", headers=AUTH)
        assert document.status_code == 200 and front.app is not None
        built = front.app
        assert api.get(f"/jobs/{queued.json()['results']['job_id']}", headers=AUTH).status_code == 202
        assert api.get("/no/such/path", headers=AUTH).status_code == 404
        assert front.app is built and built.state.api is front.context and built.state.mcp is front.mcp
        assert api.post("/wa/send_text", json={}, headers=AUTH).status_code == 400
    assert document.json() == create_app(settings).openapi()
