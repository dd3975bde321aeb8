"""go-whatsapp-web-multidevice's device and pairing routes, for a browser or an app: `/app/login`
(a QR code, as a PNG link and as the raw code), `/app/login-with-code` (a pairing code),
`/app/status`, `/app/logout`, `/app/reconnect`, `/app/devices`, and `/devices` (list, add,
remove: `wagw accounts add|remove`) with its per-device twins.

A device there is an account here (its name is the `device_id`). The API never pairs or logs
out itself, since that loads neonize: it asks the `wagw run` that runs the account through Redis
(wagw.devicecontrol) and reads what the pairing publishes. An account's linked devices are
its session and its wa-worker slots, each linked on its own: a login pairs the first of them
that is not paired, and says which (`role`); call it again for the next.

Adding or removing an account needs a basic-auth login: an account's token may act on its
own account only, and never on the list of accounts.
"""

from __future__ import annotations

import asyncio
import io
import time
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from loguru import logger

from wagw import devicecontrol, keys
from wagw.accounts import Account
from wagw.addresses import normalize_phone
from wagw.api.context import api_context, principal_of
from wagw.api.dependencies import CurrentAccount
from wagw.api.envelope import ENVELOPE_RESPONSE, ApiError, Envelope, success
from wagw.api.selection import select_account
from wagw.devices import DeviceState
from wagw.errors import AccountExists
from wagw.logs import utcnow_iso
from wagw.names import SESSION
from wagw.redisconn import as_text, hash_text

if TYPE_CHECKING:
    from wagw.api.guard import Principal

QR_PATH = "/statics/images/qrcode/scan-qr-{pairing_id}.png"  # where go-whatsapp-web-multidevice serves it
PAIRING_WAIT = 30.0  # seconds a login waits for its QR code or pairing code at most
POLL = 0.1
NEEDS_PAIRING = frozenset({DeviceState.UNPAIRED, DeviceState.LOGGED_OUT})
UNDER_WAY = frozenset({devicecontrol.STARTING, devicecontrol.QR, devicecontrol.CODE})
WEBHOOK_FIELDS = ("webhook_url", "webhook_secret", "webhook_events", "webhook_insecure_skip_verify")
TAGS: list[str | Enum] = ["app", "device"]


# Reading the devices ------------------------------------------------------------------------


async def _heartbeats(request: Request, account: Account) -> dict[str, dict[str, str]]:
    aconn = api_context(request).aconn
    async with aconn.pipeline(transaction=False) as pipe:
        for role in account.roles():
            pipe.hgetall(keys.DEVICE_STATUS.format(role=role))
        pipe.hmget(keys.DEVICE_JIDS, account.roles())
        replies = await pipe.execute()
    beats = {role: hash_text(raw) for role, raw in zip(account.roles(), replies, strict=False)}
    for role, jid in zip(account.roles(), replies[-1], strict=True):
        beats[role].setdefault("recorded_jid", as_text(jid) or "")
    return beats


def _needs_pairing(beat: dict[str, str]) -> bool:
    if beat.get("state") in NEEDS_PAIRING:
        return True
    return not beat.get("state") and not beat.get("recorded_jid")  # never reported, never paired


def _jid(beat: dict[str, str]) -> str:
    return beat.get("jid") or beat.get("recorded_jid") or ""


def _status(account: Account, beats: dict[str, dict[str, str]]) -> dict[str, Any]:
    session = beats[account.role(SESSION)]
    return {
        "is_connected": session.get("connected") == "1",
        "is_logged_in": not _needs_pairing(session) and (session.get("paired") == "1" or bool(_jid(session))),
        "device_id": account.name,
        "jid": _jid(session),
        "devices": [
            {
                "role": role,
                "state": beat.get("state") or "unknown",
                "paired": not _needs_pairing(beat),
                "connected": beat.get("connected") == "1",
                "jid": _jid(beat),
            }
            for role, beat in beats.items()
        ],
    }


def _device_info(account: Account, beats: dict[str, dict[str, str]], paired_at: str | None) -> dict[str, Any]:
    session = beats[account.role(SESSION)]
    jid = _jid(session)
    if session.get("connected") == "1":
        state = "logged_in"
    elif session.get("state") in (DeviceState.STARTING, DeviceState.CONNECTING):
        state = "connecting"
    else:
        state = "disconnected"
    return {
        "id": account.name,
        "phone_number": jid.partition("@")[0].partition(":")[0],
        "display_name": "",
        "state": state,
        "jid": jid,
        "created_at": paired_at,
    }


async def _paired_at(request: Request, account: Account) -> str | None:
    raw = await api_context(request).aconn.hget(keys.DEVICE_PAIRED_AT, account.role(SESSION))
    try:
        return datetime.fromtimestamp(float(as_text(raw) or ""), UTC).isoformat().replace("+00:00", "Z")
    except (ValueError, OverflowError, OSError):  # not a time wagw pair wrote (nan, inf, 1e300)
        return None


async def _device_of(request: Request, account: Account) -> dict[str, Any]:
    return _device_info(account, await _heartbeats(request, account), await _paired_at(request, account))


# Which account -------------------------------------------------------------------------------


async def path_account(request: Request, device_id: str) -> Account:
    """The account a `/devices/{device_id}/…` path names, as X-Device-Id would."""
    principal = principal_of(request)
    context = api_context(request)
    account = await select_account(context.aconn, context.roster.get(), device_id)
    if not principal.may_use(account.name):
        raise ApiError(403, "FORBIDDEN", "this token logs in for another account only")
    return account


PathAccount = Annotated[Account, Depends(path_account)]


def _who(principal: Principal) -> str:
    return f"user {principal.user}" if principal.user else f"the token of account {principal.account}"


def _operator(request: Request) -> Principal:
    """Changing the list of accounts needs a basic-auth login (every account)."""
    principal = principal_of(request)
    if principal.account is not None:
        raise ApiError(403, "FORBIDDEN", "an account's token cannot add or remove accounts: log in with basic auth")
    return principal


# Pairing -------------------------------------------------------------------------------------


async def _login(request: Request, account: Account, phone: str | None) -> dict[str, Any]:
    """Ask for a pairing of the account's first unpaired role and wait for its code."""
    context = api_context(request)
    beats = await _heartbeats(request, account)
    role = next((role for role, beat in beats.items() if _needs_pairing(beat)), None)
    if role is None:
        raise ApiError(
            400,
            "ALREADY_LOGGED_IN",
            f"account {account.name}: every linked device is paired ({', '.join(beats)}); log out first to link again",
            {"device_id": account.name},
        )
    current = await devicecontrol.pairing_of(context.aconn, role)
    if current is not None and current["state"] in UNDER_WAY and not _expired(current):
        wanted = devicecontrol.CODE if phone else devicecontrol.QR
        if current["state"] not in (wanted, devicecontrol.STARTING):
            raise ApiError(
                409,
                "PAIRING_IN_PROGRESS",
                f"{role}: a pairing by {current['state'].replace('qr', 'QR code')} is under way; finish it or wait "
                "for it to expire",
            )
        pairing_id = current["id"]
    else:
        submitted = devicecontrol.Request.new(devicecontrol.PAIR, account.name, role, phone)
        await devicecontrol.submit(context.aconn, submitted)
        pairing_id = submitted.id
    shown = await _wait_for_code(request, role, pairing_id)
    return {"role": role, **shown}


def _expired(pairing: dict[str, Any]) -> bool:
    return pairing["expires"] is not None and pairing["expires"] < time.time()


async def _wait_for_code(request: Request, role: str, pairing_id: str) -> dict[str, Any]:
    context = api_context(request)
    deadline = time.monotonic() + min(PAIRING_WAIT, max(context.settings.api_wait, 5.0))
    while time.monotonic() < deadline:
        pairing = await devicecontrol.pairing_of(context.aconn, role)
        if pairing is not None and pairing["id"] == pairing_id and not _expired(pairing):
            if pairing["state"] in (devicecontrol.QR, devicecontrol.CODE):
                return pairing
            if pairing["state"] == devicecontrol.FAILED:
                raise ApiError(500, "PAIRING_FAILED", f"{role}: {pairing['error'] or 'pairing failed'}")
            if pairing["state"] in (devicecontrol.PAIRED, devicecontrol.ALREADY_PAIRED):
                raise ApiError(400, "ALREADY_LOGGED_IN", f"{role} is paired as {pairing['jid']}")
        await asyncio.sleep(POLL)
    raise ApiError(
        503,
        "PAIRING_UNAVAILABLE",
        f"{role}: no QR code or pairing code within {PAIRING_WAIT:g} s: is the account run by a `wagw run` "
        "on this Redis? (`wagw status`)",
    )


def _qr_answer(request: Request, account: Account, shown: dict[str, Any]) -> JSONResponse:
    link = str(request.base_url).rstrip("/") + QR_PATH.format(pairing_id=shown["id"])
    remaining = max(0, round(shown["expires"] - time.time())) if shown["expires"] else 0
    return success(
        {
            "device_id": account.name,
            "qr_link": link,
            "qr_duration": remaining,
            "qr_code": shown["qr"],
            "role": shown["role"],
        },
        "Login success",
    )


def _code_answer(account: Account, shown: dict[str, Any], message: str) -> JSONResponse:
    return success({"device_id": account.name, "pair_code": shown["code"], "role": shown["role"]}, message)


def _phone(phone: str | None) -> str:
    try:
        return normalize_phone(phone or "")
    except ValueError as error:
        raise ApiError(400, "VALIDATION_ERROR", f"phone: {error}; give the international number") from None


async def app_login(request: Request, account: CurrentAccount) -> JSONResponse:
    return _qr_answer(request, account, await _login(request, account, None))


async def app_login_with_code(
    request: Request,
    account: CurrentAccount,
    phone: Annotated[str | None, Query(description="your phone number")] = None,
) -> JSONResponse:
    shown = await _login(request, account, _phone(phone))
    return _code_answer(account, shown, "Login with code success")


async def device_login(request: Request, account: PathAccount) -> JSONResponse:
    return _qr_answer(request, account, await _login(request, account, None))


async def device_login_with_code(
    request: Request, account: PathAccount, phone: Annotated[str | None, Query(description="phone to pair with")] = None
) -> JSONResponse:
    shown = await _login(request, account, _phone(phone))
    return _code_answer(account, shown, "Login with code started")


async def qr_png(request: Request, pairing_id: str) -> Response:
    """The QR code of a pairing under way, as a PNG, for the accounts this login may use."""
    principal = principal_of(request)
    context = api_context(request)
    if devicecontrol.ID.fullmatch(pairing_id):
        for account in context.roster.get().configured:
            if not principal.may_use(account.name):
                continue
            for role in account.roles():
                pairing = await devicecontrol.pairing_of(context.aconn, role)
                if pairing and pairing["id"] == pairing_id and pairing["qr"] and not _expired(pairing):
                    png = await anyio.to_thread.run_sync(_png, pairing["qr"])
                    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})
    raise ApiError(404, "NOT_FOUND", "no QR code under way with this id (it may have expired: log in again)")


def _png(data: str) -> bytes:
    import qrcode

    out = io.BytesIO()
    qrcode.make(data, border=2).save(out)
    return out.getvalue()


# Status, logout, reconnect -------------------------------------------------------------------


async def app_status(request: Request, account: CurrentAccount) -> JSONResponse:
    return success(_status(account, await _heartbeats(request, account)), "Connection status retrieved")


async def device_status(request: Request, account: PathAccount) -> JSONResponse:
    found = _status(account, await _heartbeats(request, account))
    results = {"device_id": account.name, "is_connected": found["is_connected"], "is_logged_in": found["is_logged_in"]}
    return success({**results, "jid": found["jid"], "devices": found["devices"]}, "Device status")


async def _ask(request: Request, account: Account, action: str) -> None:
    principal = principal_of(request)
    log = logger.warning if action == devicecontrol.LOGOUT else logger.info
    log("api: {} of account {} asked for by {}", action, account.name, _who(principal))
    await devicecontrol.submit(api_context(request).aconn, devicecontrol.Request.new(action, account.name))


async def app_logout(request: Request, account: CurrentAccount) -> JSONResponse:
    await _ask(request, account, devicecontrol.LOGOUT)
    return success({"device_id": account.name}, "Success logout")


async def app_reconnect(request: Request, account: CurrentAccount) -> JSONResponse:
    await _ask(request, account, devicecontrol.RECONNECT)
    return success({"device_id": account.name}, "Reconnect success")


async def device_logout(request: Request, account: PathAccount) -> JSONResponse:
    await _ask(request, account, devicecontrol.LOGOUT)
    return success(None, "Logout requested")


async def device_reconnect(request: Request, account: PathAccount) -> JSONResponse:
    await _ask(request, account, devicecontrol.RECONNECT)
    return success(None, "Reconnect requested")


# The list of devices (accounts) --------------------------------------------------------------


def _usable(request: Request) -> list[Account]:
    principal = principal_of(request)
    return [a for a in api_context(request).roster.get().configured if principal.may_use(a.name)]


async def app_devices(request: Request) -> JSONResponse:
    listed = []
    for account in _usable(request):
        beats = await _heartbeats(request, account)
        listed.append({"name": account.name, "device": account.name, "jid": _jid(beats[account.role(SESSION)])})
    return success(listed, "Fetch device success")


async def list_devices(request: Request) -> JSONResponse:
    return success([await _device_of(request, account) for account in _usable(request)], "List devices")


async def get_device(request: Request, account: PathAccount) -> JSONResponse:
    return success(await _device_of(request, account), "Device info")


async def add_device(request: Request, body: Annotated[dict[str, Any] | None, Body()] = None) -> JSONResponse:
    from wagw.supervisor import reconcile

    principal = _operator(request)
    body = body or {}
    if any(body.get(field) for field in WEBHOOK_FIELDS):
        raise ApiError(
            400,
            "BAD_REQUEST",
            "webhook endpoints are the daemon's settings, not the API's: set WAGW_ACCOUNT__<NAME>__WEBHOOK_URLS "
            "(docs/configuration.md)",
        )
    name = body.get("device_id") or f"device-{time.strftime('%Y%m%d%H%M%S')}"
    if not isinstance(name, str):
        raise ApiError(400, "BAD_REQUEST", "device_id must be a string")
    settings = api_context(request).settings
    try:
        await anyio.to_thread.run_sync(reconcile.add, settings, name)
    except AccountExists as error:
        raise ApiError(409, "DEVICE_EXISTS", str(error)) from None
    except ValueError as error:
        raise ApiError(400, "BAD_REQUEST", str(error)) from None
    api_context(request).roster.reload()  # listed at once by this process
    logger.info("api: account {} added by {}", name, _who(principal))
    created = utcnow_iso()
    return success(
        {"id": name, "display_name": "", "state": "disconnected", "jid": "", "created_at": created}, "Device added"
    )


async def remove_device(request: Request, device_id: str) -> JSONResponse:
    from wagw.supervisor import reconcile

    principal = _operator(request)
    account = await path_account(request, device_id)
    try:
        await anyio.to_thread.run_sync(reconcile.remove, api_context(request).settings, account.name)
    except ValueError as error:
        raise ApiError(400, "BAD_REQUEST", str(error)) from None
    api_context(request).roster.reload()  # gone at once from this process's lists
    logger.info("api: account {} removed by {}", account.name, _who(principal))
    return success(None, "Device removed")


def router() -> APIRouter:
    routes = APIRouter(tags=TAGS, responses={400: ENVELOPE_RESPONSE, 403: ENVELOPE_RESPONSE})
    for method, path, endpoint, summary in (
        ("GET", "/app/login", app_login, "QR code to link the account's next unpaired device"),
        ("GET", "/app/login-with-code", app_login_with_code, "Pairing code to link it by phone number"),
        ("GET", "/app/status", app_status, "Connection status of the account's devices"),
        ("GET", "/app/logout", app_logout, "Log the account's devices out of WhatsApp"),
        ("GET", "/app/reconnect", app_reconnect, "Restart the account's session"),
        ("GET", "/app/devices", app_devices, "The accounts and their JIDs"),
        ("GET", QR_PATH, qr_png, "The QR code of a pairing under way (PNG)"),
        ("GET", "/devices", list_devices, "List the accounts"),
        ("POST", "/devices", add_device, "Add an account (wagw accounts add)"),
        ("GET", "/devices/{device_id}", get_device, "An account's device info"),
        ("DELETE", "/devices/{device_id}", remove_device, "Remove an account (wagw accounts remove)"),
        ("GET", "/devices/{device_id}/login", device_login, "QR code for an account"),
        ("POST", "/devices/{device_id}/login/code", device_login_with_code, "Pairing code for an account"),
        ("POST", "/devices/{device_id}/logout", device_logout, "Log an account's devices out"),
        ("POST", "/devices/{device_id}/reconnect", device_reconnect, "Restart an account's session"),
        ("GET", "/devices/{device_id}/status", device_status, "An account's connection status"),
    ):
        png = path == QR_PATH
        routes.add_api_route(
            path,
            endpoint,
            methods=[method],
            summary=summary,
            response_model=None if png else Envelope,
            response_class=Response if png else JSONResponse,
            responses={200: {"content": {"image/png": {}}}} if png else None,
        )
    return routes
