"""Process names and device roles are spelled in one place (wagw.names); these are public."""

from __future__ import annotations

import pytest

from wagw import names


def test_a_wa_slot_is_one_process_one_host_and_one_device_role():
    assert names.wa_worker_name(3) == "wa-worker-3"
    assert names.host_name(3) == "wa-worker-3/host"
    assert names.worker_role(3) == "worker-3"
    assert names.slot_of_role(names.worker_role(3)) == 3


def test_other_names():
    assert names.SESSION == "session"
    assert names.webhook_worker_name(2) == "webhook-worker-2"
    assert names.pairing_name("worker-1") == "pair-worker-1"


@pytest.mark.parametrize(
    "role", ["session", "worker-0", "worker-", "worker-01", "worker-1x", "xworker-1", "wa-worker-1"]
)
def test_only_worker_n_roles_have_a_slot(role):
    assert names.slot_of_role(role) is None


def test_device_roles_start_with_the_session():
    assert names.device_roles(1) == ["session", "worker-1"]
    assert names.device_roles(3) == ["session", "worker-1", "worker-2", "worker-3"]
