"""The neonize backend's pure parts: JIDs, connection events -> errors -> exit codes, and
device selection (the Go library is not loaded here; see test_neonize_events.py)."""

from __future__ import annotations

import importlib.util
import os
import sys
import time

import pytest

from wagw.exitcodes import FATAL_EXITS, LONG_BACKOFF_EXITS, ExitCode
from wagw.whatsapp import neonize_backend as nb
from wagw.whatsapp.backend import ConnectFailure, LoggedOut, StreamReplaced, TemporaryBan

sys.path.insert(0, os.path.join(os.path.dirname(importlib.util.find_spec("neonize").origin), "proto"))
import Neonize_pb2 as N


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("15550001111@s.whatsapp.net", {"User": "15550001111", "Server": "s.whatsapp.net", "Device": 0, "RawAgent": 0}),
        (
            "15550001111:7@s.whatsapp.net",
            {"User": "15550001111", "Server": "s.whatsapp.net", "Device": 7, "RawAgent": 0},
        ),
        (
            "15550001111.1:7@s.whatsapp.net",
            {"User": "15550001111", "Server": "s.whatsapp.net", "Device": 7, "RawAgent": 1},
        ),
        ("251556368777322:3@lid", {"User": "251556368777322", "Server": "lid", "Device": 3, "RawAgent": 0}),
    ],
)
def test_jid_round_trip_through_neonize_proto(text, fields):
    parsed = nb.parse_jid(text)
    assert {k: parsed[k] for k in fields} == fields
    assert nb.jid_text(N.JID(**parsed)) == text


@pytest.mark.parametrize(
    ("name", "event", "error", "code"),
    [
        ("LoggedOut", N.LoggedOut(OnConnect=True, Reason=N.LOGGED_OUT), LoggedOut, ExitCode.LOGGED_OUT),
        ("StreamReplaced", N.StreamReplaced(), StreamReplaced, ExitCode.STREAM_REPLACED),
        (
            "TemporaryBan",
            N.TemporaryBan(Code=N.TemporaryBan.SEND_TO_TOO_MANY_PEOPLE, Expire=3600),
            TemporaryBan,
            ExitCode.TEMP_BANNED,
        ),
        ("ConnectFailure", N.ConnectFailure(Reason=N.LOGGED_OUT, Message="401"), LoggedOut, ExitCode.LOGGED_OUT),
        ("ConnectFailure", N.ConnectFailure(Reason=N.MAIN_DEVICE_GONE, Message=""), LoggedOut, ExitCode.LOGGED_OUT),
        ("ConnectFailure", N.ConnectFailure(Reason=N.TEMP_BANNED, Message=""), TemporaryBan, ExitCode.TEMP_BANNED),
        (
            "ConnectFailure",
            N.ConnectFailure(Reason=N.SERVICE_UNAVAILABLE, Message="503"),
            ConnectFailure,
            ExitCode.TEMPFAIL,
        ),
        ("ConnectFailure", N.ConnectFailure(Reason=N.GENERIC, Message="x"), ConnectFailure, ExitCode.TEMPFAIL),
        ("ClientOutdated", N.ClientOutdated(), ConnectFailure, ExitCode.TEMPFAIL),
    ],
)
def test_connection_events_map_to_errors_and_exit_codes(name, event, error, code):
    mapped = nb.error_for_event(name, event)
    assert type(mapped) is error and mapped.exit_code == code


def test_exit_code_policy_of_the_mapped_errors():
    assert {LoggedOut.exit_code, StreamReplaced.exit_code} <= FATAL_EXITS
    assert TemporaryBan.exit_code in LONG_BACKOFF_EXITS
    assert ConnectFailure.exit_code not in FATAL_EXITS | LONG_BACKOFF_EXITS


def test_other_events_do_not_end_the_connection():
    assert nb.error_for_event("Connected", N.Connected(status=True)) is None


def test_group_result_shape():
    info = N.GroupInfo(
        JID=N.JID(**nb.parse_jid("120363@g.us")),
        OwnerJID=N.JID(**nb.parse_jid("2515@lid")),
        OwnerPN=N.JID(**nb.parse_jid("15550001111@s.whatsapp.net")),
        GroupCreated=1700000000.0,
        ParticipantVersionID="",
    )
    info.GroupName.Name = "Team"
    info.GroupAnnounce.IsAnnounce = True
    member = info.Participants.add(
        JID=N.JID(**nb.parse_jid("2516@lid")),
        LID=N.JID(**nb.parse_jid("2516@lid")),
        PhoneNumber=N.JID(**nb.parse_jid("15551234567@s.whatsapp.net")),
        IsAdmin=True,
        IsSuperAdmin=False,
        DisplayName="",
        Error=0,
    )
    assert member.IsAdmin
    assert nb.group_result(info) == {
        "jid": "120363@g.us",
        "name": "Team",
        "topic": None,
        "owner": "15550001111@s.whatsapp.net",
        "created": "2023-11-14T22:13:20Z",
        "announce": True,
        "locked": False,
        "participants": [
            {
                "jid": "15551234567@s.whatsapp.net",
                "lid": "2516@lid",
                "is_admin": True,
                "is_super_admin": False,
                "display_name": None,
            }
        ],
    }


class _Settings:
    def __init__(self, store: str):
        self.store = store
        self.wa_connect_wait = 1.0

    def device_store(self, role: str) -> str:
        return self.store


@pytest.mark.parametrize(
    ("store", "devices", "recorded", "expected"),
    [
        ("/d/session.sqlite3", [], None, None),
        ("/d/session.sqlite3", ["1555:3@s.whatsapp.net"], None, "1555:3@s.whatsapp.net"),
        (
            "/d/session.sqlite3",
            ["1555:3@s.whatsapp.net", "1555:4@s.whatsapp.net"],
            "1555:4@s.whatsapp.net",
            "1555:4@s.whatsapp.net",
        ),
        (
            "postgres://db/wagw",
            ["1555:3@s.whatsapp.net", "1555:4@s.whatsapp.net"],
            "1555:4@s.whatsapp.net",
            "1555:4@s.whatsapp.net",
        ),
        ("postgres://db/wagw", ["1555:3@s.whatsapp.net"], None, None),  # not recorded: not ours
        ("postgres://db/wagw", ["1555:3@s.whatsapp.net"], "1555:9@s.whatsapp.net", None),  # gone from the store
    ],
)
def test_device_selection(monkeypatch, tmp_path, store, devices, recorded, expected):
    if not store.startswith("postgres"):
        store = str(tmp_path / "session.sqlite3")
    monkeypatch.setattr(nb, "stored_devices", lambda _store: devices)
    backend = nb.NeonizeBackend(_Settings(store), "session")
    monkeypatch.setattr(backend, "_recorded_jid", lambda: recorded)
    assert backend.find_device() == expected


# The reconnect budget: how much reconnecting happens in-process before the process exits 75


class _StoppedClient:
    def __init__(self) -> None:
        self.stops = 0

    def stop(self) -> None:
        self.stops += 1


UNENCODABLE_RECEIPT = "proto: required field neonize.Receipt.Type not set"


def test_the_reconnect_budget_is_what_the_docs_say():
    # docs/session.md: gives up after 90 s down; docs/events.md: more than 10 drops in 10 minutes
    budget = nb.RECONNECT
    assert (budget.disconnected_for, budget.drops, budget.drops_window) == (90.0, 10, 600.0)
    assert nb.NeonizeBackend(_Settings("/d/s.sqlite3"), "session").budget is nb.RECONNECT


def test_dropped_events_reconnect_in_process_until_the_budget_is_spent(tmp_path):
    budget = nb.ReconnectBudget(drops=2, drops_window=60.0)
    backend = nb.NeonizeBackend(_Settings(str(tmp_path / "s.sqlite3")), "session", budget)
    backend._client = client = _StoppedClient()
    backend._drops = [time.monotonic() - 61.0] * 5  # outside the window: forgotten
    assert backend._reconnect_after(UNENCODABLE_RECEIPT) and backend._reconnect_after(UNENCODABLE_RECEIPT)
    assert client.stops == 2 and backend._error is None
    assert not backend._reconnect_after(UNENCODABLE_RECEIPT)
    assert isinstance(backend._error, ConnectFailure) and backend._error.exit_code == ExitCode.TEMPFAIL
    assert "dropped 3 events it could not encode within 60s" in str(backend._error)
    assert client.stops == 2


def test_a_disconnection_outlasting_the_budget_ends_the_connection(tmp_path):
    budget = nb.ReconnectBudget(disconnected_for=0.1)
    backend = nb.NeonizeBackend(_Settings(str(tmp_path / "s.sqlite3")), "session", budget)
    backend._disconnected_since = time.monotonic() - 1.0
    with pytest.raises(ConnectFailure, match=r"disconnected for more than 0.1s"):
        backend.wait()
