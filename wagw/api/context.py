"""What the routes of `wagw api` share (one per process, on `app.state.api`), and what every
router asks of a request: the login and the account it is for (as FastAPI's dependency:
wagw.api.dependencies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from wagw.api.envelope import ApiError
from wagw.api.guard import Principal
from wagw.api.selection import DEVICE_HEADER, DEVICE_QUERY, select_account

if TYPE_CHECKING:
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis

    from wagw.accounts import Account, Roster
    from wagw.api.calls import Caller
    from wagw.api.selection import LiveRoster
    from wagw.config import Settings
    from wagw.loginthrottle import LoginThrottle


@dataclass
class ApiContext:
    settings: Settings
    roster: LiveRoster  # .get(): the accounts now (follows `wagw accounts add|remove`)
    conn: Redis  # synchronous: rq (run it in a thread)
    aconn: AsyncRedis  # asyncio: waits and small reads
    caller: Caller  # wagw.api.calls: enqueue and await jobs
    throttle: LoginThrottle  # failed logins (wagw.api.guard), one budget for the whole process

    @classmethod
    def create(
        cls,
        settings: Settings,
        roster: Roster | None = None,
        *,
        conn: Redis | None = None,
        aconn: AsyncRedis | None = None,
    ) -> ApiContext:
        """The context for these settings (connections made from them unless given)."""
        from redis.asyncio import Redis as AsyncRedisClient

        from wagw.api.calls import Caller
        from wagw.api.selection import LiveRoster
        from wagw.loginthrottle import LoginThrottle
        from wagw.redisconn import connect

        conn = conn or connect(settings)
        aconn = aconn or AsyncRedisClient.from_url(
            settings.effective_redis_url, health_check_interval=30, socket_connect_timeout=5
        )
        return cls(
            settings=settings,
            roster=LiveRoster(settings, roster),
            conn=conn,
            aconn=aconn,
            caller=Caller(conn, aconn, settings.api_wait),
            throttle=LoginThrottle(settings.api_login_window, server="api"),
        )


def api_context(request: Request) -> ApiContext:
    return request.app.state.api


def principal_of(request: Request) -> Principal:
    """Who logged in (wagw.api.guard); an open path has nobody, and may use no account."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        raise ApiError(401, "UNAUTHORIZED", "log in")
    return principal


async def current_account(request: Request) -> Account:
    """The account the request is for (wagw.api.selection): the X-Device-Id header, else the
    device_id query, else a token's own account; an account's token may name its own account
    only. It reads the request itself: as FastAPI parameters, each route paid their
    validation per call and their fields in memory; `document_account_parameters` documents
    them as FastAPI did."""
    principal = principal_of(request)
    context = api_context(request)
    given = request.headers.get(DEVICE_HEADER) or request.query_params.get(DEVICE_QUERY) or principal.account
    account = await select_account(context.aconn, context.roster.get(), given)
    if not principal.may_use(account.name):
        raise ApiError(403, "FORBIDDEN", "this token logs in for another account only")
    return account


def optional_parameter(name: str, where: str, description: str) -> dict[str, Any]:
    """An optional string parameter, documented as FastAPI documents `Header()`/`Query()`."""
    title = name.replace("_", " ").title() if where == "query" else name
    schema = {"anyOf": [{"type": "string"}, {"type": "null"}], "description": description, "title": title}
    return {"name": name, "in": where, "required": False, "schema": schema, "description": description}


ACCOUNT_PARAMETERS = {
    "query": optional_parameter(DEVICE_QUERY, "query", "the account, when the header is not sent"),
    "header": optional_parameter(DEVICE_HEADER, "header", "the account: its name or a linked device's JID"),
}


def uses_current_account(dependant: Any) -> bool:
    """Whether a route's FastAPI dependant (or one of its dependencies) is `current_account`."""
    return any(sub.call is current_account or uses_current_account(sub) for sub in dependant.dependencies)


def document_account_parameters(operation: dict[str, Any], own: int) -> None:
    """Add the account's query and header parameters to a route's documented operation where
    FastAPI put a dependency's: among the `own` parameters FastAPI wrote (those of
    `openapi_extra` follow), after the queries, after the headers; and FastAPI's 422 answer of
    a route with parameters."""
    parameters = operation.setdefault("parameters", [])
    queries_end = next((n for n, p in enumerate(parameters[:own]) if p["in"] not in ("path", "query")), own)
    parameters.insert(queries_end, ACCOUNT_PARAMETERS["query"])
    headers_end = next((n for n, p in enumerate(parameters[: own + 1]) if p["in"] == "cookie"), own + 1)
    parameters.insert(headers_end, ACCOUNT_PARAMETERS["header"])
    responses = operation.setdefault("responses", {})
    if not any(status in responses for status in ("422", "4XX", "default")):
        responses["422"] = {
            "description": "Validation Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
        }
