"""What every request passes before a route sees it (one ASGI middleware):

1. its Host header names the API (wagw.hostcheck: an IP address, localhost or a name in
   WAGW_API_HOSTS), else 421, so a web page that rebinds its DNS name to this address
   reaches nothing;
2. its body stays within the size a call can take (an upload: WAGW_API_UPLOAD_MAX_BYTES),
   else 413, counted as it arrives;
3. it logs in, except for `GET /health`: basic auth from WAGW_API_BASIC_AUTH (every
   account) or an account's bearer token (that account only), compared in constant time;
   failed logins are budgeted per client and in total (wagw.loginthrottle): past the budget
   429 with Retry-After, the credentials not even checked.

The login is kept in the request's state as a Principal (`request.state.principal`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wagw.api import tokens
from wagw.api.envelope import ApiError
from wagw.api.jobrecord import MAX_ARGUMENT_BYTES
from wagw.hostcheck import host_allowed

if TYPE_CHECKING:
    from redis.asyncio import Redis as AsyncRedis

    from wagw.api.asgi import Asgi, Message, Receive, Scope, Send
    from wagw.api.context import ApiContext
    from wagw.config import Settings
    from wagw.loginthrottle import LoginThrottle

REALM = "wagw api"
OPEN_PATHS = frozenset({"/health"})
MULTIPART_OVERHEAD = 1024 * 1024  # form fields and part headers around an upload
# A JSON body carries at most one job's arguments (a base64 image is the largest).
JSON_BODY_MAX = MAX_ARGUMENT_BYTES + 1024 * 1024


@dataclass(frozen=True)
class Principal:
    """Who logged in: a basic-auth user (every account) or an account's token (`account`)."""

    user: str | None = None
    account: str | None = None  # None: every account

    def may_use(self, account: str) -> bool:
        return self.account is None or self.account == account


class BodyTooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return value.decode("latin-1")
    return None


class Guard:
    def __init__(
        self,
        app: Asgi,
        *,
        aconn: AsyncRedis,
        logins: list[tuple[str, str]],
        throttle: LoginThrottle,
        hosts: list[str],
        json_max_bytes: int,
        upload_max_bytes: int,
    ) -> None:
        self.app = app
        self.aconn = aconn
        self.logins = [(user.encode(), password.encode()) for user, password in logins]
        self.throttle = throttle
        self.hosts = list(hosts)
        self.json_max_bytes = json_max_bytes
        self.upload_max_bytes = upload_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            host = _header(scope, b"host")
            if host is not None and not host_allowed(host, self.hosts):
                raise ApiError(421, "UNKNOWN_HOST", "unknown Host: add it to WAGW_API_HOSTS")
            if scope["path"] not in OPEN_PATHS:
                principal = await self.login(scope)
                scope.setdefault("state", {})["principal"] = principal
            limit = self._body_limit(scope)
            length = _header(scope, b"content-length")
            if length is not None and (not length.isdigit() or int(length) > limit):
                raise self._too_large(scope, limit)
        except ApiError as error:
            await error.response()(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, _capped(receive, limit), sending)
        except BodyTooLarge:
            if not started:
                await self._too_large(scope, limit).response()(scope, receive, send)

    def _body_limit(self, scope: Scope) -> int:
        kind = (_header(scope, b"content-type") or "").lower()
        if kind.startswith("multipart/"):
            return self.upload_max_bytes + MULTIPART_OVERHEAD
        return self.json_max_bytes

    def _too_large(self, scope: Scope, limit: int) -> ApiError:
        setting = "WAGW_API_UPLOAD_MAX_BYTES" if limit != self.json_max_bytes else "the largest job"
        return ApiError(413, "PAYLOAD_TOO_LARGE", f"the request body is larger than {limit} bytes ({setting})")

    async def login(self, scope: Scope) -> Principal:
        authorization = _header(scope, b"authorization")
        if not authorization:  # a browser's first request: no guess made
            raise _login_required()
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.throttle.acquire(client)
        if wait:
            raise ApiError(
                429,
                "TOO_MANY_LOGINS",
                "too many failed logins: try again later",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        principal = await self._check(authorization)
        if principal is None:
            raise _login_required()  # the attempt stays spent
        self.throttle.release(client)
        return principal

    async def _check(self, authorization: str) -> Principal | None:
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            account = await tokens.account_of(self.aconn, value.strip())
            return Principal(account=account) if account is not None else None
        if scheme != "basic" or not self.logins:
            return None
        try:
            user, sep, password = base64.b64decode(value.strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return None
        if not sep:
            return None
        matched: bytes | None = None
        for known_user, known_password in self.logins:  # every pair compared: no early exit
            same = hmac.compare_digest(user, known_user) & hmac.compare_digest(password, known_password)
            if same and matched is None:
                matched = known_user
        return Principal(user=matched.decode(errors="replace")) if matched is not None else None


def guard_options(settings: Settings, context: ApiContext) -> dict[str, Any]:
    """Guard's keyword arguments for `wagw api` with these settings."""
    return {
        "aconn": context.aconn,
        "logins": settings.api_logins,
        "throttle": context.throttle,
        "hosts": settings.api_hosts,
        "json_max_bytes": JSON_BODY_MAX,
        "upload_max_bytes": settings.api_upload_max_bytes,
    }


def _login_required() -> ApiError:
    return ApiError(
        401,
        "UNAUTHORIZED",
        "log in: basic auth (WAGW_API_BASIC_AUTH) or an account's bearer token (`wagw accounts token NAME`)",
        headers={"WWW-Authenticate": f'Basic realm="{REALM}"'},
    )


def _capped(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return capped
