"""A go-whatsapp-web-multidevice request as a wagw job's arguments, by the table's field map.

That API binds a body from JSON, a urlencoded form or a multipart form alike, and reads
`phone` the way its SanitizePhone does: a number without `@` is a user (`…@s.whatsapp.net`),
or a group (`…@g.us`) when it is longer than a phone number can be. Everything else about an
address (phone number rules, JID forms) is wagw.addresses', applied when the job's arguments
are checked. A value of the wrong type or a missing required field is that API's 400
VALIDATION_ERROR, naming the field as it names it.
"""

from __future__ import annotations

import math
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wagw import operations
from wagw.addresses import GROUP_SERVER
from wagw.api.gowa.model import Field, Row

GO_INT_MIN, GO_INT_MAX = -(2**63), 2**63 - 1  # that API's integers are Go's int
GOWA_MAX_PHONE = 15  # that API's maxPhoneNumberLength: a longer bare number is a group id
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}  # Go's strconv.ParseBool
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
# ASCII digits only: str.isdigit() also takes "²" and other digits int() refuses.
_DECIMAL = re.compile(r"-?[0-9]+")


class RequestInvalid(ValueError):
    """The request cannot become the job's arguments: 400, VALIDATION_ERROR unless `code`."""

    def __init__(self, message: str, code: str = "VALIDATION_ERROR") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Incoming:
    """A request's values as read by the route. Query and form values are lists of strings
    (a field may repeat); a JSON body keeps its JSON types. `files` are uploads already saved
    in the media folder: field name -> (job argument value, the file's name as sent)."""

    query: Mapping[str, list[str]]
    path: Mapping[str, str]
    body: Mapping[str, Any]
    form: bool  # the body is a form (values are lists of strings), not JSON
    files: Mapping[str, tuple[str, str | None]]


def gowa_address(value: str) -> str:
    """A bare number as that API reads it: a group id when longer than a phone number."""
    text = value.strip()
    if "@" in text:
        return text
    digits = text.removeprefix("+")
    if digits.isdigit() and len(digits) > GOWA_MAX_PHONE:
        return f"{digits}@{GROUP_SERVER}"
    return text


def _raw(field: Field, incoming: Incoming) -> tuple[bool, Any]:
    """(present, value): lists of strings for query and form fields, JSON values for JSON."""
    if field.where == "query":
        values = incoming.query.get(field.name)
        return (bool(values), values)
    if field.where == "path":
        return (field.name in incoming.path, [incoming.path.get(field.name, "")])
    if field.where == "file":
        return (field.name in incoming.files, incoming.files.get(field.name))
    if field.name not in incoming.body:
        return (False, None)
    value = incoming.body[field.name]
    if incoming.form:
        return (True, value)  # already a list of strings
    if value is None:
        return (False, None)
    return (True, [value] if field.kind not in ("list", "phones") else value)


def _one(field: Field, value: Any) -> Any:
    """The single value of a field given as a list (query, form, path) or a JSON scalar."""
    if isinstance(value, list):
        if len(value) != 1 and field.kind not in ("list", "phones"):
            # a JSON scalar arrives wrapped; a repeated query or form field takes the first, as Go does
            value = value[:1]
        return value[0] if value else None
    return value


def _text(field: Field, value: Any) -> str:
    if not isinstance(value, str):
        raise RequestInvalid(f"{field.name}: must be a string")
    check_size(field, value)
    return value


def check_size(field: Field, value: str) -> None:
    # job arguments are checked again with their own caps; this bounds what is parsed here
    if len(value) > 100_000:
        raise RequestInvalid(f"{field.name}: at most 100000 characters")


def _bool(field: Field, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _TRUE:
        return True
    if isinstance(value, str) and value in _FALSE | {""}:
        return False
    raise RequestInvalid(f"{field.name}: must be a boolean (true or false)")


def _int(field: Field, value: Any) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and _DECIMAL.fullmatch(value.strip()) and len(value) <= 20
    ):
        number = int(value)
    if number is None or not GO_INT_MIN <= number <= GO_INT_MAX:
        raise RequestInvalid(f"{field.name}: must be an integer")
    return number


def _float(field: Field, value: Any) -> float:
    if isinstance(value, bool):
        raise RequestInvalid(f"{field.name}: must be a number")
    try:
        number = float(value) if isinstance(value, (int, float, str)) and len(str(value)) <= 64 else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise RequestInvalid(f"{field.name}: must be a number")
    return number


def _list(field: Field, value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        raise RequestInvalid(f"{field.name}: must be a list of strings")
    if len(items) > 1000:
        raise RequestInvalid(f"{field.name}: at most 1000 items")
    for item in items:
        check_size(field, item)
    return list(items)


def _value(field: Field, raw: Any) -> Any:
    if field.kind in ("list", "phones"):
        items = _list(field, raw)
        if field.kind == "phones" and "@everyone" in items:
            raise RequestInvalid(f"{field.name}: @everyone is not supported: list the people to mention")
        return items  # people, never groups: wagw's address rules apply as the job checks them
    one = _one(field, raw)
    if field.kind == "bool":
        return _bool(field, one)
    if field.kind == "int":
        return _int(field, one)
    if field.kind == "float":
        return _float(field, one)
    text = _text(field, one)
    if field.kind == "phone":
        return gowa_address(text)
    if field.kind == "url" and not text.lower().startswith(("http://", "https://")):
        raise RequestInvalid(f"{field.name}: must be an http(s) URL")
    return text


def _is_list_argument(operation: str, argument: str) -> bool:
    found = operations.get(operation).args.model_fields.get(argument)
    if found is None:
        return False  # an argument of the route's own (a lookup), not the job's
    annotation = found.annotation
    options = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Union else (annotation,)
    return any(typing.get_origin(option) is list for option in options)


def _empty(field: Field, raw: Any) -> bool:
    """An empty scalar (`?phone=`, a form field left empty) counts as not given."""
    return field.kind not in ("list", "phones") and _one(field, raw) in ("", None)


def _blank(row: Row, field: Field) -> RequestInvalid:
    if row.missing is not None:
        code, message = row.missing
        return RequestInvalid(message, code)
    return RequestInvalid(f"{field.name}: cannot be blank.")


def to_arguments(row: Row, incoming: Incoming) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the job's arguments, or a local read's; the request's values by that API's names)."""
    arguments: dict[str, Any] = dict(row.fixed)
    seen: dict[str, Any] = {}
    media: dict[str, list[Field]] = {}
    for field in row.fields:
        if field.kind in ("file", "url") and field.arg:
            media.setdefault(field.arg, []).append(field)
        present, raw = _raw(field, incoming)
        if field.kind == "ignored":
            continue  # accepted whatever it holds, and not used (the table's note says why)
        if field.kind == "file":
            if present:
                value, filename = raw
                arguments[field.arg or field.name] = value
                seen[field.name] = filename or ""
                if filename and row.operation and "filename" in operations.get(row.operation).parameters:
                    arguments["filename"] = filename.replace("\\", "/").rpartition("/")[2][:255] or None
            continue
        value = _value(field, raw) if present and not _empty(field, raw) else None
        if value is None or value == "" or value == []:
            if field.required and field.kind != "url":
                raise _blank(row, field)
            continue
        seen[field.name] = value
        if field.arg is None:
            continue
        if field.values is not None:
            if value not in field.values:
                allowed = ", ".join(field.values)
                raise RequestInvalid(f"{field.name}: must be one of {allowed}")
            value = field.values[value]
        if field.kind == "url" and field.arg in arguments:
            continue  # an uploaded file wins over a URL, as there
        if row.operation and _is_list_argument(row.operation, field.arg) and not isinstance(value, list):
            value = [value]
        arguments[field.arg] = value
    for argument, fields in media.items():
        if argument not in arguments:
            names = " or ".join(f.name for f in fields)
            raise RequestInvalid(f"either {names} must be provided")
    return arguments, seen
