"""Device states and the one heartbeat writer: pure logic against fakeredis."""

from __future__ import annotations

import re
from pathlib import Path

import fakeredis
import pytest

from wagw import devices, keys
from wagw.devices import DeviceState
from wagw.whatsapp.backend import BackendError, ConnectFailure, LoggedOut, NotPaired, StreamReplaced, TemporaryBan

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


@pytest.fixture
def conn():
    return fakeredis.FakeRedis()


def test_the_state_values_are_the_public_strings():
    assert [state.value for state in DeviceState] == [
        "starting",
        "connecting",
        "connected",
        "unpaired",
        "logged_out",
        "stream_replaced",
        "temporary_ban",
        "offline",
        "failed",
        "stopping",
        "stopped",
    ]
    assert DeviceState.UNPAIRED == "unpaired" and f"{DeviceState.OFFLINE}" == "offline"


def test_the_runbook_lists_every_state_once():
    text = RUNBOOK.read_text()
    table = text.split("<!-- device-states:start -->", 1)[1].split("<!-- device-states:end -->", 1)[0]
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    documented = [name for cell in first_cells for name in re.findall(r"`([a-z_]+)`", cell)]
    assert sorted(documented) == sorted(DeviceState)


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (NotPaired("no keys"), DeviceState.UNPAIRED),
        (LoggedOut("removed"), DeviceState.LOGGED_OUT),
        (StreamReplaced("replaced"), DeviceState.STREAM_REPLACED),
        (TemporaryBan("banned"), DeviceState.TEMPORARY_BAN),
        (ConnectFailure("no network"), DeviceState.OFFLINE),
        (BackendError("something else"), DeviceState.FAILED),
        (RuntimeError("a bug"), DeviceState.FAILED),
    ],
)
def test_a_backend_error_leaves_the_device_in_one_state(error, state):
    assert devices.state_after(error) is state


def test_a_heartbeat_writes_the_common_fields_and_the_extra_ones_with_a_ttl(conn):
    devices.publish(
        conn,
        "worker-2",
        state=DeviceState.CONNECTED,
        paired=True,
        connected=True,
        jid="15550001111:3@s.whatsapp.net",
        extra={"worker_pid": 41, "host_pid": 42, "last_exit": ""},
    )

    status = devices.read(conn, "worker-2")
    assert float(status.pop("updated")) > 0
    assert status == {
        "paired": "1",
        "connected": "1",
        "jid": "15550001111:3@s.whatsapp.net",
        "state": "connected",
        "worker_pid": "41",
        "host_pid": "42",
        "last_exit": "",
    }
    assert 0 < conn.ttl(keys.DEVICE_STATUS.format(role="worker-2")) <= devices.TTL


def test_unknown_pairing_is_written_as_not_paired(conn):
    devices.publish(conn, "worker-1", state=DeviceState.STARTING, paired=None, connected=False, jid=None)
    assert devices.read(conn, "worker-1")["paired"] == "0"
    assert devices.read(conn, "worker-1")["jid"] == ""


@pytest.mark.parametrize("state", sorted(devices.OPERATOR_STATES))
def test_a_state_that_needs_the_operator_outlives_its_process(conn, state):
    key = keys.DEVICE_STATUS.format(role="session")
    devices.publish(conn, "session", state=DeviceState.CONNECTED, paired=True, connected=True, jid=None)
    devices.publish(conn, "session", state=state, paired=state is not DeviceState.UNPAIRED, connected=False, jid=None)
    assert conn.ttl(key) == -1  # no TTL

    devices.publish(conn, "session", state=DeviceState.CONNECTING, paired=True, connected=False, jid=None)
    assert conn.ttl(key) > 0  # the next run's heartbeat expires again


def test_clear_drops_the_status_and_read_then_finds_nothing(conn):
    devices.publish(conn, "session", state=DeviceState.UNPAIRED, paired=False, connected=False, jid=None)
    devices.clear(conn, "session")
    assert devices.read(conn, "session") == {}
