"""Device stores through the real Go store code (whatsmeow's sqlstore, via goneonize's
GetAllDevices), with push and business names that contain commas, and stores that cannot
be read: in the lookup itself, the session, a native host and the pairing child. Nothing is
stubbed here except where a process is given a stubbed boundary explicitly."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.conformance.names import DEVICE

WORKER = "15550001111:8@s.whatsapp.net"
# Nothing listens on port 1: whatsmeow's postgres store fails with "connection refused".
UNREACHABLE_DB = "postgres://wagw@127.0.0.1:1/wagw?sslmode=disable"


@pytest.fixture
def neonize_env(settings_env) -> dict:
    settings_env.setenv("WAGW_BACKEND", "neonize")
    settings_env.setenv("WAGW_WA_CONNECT_WAIT", "5")
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def store(data_dir, role: str = "session") -> str:
    return str(data_dir.resolve() / "devices" / f"{role}.sqlite3")


def test_names_with_commas_are_read_by_wagw_not_by_neonizes_parser(go, data_dir):
    """Finding 2: neonize splits each row on "," into four fields."""
    path = store(data_dir)
    raw = go.call("make_store", path=path, devices=[[DEVICE, "Acme, Inc.", "Acme Holdings, LLC"], [WORKER, "x", ""]])
    assert raw.startswith(f"{DEVICE},Acme, Inc.,Acme Holdings, LLC,true")  # what Go really returns
    assert go.call("neonize_own_device_listing", store=path)["error"] == "ValueError"
    assert go.call("stored_devices", store=path) == {"result": [DEVICE, WORKER]}


@pytest.mark.parametrize("where", ["missing-directory", "unreachable-postgres"])
def test_an_unreadable_store_is_a_connect_failure(go, where):
    """Finding 2: the Go side answers "error: …", which neonize parsed as a device row."""
    target = "/nonexistent/wagw/session.sqlite3" if where == "missing-directory" else UNREACHABLE_DB
    failed = go.call("stored_devices", store=target)
    assert (failed["error"], failed["exit_code"]) == ("ConnectFailure", 75), failed
    assert failed["message"].startswith("the device store cannot be read: failed to upgrade database")


def test_the_session_with_a_comma_in_its_push_name_connects(go, neonize_env, data_dir, redis_conn):
    """Finding 2: the session exited 1 at every start (and was restarted forever). Offline, it
    now gets as far as connecting, which fails as network trouble (75)."""
    go.call("make_store", path=store(data_dir), devices=[[DEVICE, "Acme, Inc.", ""]])
    proc = subprocess.run(
        [sys.executable, "-m", "wagw", "session"], env=neonize_env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 75, proc.stdout + proc.stderr
    assert "cannot connect to WhatsApp" in proc.stdout


def test_the_session_with_an_unreachable_store_exits_tempfail(neonize_env, redis_conn):
    """Finding 2: a store error exits 75 (restart with backoff), not 1."""
    env = {**neonize_env, "WAGW_DEVICE_DB": UNREACHABLE_DB}
    proc = subprocess.run(
        [sys.executable, "-m", "wagw", "session"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 75, proc.stdout + proc.stderr
    assert "the device store cannot be read" in proc.stdout and "connection refused" in proc.stdout


def test_a_native_host_with_an_unreachable_store_reports_it(neonize_env, redis_conn):
    """Finding 2: every native host exited 1; now it exits 75 and says why."""
    from wagw.config import Settings
    from workers.wa.host_client import HostClient, HostUnavailable

    settings = Settings(_env_file=None, device_db=UNREACHABLE_DB)
    client = HostClient(settings, 1)
    client.start()
    try:
        with pytest.raises(HostUnavailable) as caught:
            client.call("fetch_avatar", {"jid": DEVICE}, deadline=time.monotonic() + 30, connect_wait=6)
    finally:
        client.stop()
    assert "the device store cannot be read" in str(caught.value), caught.value
    assert client.last_exit == "tempfail", client.last_exit


def test_pairing_a_role_whose_store_has_a_comma_name(go, neonize_env, data_dir, redis_conn):
    """Finding 2: the pairing child died and the parent reported a timeout."""
    go.call("make_store", path=store(data_dir), devices=[[DEVICE, "Acme, Inc.", ""]])
    result = subprocess.run(
        [sys.executable, "-m", "wagw", "pair", "--timeout", "20"],
        env=neonize_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f"already paired as {DEVICE}" in result.stdout, result.stdout + result.stderr


def test_pairing_with_an_unreachable_store_says_so(neonize_env, redis_conn):
    env = {**neonize_env, "WAGW_DEVICE_DB": UNREACHABLE_DB}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "wagw", "pair", "--timeout", "20"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "the device store cannot be read" in result.stderr, result.stdout + result.stderr
    assert time.monotonic() - started < 15  # an answer, not the deadline


def test_an_accounts_session_uses_the_store_in_its_own_folder(go, neonize_env, data_dir, redis_conn):
    """Accounts: `sales/session` keeps its keys in devices/sales/, read by the real Go store
    code; the `default` account's store next to it is not touched."""
    go.call("make_store", path=store(data_dir, "sales/session"), devices=[[DEVICE, "Sales", ""]])
    env = {**neonize_env, "WAGW_ACCOUNTS": "default,sales"}
    proc = subprocess.run(
        [sys.executable, "-m", "wagw", "session", "--account", "sales"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 75, proc.stdout + proc.stderr  # paired: it got as far as connecting
    assert "[sales/session]" in proc.stdout
    unpaired = subprocess.run(
        [sys.executable, "-m", "wagw", "session", "--account", "default"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unpaired.returncode == 80, unpaired.stdout + unpaired.stderr  # its own store is empty
    assert "wagw pair --account default --role session" in unpaired.stdout
