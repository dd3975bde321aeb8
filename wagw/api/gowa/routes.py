"""The go-whatsapp-web-multidevice routes, generated from the table (wagw.api.gowa.table).

One route per row that wagw.api does not serve elsewhere: a job's row reads the request as
that API takes it (query, path, a JSON, urlencoded or multipart body, uploaded files saved
in the media folder), calls the job through the call core (wagw.api.calls) for the account
X-Device-Id / device_id names, and answers as that API does (wagw.api.gowa.answers); an
unsupported row answers 501 with the reason and what to use instead. Each route's OpenAPI
entry (parameters, body, summary) comes from its row too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from wagw.api.calls import Rejected
from wagw.api.context import api_context
from wagw.api.dependencies import CurrentAccount
from wagw.api.envelope import ENVELOPE_RESPONSE, success
from wagw.api.gowa import answers, history, results, senders
from wagw.api.gowa.model import Field, Row
from wagw.api.gowa.reading import call_options, read_incoming, remove_uploads
from wagw.api.gowa.requests import RequestInvalid, to_arguments
from wagw.api.gowa.table import ROWS

TAG_PREFIX = "go-whatsapp-web-multidevice: "
# The statuses a route of this API may answer, each with the envelope (OpenAPI).
STATUSES = {
    200: "done (SUCCESS)",
    202: "the job is still running (PENDING): poll the Location",
    400: "bad request (VALIDATION_ERROR, INVALID_REQUEST, DEVICE_ID_REQUIRED)",
    401: "not logged in, or the account's device not paired or connected (AUTHENTICATION_ERROR)",
    403: "this token is for another account",
    404: "no such account (DEVICE_NOT_FOUND)",
    413: "the body or an upload is too large",
    421: "the Host header names no address of the API",
    422: "the Idempotency-Key was used with other arguments",
    429: "too many failed logins, or WhatsApp's reach-out limit (WA_REACHOUT_TIMELOCK)",
    500: "the job failed (INTERNAL_SERVER_ERROR), a native crash's outcome in results.crash",
    501: "not supported by wagw (NOT_IMPLEMENTED): the message says what to use instead",
    503: "no running wagw serves the account",
    504: "the call ran past its job timeout (GATEWAY_TIMEOUT)",
}
_SCHEMA_TYPES: dict[str, dict[str, Any]] = {
    "bool": {"type": "boolean"},
    "int": {"type": "integer"},
    "float": {"type": "string", "description": "a decimal number (that API takes it as a string)"},
    "list": {"type": "array", "items": {"type": "string"}},
    "phones": {"type": "array", "items": {"type": "string"}},
    "file": {"type": "string", "format": "binary"},
}


def _schema(field: Field) -> dict[str, Any]:
    schema = dict(_SCHEMA_TYPES.get(field.kind, {"type": field.json_type or "string"}))
    if field.values:
        schema["enum"] = list(field.values)
    notes = [text for text in (schema.pop("description", ""), field.note) if text]
    if field.extension:
        notes.append("wagw's own field")
    if field.kind == "ignored":
        notes.insert(0, "accepted and ignored")
    if notes:
        schema["description"] = "; ".join(notes)
    return schema


def openapi_extra(row: Row) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    parameters = [
        {"name": f.name, "in": f.where, "required": f.required or f.where == "path", "schema": _schema(f)}
        for f in row.fields
        if f.where in ("query", "path")
    ]
    if "{" in row.path and not any(f.where == "path" for f in row.fields):
        name = row.path.partition("{")[2].partition("}")[0]
        parameters.append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
    if parameters:
        extra["parameters"] = parameters
    body_fields = [f for f in row.fields if f.where in ("body", "file")]
    if row.body and body_fields:
        media_type = "application/json" if row.body == "json" else "multipart/form-data"
        properties = {f.name: _schema(f) for f in body_fields}
        required = [f.name for f in body_fields if f.required and f.kind not in ("file", "url")]
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        extra["requestBody"] = {"content": {media_type: {"schema": schema}}}
    return extra


def description(row: Row) -> str:
    lines = [f"go-whatsapp-web-multidevice's `{row.operation_id}`: **{row.status}**."]
    if row.operation:
        lines.append(f"wagw job: `{row.operation}`.")
    if row.differs:
        lines.append(f"Differs: {row.differs}.")
    if row.status == "not supported":
        lines.append(f"Why: {row.reason}. Instead: {row.instead}.")
    return " ".join(lines)


def _job_endpoint(row: Row) -> Any:
    assert row.operation is not None
    operation = row.operation

    async def endpoint(request: Request, account: CurrentAccount) -> Response:
        incoming = await read_incoming(row, request)
        try:
            arguments, seen = to_arguments(row, incoming)
        except RequestInvalid as error:
            remove_uploads(request, dict(incoming.files))
            return answers.invalid(str(error), error.code)
        arguments = await senders.with_senders(request, account, operation, arguments)
        outcome = await api_context(request).caller.call(account, operation, arguments, **call_options(request))
        if isinstance(outcome, Rejected):
            remove_uploads(request, dict(incoming.files))
        return answers.answer(row, outcome, seen)

    return endpoint


def _not_supported_endpoint(row: Row) -> Any:
    async def endpoint() -> JSONResponse:
        return answers.not_supported(row)

    return endpoint


def _not_served_endpoint(row: Row) -> Any:
    """A row another router serves, when the app has none for it: 501, never a bare 404."""

    async def endpoint() -> JSONResponse:
        return answers.not_served(row)

    return endpoint


def _app_info_endpoint(row: Row) -> Any:
    async def endpoint() -> JSONResponse:
        return success(results.app_info(), row.message)

    return endpoint


def endpoint_of(row: Row) -> Any:
    if row.status == "not supported":
        return _not_supported_endpoint(row)
    if row.result in (history.CHATS, history.MESSAGES):
        return history.endpoint(row)
    if row.result == history.DOWNLOAD:
        return history.download_endpoint(row)
    if row.operation is None:
        return _app_info_endpoint(row)
    return _job_endpoint(row)


def router(rows: tuple[Row, ...] = ROWS, *, taken: set[tuple[str, str]] | None = None) -> APIRouter:
    """A route for every row whose method and path are not in `taken` (routes the app already
    has); a row served by another router (`served_by`) that the app lacks answers 501."""
    made = APIRouter()
    responses: dict[int | str, dict[str, Any]] = {
        status: {**ENVELOPE_RESPONSE, "description": text} for status, text in STATUSES.items()
    }
    csv_responses = {**responses, 200: {"description": "the participants as CSV", "content": {"text/csv": {}}}}
    for row in rows:
        if row.key in (taken or set()):
            continue
        made.add_api_route(
            row.path,
            _not_served_endpoint(row) if row.served_by else endpoint_of(row),
            methods=[row.method],
            summary=row.summary,
            description=description(row),
            operation_id=f"gowa_{row.operation_id}",
            tags=[TAG_PREFIX + row.tag],
            responses=csv_responses if row.result == "participants_csv" else responses,
            openapi_extra=openapi_extra(row),
            response_model=None,
        )
    return made


def include(app: FastAPI) -> None:
    """Add the routes to `app`, after its other routers: a row whose method and path the app
    already serves (the pairing and device routes, /health) keeps that route."""
    app.include_router(router(taken=served(app)))


def served(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app has, those of included routers too."""
    from wagw.api.app import api_routes  # the app includes this module's routes

    return {(method, path) for path, route in api_routes(app.routes) for method in route.methods or ()}
