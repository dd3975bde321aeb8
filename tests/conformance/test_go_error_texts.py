"""Every Go error text wagw matches (wagw/whatsapp/go_errors.py) is one the Go library in
neonize's wheel can produce: each is among that library's string constants, as it stands or
as the format it is made from ("download failed with status code %d")."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from wagw.whatsapp import go_errors


@pytest.fixture(scope="module")
def go_library() -> bytes:
    spec = importlib.util.find_spec("neonize")
    assert spec is not None and spec.submodule_search_locations
    [library] = Path(next(iter(spec.submodule_search_locations))).glob("neonize-*.so")
    return library.read_bytes()


MATCHED = (
    *go_errors.NO_PICTURE,
    go_errors.NOTHING_RETURNED,
    *go_errors.MEDIA_GONE,
    *go_errors.MEDIA_MISMATCH,
)


@pytest.mark.parametrize("text", MATCHED)
def test_every_matched_text_is_in_the_go_library(go_library, text):
    # Go keeps string constants unterminated, side by side: a substring test is exact enough.
    as_format = re.sub(r"\d+", "%d", text)
    found = text.encode() in go_library or as_format.encode() in go_library
    assert found, f"{text!r} is not in neonize's Go library"


def test_the_unencodable_event_text_is_protobuf_gos(go_library):
    found = b"required field %v not set" in go_library
    assert found, "protobuf-go's required-field text is not in neonize's Go library"
    assert go_errors.unencodable_event("proto:\u00a0required field neonize.Receipt.Type not set") == (
        "Receipt",
        "neonize.Receipt.Type",
    )


def test_the_reach_out_limit_text_is_whatsmeows_send_error(go_library):
    """whatsmeow's send.go makes it with fmt.Errorf("%w %d", ErrServerReturnedError, code)."""
    assert go_errors.SERVER_RETURNED_ERROR.encode() in go_library and b"%w %d" in go_library
    assert go_errors.reach_out_limited("server returned error 463")
    assert go_errors.reach_out_limited("send_text failed: server returned error 463")
    assert not go_errors.reach_out_limited("server returned error 4630")
    assert not go_errors.reach_out_limited("server returned error 479")
