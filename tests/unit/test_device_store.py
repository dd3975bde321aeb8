"""Reading goneonize's GetAllDevices text (the Go side itself runs in tests/conformance)."""

from __future__ import annotations

import pytest

from wagw.exitcodes import ExitCode
from wagw.whatsapp.backend import ConnectFailure
from wagw.whatsapp.device_store import ROW_SEPARATOR, parse_devices

SESSION = "15550001111:7@s.whatsapp.net"
WORKER = "15550001111:8@s.whatsapp.net"


@pytest.mark.parametrize(
    ("raw", "jids"),
    [
        ("", []),
        (f"{SESSION},Alice,,true", [SESSION]),
        # neonize's own parser splits these on "," into four fields and raises ValueError
        (f"{SESSION},Acme, Inc.,Biz, Ltd,true{ROW_SEPARATOR}{WORKER},plain,,false", [SESSION, WORKER]),
        (f"{SESSION},,,,,,,true", [SESSION]),
        # a name that contains the row separator itself stays with its row
        (f"{SESSION},a{ROW_SEPARATOR}b,,true{ROW_SEPARATOR}{WORKER},x,,true", [SESSION, WORKER]),
        ("251556368777322:3@lid,Name,,true", ["251556368777322:3@lid"]),
    ],
)
def test_rows_with_any_names(raw, jids):
    assert parse_devices(raw) == jids


@pytest.mark.parametrize(
    "raw",
    [
        "error: failed to upgrade database: failed to check if foreign keys are enabled: unable to open database"
        " file: no such file or directory",
        "error: failed to upgrade database: failed to check if version table is up to date: dial tcp"
        " 127.0.0.1:5432: connect: connection refused",
    ],
)
def test_a_store_error_is_a_connect_failure_not_a_device(raw):
    with pytest.raises(ConnectFailure, match="the device store cannot be read: failed to upgrade") as caught:
        parse_devices(raw)
    assert caught.value.exit_code == ExitCode.TEMPFAIL


def test_text_that_is_not_a_device_row_is_refused():
    with pytest.raises(ConnectFailure, match="cannot read"):
        parse_devices("something else entirely")
