"""Reading the error texts neonize's Go side hands to Python."""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

from wagw.whatsapp import go_errors

sys.path.insert(0, os.path.join(os.path.dirname(importlib.util.find_spec("neonize").origin), "proto"))
import Neonize_pb2 as N


def test_an_exception_carrying_the_whole_return_proto_gives_its_error_text():
    # neonize raises GetProfilePictureError(model): str() of it is protobuf text format
    model = N.GetProfilePictureReturnFunction(Error=go_errors.PROFILE_PICTURE_NOT_SET)
    error = RuntimeError(model)
    assert str(error) == f'Error: "{go_errors.PROFILE_PICTURE_NOT_SET}"\n'
    assert go_errors.error_text(error) == go_errors.PROFILE_PICTURE_NOT_SET
    assert go_errors.error_text(RuntimeError("plain text")) == "plain text"


@pytest.mark.parametrize("separator", [" ", "\u00a0"])  # protobuf-go picks one per build
@pytest.mark.parametrize(
    ("field", "event"),
    [
        ("neonize.Receipt.Type", "Receipt"),
        ("neonize.TemporaryBan.Code", "TemporaryBan"),
        ("neonize.ConnectFailure.Reason", "ConnectFailure"),
        ("neonize.ChatPresence.State", "ChatPresence"),
    ],
)
def test_an_unencodable_event_is_recognised(separator, field, event):
    assert go_errors.unencodable_event(f"proto:{separator}required field {field} not set") == (event, field)


def test_other_errors_are_not_unencodable_events():
    assert go_errors.unencodable_event("websocket not connected") is None
    assert go_errors.unencodable_event("dial tcp: lookup web.whatsapp.com: no such host") is None
