"""What the routes of `wagw api` share (one per process, on `app.state.api`), and the
FastAPI dependencies every router uses: the login and the account a request is for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Header, Query, Request

from wagw.accounts import Account
from wagw.api.envelope import ApiError
from wagw.api.guard import Principal
from wagw.api.selection import DEVICE_HEADER, DEVICE_QUERY, select_account

if TYPE_CHECKING:
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis

    from wagw.api.calls import Caller
    from wagw.api.selection import LiveRoster
    from wagw.config import Settings


@dataclass
class ApiContext:
    settings: Settings
    roster: LiveRoster  # .get(): the accounts now (follows `wagw accounts add|remove`)
    conn: Redis  # synchronous: rq (run it in a thread)
    aconn: AsyncRedis  # asyncio: waits and small reads
    caller: Caller  # wagw.api.calls: enqueue and await jobs


def api_context(request: Request) -> ApiContext:
    return request.app.state.api


def principal_of(request: Request) -> Principal:
    """Who logged in (wagw.api.guard); an open path has nobody, and may use no account."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        raise ApiError(401, "UNAUTHORIZED", "log in")
    return principal


async def current_account(
    request: Request,
    x_device_id: Annotated[
        str | None,
        Header(alias=DEVICE_HEADER, description="the account: its name or a linked device's JID"),
    ] = None,
    device_id: Annotated[
        str | None, Query(alias=DEVICE_QUERY, description="the account, when the header is not sent")
    ] = None,
) -> Account:
    """The account the request is for (wagw.api.selection); an account's token may name its
    own account only, and is that account when none is named."""
    principal = principal_of(request)
    context = api_context(request)
    given = x_device_id or device_id or principal.account
    account = await select_account(context.aconn, context.roster.get(), given)
    if not principal.may_use(account.name):
        raise ApiError(403, "FORBIDDEN", "this token logs in for another account only")
    return account


CurrentAccount = Annotated[Account, Depends(current_account)]


async def request_account(request: Request) -> Account:
    """`current_account` for a route that reads the request itself (no FastAPI parameters to
    solve per request: the generated /wa routes); it documents them with `ACCOUNT_PARAMETERS`."""
    return await current_account(request, request.headers.get(DEVICE_HEADER), request.query_params.get(DEVICE_QUERY))


def optional_parameter(name: str, where: str, description: str) -> dict[str, Any]:
    """An optional string parameter, documented as FastAPI documents `Header()`/`Query()`."""
    title = name.replace("_", " ").title() if where == "query" else name
    schema = {"anyOf": [{"type": "string"}, {"type": "null"}], "description": description, "title": title}
    return {"name": name, "in": where, "required": False, "schema": schema, "description": description}


ACCOUNT_PARAMETERS = {
    "query": optional_parameter(DEVICE_QUERY, "query", "the account, when the header is not sent"),
    "header": optional_parameter(DEVICE_HEADER, "header", "the account: its name or a linked device's JID"),
}
