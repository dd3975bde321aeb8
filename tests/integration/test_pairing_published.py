"""`wagw pair --publish ID` and `--logout` on the neonize backend as real processes (what `wagw
run` runs for the HTTP API; the fake backend's are in tests/e2e/test_api_devices_e2e.py):
offline, the pairing's outcome is published with the reason, and a logout of a role with no
keys says there is nothing to log out."""

from __future__ import annotations

from tests.integration.test_pairing import neonize_env, pair  # noqa: F401 (a fixture)
from wagw import devicecontrol, keys
from wagw.redisconn import hash_text

PAIRING_ID = "0123456789abcdef" * 2


def published(redis_conn, role: str = "session") -> dict[str, str]:
    return hash_text(redis_conn.hgetall(keys.PAIRING.format(role=role)))


def test_a_neonize_pairing_that_cannot_connect_publishes_why(neonize_env, redis_conn):  # noqa: F811
    result = pair(neonize_env, "--publish", PAIRING_ID, "--timeout", "30")
    assert result.returncode == 1
    outcome = devicecontrol.parse_pairing(published(redis_conn))
    assert outcome is not None and outcome["state"] == "failed" and outcome["id"] == PAIRING_ID
    assert "cannot connect to WhatsApp" in outcome["error"]


def test_a_neonize_logout_of_an_unpaired_role_says_there_is_nothing_to_log_out(neonize_env, redis_conn):  # noqa: F811
    result = pair(neonize_env, "--logout")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "session: not paired; nothing to log out" in result.stdout + result.stderr
