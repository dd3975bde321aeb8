"""The shape of one row of the go-whatsapp-web-multidevice table (wagw.api.gowa.table).

A row says everything about one of that API's operations: where its request fields come
from and which job argument each becomes, which wagw job answers it and how the job's
result becomes that API's `results`, or why wagw does not have it and what to use instead.
Routes, their OpenAPI entries and docs/api-gowa.md are generated from the rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["same", "differs", "not supported"]
# Where a request field is read: the query string, the path, the body (JSON, form or
# multipart, as that API's binding takes any of them) or a multipart file.
Where = Literal["query", "path", "body", "file"]
# How a field's value is read and turned into a job argument (wagw.api.gowa.requests).
Kind = Literal[
    "text",  # a string, passed on
    "phone",  # a phone number or JID, as that API sanitizes it (a long number is a group)
    "phones",  # a list of people (phone numbers or JIDs), never read as groups
    "bool",  # JSON boolean, or true/false/1/0 in a query or form
    "int",
    "float",  # a number, or a string holding one (that API takes coordinates as strings)
    "list",  # a JSON array, or repeated form fields
    "file",  # a multipart file, streamed into the media folder: the job gets its path
    "url",  # an http(s) URL the worker fetches (public addresses only)
    "ignored",  # accepted and not used: the field's note says why
]


@dataclass(frozen=True)
class Field:
    name: str  # as that API names it
    where: Where
    kind: Kind = "text"
    arg: str | None = None  # the job argument it becomes; None: not passed on
    required: bool = False
    # Values that API takes, mapped to the job's (e.g. chat presence "start" -> "composing").
    values: Mapping[str, Any] | None = None
    note: str = ""
    extension: bool = False  # wagw's own field, not one of that API's
    json_type: str = ""  # an ignored field's JSON type as that API documents it (OpenAPI)


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    operation_id: str  # that API's operationId
    tag: str
    summary: str
    status: Status
    operation: str | None = None  # the wagw job; None with no job (not supported, served locally)
    fields: tuple[Field, ...] = ()
    body: Literal["json", "multipart"] | None = None  # the body as that API documents it
    fixed: Mapping[str, Any] = field(default_factory=dict)  # job arguments the route sets
    result: str = "none"  # the result shape (wagw.api.gowa.results.SHAPES)
    message: str = "Success"  # the envelope's message; {name} fields from the request/result
    differs: str = ""  # status "differs": how
    reason: str = ""  # status "not supported": why
    instead: str = ""  # status "not supported": what to use instead
    # Rows answered by routes built elsewhere in wagw.api (pairing and devices, /health):
    # listed here so that the table is the whole API; no route is generated for them.
    served_by: str = ""
    # (code, message) that API answers (400) when a required field is missing, if not its
    # usual VALIDATION_ERROR "<field>: cannot be blank."
    missing: tuple[str, str] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    def field(self, name: str) -> Field:
        for one in self.fields:
            if one.name == name:
                return one
        raise KeyError(name)
