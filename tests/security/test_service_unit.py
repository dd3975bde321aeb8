"""The systemd unit keeps the daemon off the cloud metadata endpoint (finding 5's network
side), without raising its exposure rating (tests/integration/test_systemd_unit.py)."""

from __future__ import annotations

from tests.integration.test_systemd_unit import unit_settings


def test_link_local_and_metadata_addresses_are_denied_to_every_process():
    denied = " ".join(unit_settings().get("IPAddressDeny", [])).split()
    assert "169.254.0.0/16" in denied and "fe80::/10" in denied and "fd00:ec2::254/128" in denied


def test_files_are_private_whatever_the_umask_of_the_caller():
    assert unit_settings()["UMask"] == ["0077"]
