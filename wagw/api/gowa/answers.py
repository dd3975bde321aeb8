"""A call's outcome as go-whatsapp-web-multidevice answers: its status codes and error codes.

- finished: 200 SUCCESS, the row's message and its results shape;
- bad arguments: 400 VALIDATION_ERROR (its code for every validation failure);
- the account's device not paired, logged out or not connected: 401 AUTHENTICATION_ERROR,
  as its "you are not logged in" / "you are not connect to services server";
- WhatsApp's reach-out limit (463): 429 WA_REACHOUT_TIMELOCK;
- the call ran past its job timeout: 504 GATEWAY_TIMEOUT, as its timeout answer;
- any other failure: 500 INTERNAL_SERVER_ERROR with the job's error, and for a native crash
  what became of the job (`results.crash`: outcome_unknown, poisoned_target, quarantined);
- still running after WAGW_API_WAIT (or `Prefer: respond-async`): 202 PENDING with
  `Location: /jobs/{id}`, wagw's own answer (that API has no asynchronous calls).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from fastapi.responses import JSONResponse, Response

from wagw.api import native
from wagw.api.calls import CallOutcome, Failed, Finished, Pending, Rejected
from wagw.api.envelope import SUCCESS, envelope
from wagw.api.gowa import results
from wagw.api.gowa.model import Row

VALIDATION_ERROR = "VALIDATION_ERROR"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"

# A failed job's error (its public name's last part) -> (status, that API's code).
FAILURES: dict[str, tuple[int, str]] = {
    "InvalidArguments": (400, VALIDATION_ERROR),
    "IdempotencyConflict": (422, "IDEMPOTENCY_CONFLICT"),
    "SlotNotPaired": (401, "AUTHENTICATION_ERROR"),
    "SlotLoggedOut": (401, "AUTHENTICATION_ERROR"),
    "SlotReplaced": (401, "AUTHENTICATION_ERROR"),
    "HostUnavailable": (401, "AUTHENTICATION_ERROR"),
    "NotPaired": (401, "AUTHENTICATION_ERROR"),
    "LoggedOut": (401, "AUTHENTICATION_ERROR"),
    "ReachOutLimited": (429, "WA_REACHOUT_TIMELOCK"),
    "HostTimeout": (504, "GATEWAY_TIMEOUT"),
}
INTERNAL = (500, "INTERNAL_SERVER_ERROR")


def not_supported(row: Row) -> JSONResponse:
    """501 for an operation wagw does not have: why, and what to use instead."""
    message = f"{row.method} {row.path} is not supported by wagw: {row.reason}. Instead: {row.instead}."
    return envelope(
        NOT_IMPLEMENTED,
        message,
        {"operation": row.operation_id, "reason": row.reason, "instead": row.instead},
        status=501,
    )


def not_served(row: Row) -> JSONResponse:
    message = f"{row.method} {row.path} is served by the {row.served_by}, which this wagw api does not include"
    return envelope(NOT_IMPLEMENTED, message, {"operation": row.operation_id}, status=501)


def invalid(message: str, code: str = VALIDATION_ERROR) -> JSONResponse:
    return envelope(code, message, status=400)


def failed(outcome: Failed, row: Row | None = None, given: Collection[str] = ()) -> JSONResponse:
    status, code = FAILURES.get(outcome.short_name, INTERNAL)
    details = {"job_id": outcome.job_id, "error": outcome.error, "crash": outcome.crash}
    message = in_gowa_names(row, outcome.message, given) if row is not None else outcome.message
    return envelope(code, message, details, status=status)


_INVALID = re.compile(r"invalid arguments for (?P<operation>\w+): (?P<argument>\w+): (?P<rest>.*)", re.S)


def in_gowa_names(row: Row, message: str, given: Collection[str]) -> str:
    """A job's argument error named by the field the request gave ("invalid arguments for
    send_text: text: …" -> "message: …"), as that API's validation errors are."""
    match = _INVALID.fullmatch(message)
    if match is None or match["operation"] != row.operation:
        return message
    names = [field.name for field in row.fields if field.arg == match["argument"]]
    if not names:
        return message
    name = next((one for one in names if one in given), names[0])
    return f"{name}: {match['rest']}"


def answer(row: Row, outcome: CallOutcome, request: Mapping[str, Any]) -> Response:
    if isinstance(outcome, Finished):
        if row.result == "participants_csv":
            name, text = results.participants_csv(outcome.result)
            return Response(
                text,
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        shaped, message = results.shape(row.result, outcome.result, request, row.message)
        return envelope(SUCCESS, message, shaped)
    if isinstance(outcome, Rejected) and outcome.code == VALIDATION_ERROR:
        details = {"argument": outcome.argument} if outcome.argument else None
        return envelope(VALIDATION_ERROR, in_gowa_names(row, outcome.message, request), details, status=outcome.status)
    if isinstance(outcome, (Pending, Rejected)):
        return native.outcome_response(outcome)  # 202 with Location, or nothing enqueued: as wagw's own routes
    return failed(outcome, row, request)
