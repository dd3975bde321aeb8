"""Each linked device names itself `wagw <account>/<role>` in the phone's Linked Devices.

whatsmeow sends store.DeviceProps when a device is linked (store/clientpayload.go:
getRegistrationPayload), `Os` being the name the phone lists; goneonize merges the props
neonize's connect() hands it into those (main.go: Neonize). Without props neonize sends its
own, `Neonize`, so every slot was listed alike and none could be told apart on the phone."""

from __future__ import annotations

import pytest

from tests.conformance.names import DEVICE


def connected_as(go, data_dir, redis_url, role: str) -> dict:
    path = data_dir / "devices" / f"{role}.sqlite3"
    go.call("make_store", path=str(path), devices=[[DEVICE, "wagw", ""]])
    assert go.call("connect", data_dir=str(data_dir), role=role, redis_url=redis_url)["connected"]
    return go.call("calls", entry="Neonize")[-1]


@pytest.mark.parametrize(
    ("role", "name"),
    [
        ("session", "wagw default/session"),
        ("worker-3", "wagw default/worker-3"),
        ("sales/worker-1", "wagw sales/worker-1"),
    ],
)
def test_a_paired_device_connects_with_its_role_as_its_name(go, data_dir, redis_url, role, name):
    call = connected_as(go, data_dir, redis_url, role)
    assert (call["device_os"], call["device_platform"]) == (name, "SAFARI")


def test_the_pairing_client_links_the_device_under_its_name(go, data_dir, redis_url):
    """The name counts when the phone links the device: `wagw pair`'s client carries it."""
    go.call("pairing_connect", data_dir=str(data_dir), role="worker-2", redis_url=redis_url)
    [call] = go.call("calls", entry="Neonize")
    assert (call["device_os"], call["device_platform"]) == ("wagw default/worker-2", "SAFARI")
    assert call["jid"] == "@"  # no device yet: a new one is linked
