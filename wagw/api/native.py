"""wagw's own routes, generated from the operation table: `POST /wa/<operation>` for each
row (its argument model as the JSON body, or a multipart form whose media argument may be an
uploaded file), `GET /jobs/{job_id}`, and the open `GET /health`.

How an outcome is answered (the calling semantics, docs/api.md) is `outcome_response`, which
the other routers may use too.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any

import anyio
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse

from wagw import keys, operations
from wagw.api import uploads
from wagw.api.calls import Failed, Finished, Pending, Rejected
from wagw.api.context import ACCOUNT_PARAMETERS, api_context, current_account, optional_parameter, principal_of
from wagw.api.envelope import ENVELOPE_RESPONSE, PENDING, ApiError, Envelope, envelope, success
from wagw.api.groups import TITLES, group_of

if TYPE_CHECKING:
    from fastapi import APIRouter

    from wagw.api.calls import CallOutcome
    from wagw.api.context import ApiContext
    from wagw.operations import Operation

JOBS_PATH = "/jobs/{job_id}"
# The error names of failed jobs (docs/jobs.md "Errors") -> HTTP status.
FAILED_STATUS = {
    "InvalidArguments": 400,
    "RefusedJob": 400,
    "OutcomeUnknown": 502,
    "HostCrashed": 502,
    "PoisonedTarget": 503,
    "Quarantined": 503,
    "HostTimeout": 504,
    "SlotNotPaired": 503,
    "SlotLoggedOut": 503,
    "SlotReplaced": 503,
    "SlotBanned": 503,
    "HostUnavailable": 503,
}
FAILED_DEFAULT_STATUS = 502  # WhatsApp or the call failed: the gateway's upstream
_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ENVELOPE = ENVELOPE_RESPONSE
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {**_ENVELOPE, "description": "the job's result in `results`"},
    202: {**_ENVELOPE, "description": "the job is still running: poll the Location (GET /jobs/{job_id})"},
    400: {**_ENVELOPE, "description": "bad arguments (the message names the argument), or no account named"},
    401: {**_ENVELOPE, "description": "not logged in"},
    403: {**_ENVELOPE, "description": "this token is for another account"},
    404: {**_ENVELOPE, "description": "no such account or job"},
    409: {**_ENVELOPE, "description": "the Idempotency-Key's first job could not be settled now: try again"},
    413: {**_ENVELOPE, "description": "the body or upload is too large"},
    421: {**_ENVELOPE, "description": "unknown Host"},
    422: {**_ENVELOPE, "description": "the Idempotency-Key was first used with other arguments"},
    429: {**_ENVELOPE, "description": "too many failed logins"},
    502: {**_ENVELOPE, "description": "the job failed (WhatsApp refused, a native crash, outcome unknown)"},
    503: {**_ENVELOPE, "description": "the account cannot run it now (not served, not paired, quarantined)"},
    504: {**_ENVELOPE, "description": "the call timed out"},
}


def error_code(name: str) -> str:
    """'OutcomeUnknown' -> 'OUTCOME_UNKNOWN'; bad arguments are VALIDATION_ERROR."""
    if name == "InvalidArguments":
        return "VALIDATION_ERROR"
    return _WORD.sub("_", name).upper()


def failed_status(outcome: Failed) -> int:
    return FAILED_STATUS.get(outcome.short_name, FAILED_DEFAULT_STATUS)


def job_location(job_id: str) -> str:
    return JOBS_PATH.format(job_id=job_id)


def pending_results(outcome: Pending) -> dict[str, Any]:
    results: dict[str, Any] = {"job_id": outcome.job_id, "status": "pending"}
    if outcome.crash:
        results["crash"] = outcome.crash
    return results


def failed_results(outcome: Failed) -> dict[str, Any]:
    return {
        "job_id": outcome.job_id,
        "status": "failed",
        "error": outcome.error,
        "permanent": outcome.permanent,
        "crash": outcome.crash,
    }


def outcome_response(outcome: CallOutcome) -> JSONResponse:
    """The answer to a call: 200 and the job's result; 202 with Location while it runs; the
    error's status with its name, message and crash outcome when it failed; 400/503 when
    nothing was enqueued."""
    if isinstance(outcome, Finished):
        return success(outcome.result)
    if isinstance(outcome, Pending):
        message = "the job is still running: poll the Location"
        if outcome.crash:
            message = "an attempt crashed its native host; the job waits for its retry: poll the Location"
        return envelope(
            PENDING,
            message,
            pending_results(outcome),
            status=202,
            headers={"Location": job_location(outcome.job_id)},
        )
    if isinstance(outcome, Rejected):
        results = {"argument": outcome.argument} if outcome.argument else None
        return envelope(outcome.code, outcome.message, results, status=outcome.status)
    code = error_code(outcome.short_name)
    return envelope(code, outcome.message, failed_results(outcome), status=failed_status(outcome))


def respond_async(prefer: str | None) -> bool:
    """RFC 7240: `Prefer: respond-async` (among other preferences)."""
    if not prefer:
        return False
    return any(part.split(";")[0].strip().lower() == "respond-async" for part in prefer.split(","))


def preferred_wait(prefer: str | None) -> float | None:
    """RFC 7240's `wait=<seconds>` preference, if given."""
    for part in (prefer or "").split(","):
        name, _, value = part.split(";")[0].strip().partition("=")
        if name.lower() == "wait" and value.strip().isdigit():
            return float(value.strip())
    return None


# Request bodies --------------------------------------------------------------------------
def _field_types(op: Operation) -> dict[str, str]:
    """Each argument's JSON type ("string", "boolean", "integer", "number", "array", "object")."""
    schema = op.args.model_json_schema()
    types = {}
    for name, prop in schema.get("properties", {}).items():
        kinds = [prop.get("type")] + [option.get("type") for option in prop.get("anyOf", [])]
        if prop.get("$ref") or any(option.get("$ref") for option in prop.get("anyOf", [])):
            kinds.append("object")
        chosen = [kind for kind in kinds if kind and kind != "null"]
        types[name] = chosen[0] if chosen else "string"
    return types


def _from_form(op: Operation, name: str, values: list[str], kind: str) -> Any:
    """A form field's text as the argument's JSON type; a list from repeated fields or JSON."""
    invalid = f"invalid arguments for {op.name}: {name}: "
    if kind == "array":
        if len(values) == 1 and values[0].lstrip().startswith("["):
            return _json_field(values[0], invalid)
        return values
    value = values[-1]
    if kind == "boolean":
        lowered = value.strip().lower()
        if lowered in ("true", "1", "on", "yes"):
            return True
        if lowered in ("false", "0", "off", "no", ""):
            return False
        raise ApiError(400, "VALIDATION_ERROR", invalid + "Input should be true or false", {"argument": name})
    if kind in ("integer", "number"):
        try:
            return int(value) if kind == "integer" else float(value)
        except ValueError:
            raise ApiError(400, "VALIDATION_ERROR", invalid + f"Input should be a {kind}", {"argument": name}) from None
    if kind == "object":
        return _json_field(value, invalid)
    return value


def _json_field(value: str, invalid: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        raise ApiError(400, "VALIDATION_ERROR", invalid + "not JSON") from None


async def read_arguments(request: Request, op: Operation, types: dict[str, str]) -> dict[str, Any]:
    """The call's arguments from a JSON object body, or a form (multipart or urlencoded)
    whose media argument may be an uploaded file, stored in the media folder first."""
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
        settings = api_context(request).settings
        form = await request.form(max_files=1, max_fields=len(types) * 100 + 10)
        try:
            arguments: dict[str, Any] = {}
            for name in dict.fromkeys(form.keys()):
                values = form.getlist(name)
                files = [value for value in values if isinstance(value, UploadFile)]
                if files:
                    if name != op.media:
                        raise ApiError(
                            400,
                            "VALIDATION_ERROR",
                            f"invalid arguments for {op.name}: {name[:64]}: takes no file"
                            + (f" (upload the file as {op.media})" if op.media else ""),
                            {"argument": name[:64]},
                        )
                    arguments[name] = await uploads.save_upload(
                        files[0], settings.media_path, settings.api_upload_max_bytes
                    )
                    continue
                texts = [value for value in values if isinstance(value, str)]
                arguments[name] = _from_form(op, name, texts, types.get(name, "string"))
            return arguments
        finally:
            await form.close()
    body = await request.body()
    if not body.strip():
        return {}
    try:
        arguments = json.loads(body)
    except ValueError:
        raise ApiError(400, "VALIDATION_ERROR", "the body is not JSON (or send a multipart form)") from None
    if not isinstance(arguments, dict):
        raise ApiError(400, "VALIDATION_ERROR", f"invalid arguments for {op.name}: the body must be a JSON object")
    return arguments


def _request_body(op: Operation) -> dict[str, Any]:
    """The route's documented body: the argument model as JSON, or the same as a form."""
    ref = {"$ref": f"#/components/schemas/{op.args.__name__}"}
    schema = op.args.model_json_schema()
    required = bool(schema.get("required"))
    content: dict[str, Any] = {"application/json": {"schema": ref}}
    if op.media:
        form_properties = {
            name: ({"type": "string", "format": "binary"} if name == op.media else {"type": "string"})
            for name in schema.get("properties", {})
        }
        content["multipart/form-data"] = {
            "schema": {"type": "object", "properties": form_properties, "required": schema.get("required", [])}
        }
    return {"parameters": CALL_PARAMETERS, "requestBody": {"required": required, "content": content}}


# The /wa routes read their headers themselves (FastAPI solving them cost a tenth of a call's
# CPU); documented here as FastAPI would document them, in its order (query, then headers).
IDEMPOTENCY_HEADER = "Idempotency-Key"
PREFER_HEADER = "Prefer"
CALL_PARAMETERS = [
    ACCOUNT_PARAMETERS["query"],
    optional_parameter(IDEMPOTENCY_HEADER, "header", "the same key returns the first job"),
    optional_parameter(PREFER_HEADER, "header", "respond-async: answer 202 at once; wait=N: wait N s"),
    ACCOUNT_PARAMETERS["header"],
]


def _endpoint(op: Operation):
    types = _field_types(op)

    async def call(request: Request) -> JSONResponse:
        account = await current_account(request)
        arguments = await read_arguments(request, op, types)
        context = api_context(request)
        prefer = request.headers.get(PREFER_HEADER)
        wait = preferred_wait(prefer)
        outcome = await context.caller.call(
            account,
            op.name,
            arguments,
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
            respond_async=respond_async(prefer),
            wait=min(wait, context.settings.api_wait) if wait is not None else None,
        )
        return outcome_response(outcome)

    call.__name__ = op.name
    return call


@functools.cache
def call_endpoints() -> dict[str, Any]:
    """Each operation's endpoint, made once: the app's routes and wagw.api.direct call the same."""
    return {name: _endpoint(op) for name, op in operations.OPERATIONS.items()}


def direct_routes() -> dict[tuple[str, str], Any]:
    """(method, path) -> endpoint of the routes wagw.api.direct serves without the routing."""
    routes = {("POST", f"/wa/{name}"): endpoint for name, endpoint in call_endpoints().items()}
    routes[("GET", "/health")] = health
    return routes


def router() -> APIRouter:
    from fastapi import APIRouter  # the app is built on the first request that needs it (wagw.api.front)

    routes = APIRouter()
    for op in operations.OPERATIONS.values():
        group = group_of(op.name)
        routes.add_api_route(
            f"/wa/{op.name}",
            call_endpoints()[op.name],
            methods=["POST"],
            summary=op.name.replace("_", " ").capitalize(),
            description=f"{op.summary}\n\nThe job `{op.path}` (docs/jobs.md); a send: {op.sends}.",
            operation_id=op.name,
            tags=[TITLES.get(group, group)],
            response_model=None,  # documented by RESPONSES: a model per route costs memory, not checks
            responses=RESPONSES,
            openapi_extra=_request_body(op),
        )
    routes.add_api_route(
        JOBS_PATH,
        job_status,
        methods=["GET"],
        summary="A wa job's outcome",
        description="The answer its call would give now: 200 and the result, 202 while it runs, "
        "or its error (with the crash outcome of a native crash).",
        operation_id="job_status",
        tags=["jobs"],
        response_model=Envelope,
        responses=RESPONSES,
    )
    routes.add_api_route(
        "/health",
        health,
        methods=["GET"],
        summary="Health (no login)",
        description="Redis answers, and how many of the accounts' linked devices are connected.",
        operation_id="health",
        tags=["health"],
        response_model=None,
        responses={
            200: {**_ENVELOPE, "description": "Redis answers"},
            503: {**_ENVELOPE, "description": "Redis does not answer"},
        },
    )
    return routes


async def job_status(request: Request, job_id: str) -> JSONResponse:
    principal = principal_of(request)
    context = api_context(request)
    found = await anyio.to_thread.run_sync(context.caller.job_outcome, job_id) if len(job_id) <= 128 else None
    if found is not None and not principal.may_use(account_of_queue(context, found[1])):
        found = None  # another account's job: as if there were none
    if found is None:
        raise ApiError(404, "JOB_NOT_FOUND", "no such wa job (it may have expired)", {"job_id": job_id[:128]})
    return outcome_response(found[0])


def account_of_queue(context: ApiContext, queue: str) -> str:
    """The account whose job was enqueued on `queue` (`wa` is the first account's)."""
    if queue == keys.WA_QUEUE:
        configured = context.roster.get().configured
        return next((account.name for account in configured if account.primary), "")
    return queue.removeprefix(keys.WA_QUEUE + ".")


async def health(request: Request) -> JSONResponse:
    context = api_context(request)
    roles = [role for account in context.roster.get().configured for role in account.roles()]
    try:
        async with context.aconn.pipeline(transaction=False) as pipe:
            for role in roles:
                pipe.hget(keys.DEVICE_STATUS.format(role=role), "connected")
            connected = await pipe.execute()
    except Exception as error:  # any Redis trouble is the answer
        return envelope("REDIS_UNAVAILABLE", f"Redis does not answer: {type(error).__name__}", status=503)
    up = sum(1 for value in connected if value in (b"1", "1"))
    return success({"redis": True, "devices": {"connected": up, "expected": len(roles)}})
