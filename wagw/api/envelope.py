"""The response body every route answers with, `{"code", "message", "results"}` (the shape
go-whatsapp-web-multidevice answers with), and the error a route raises to answer with it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.responses import JSONResponse

SUCCESS = "SUCCESS"
PENDING = "PENDING"


class Envelope(BaseModel):
    """What every route answers: a code (SUCCESS, PENDING or an error's name), a message for
    people and the results (the job's result, the job id, or details of an error)."""

    code: str
    message: str
    results: Any = None


# A route's documented envelope answer, as FastAPI documents `{"model": Envelope}`, without the
# model: FastAPI builds a validating field for every route's every status given a model (a
# tenth of the api process's memory), used only to write the document.
ENVELOPE_SCHEMA_REF = "#/components/schemas/Envelope"
ENVELOPE_RESPONSE: dict[str, Any] = {"content": {"application/json": {"schema": {"$ref": ENVELOPE_SCHEMA_REF}}}}


class ApiError(Exception):
    """Answer `status` with the envelope: raised anywhere a request is handled."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        results: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.results = results
        self.headers = headers

    def response(self) -> JSONResponse:
        return envelope(self.code, self.message, self.results, status=self.status, headers=self.headers)


def envelope(
    code: str, message: str, results: Any = None, *, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "results": results}, status_code=status, headers=headers)


def success(results: Any, message: str = "Success", *, status: int = 200) -> JSONResponse:
    return envelope(SUCCESS, message, results, status=status)
