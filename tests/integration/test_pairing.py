"""`wagw pair` as a real process: the fake backend's simulated pairing, role checks, and the
neonize pairing child's deadline on an unreachable and on a stalled network."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from chaos.polling import wait_for
from tests.integration.test_session_neonize import SESSION_JID, StalledProxy, make_paired_store, store
from wagw import keys
from wagw.addresses import normalize_phone
from wagw.whatsapp import pairing


def pair(env: dict, *args: str, timeout: float = 60, answer: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wagw", "pair", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=answer,
        stdin=subprocess.DEVNULL if answer is None else None,
    )


@pytest.fixture
def env(settings_env) -> dict:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def neonize_env(settings_env) -> dict:
    settings_env.setenv("WAGW_BACKEND", "neonize")
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


# Fake backend -----------------------------------------------------------------------------


def test_fake_pairing_records_the_jid_and_a_second_time_says_it_is_paired(env, redis_conn):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "session", "unpaired")
    redis_conn.hset(keys.DEVICE_STATUS.format(role="session"), "state", "unpaired")
    first = pair(env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "session: paired as 15550001111:1@s.whatsapp.net" in first.stdout
    assert redis_conn.hget(keys.DEVICE_JIDS, "session") == b"15550001111:1@s.whatsapp.net"
    assert not redis_conn.hexists(keys.FAKE_DEVICE_STATE, "session")
    assert not redis_conn.exists(keys.DEVICE_STATUS.format(role="session"))  # stale "unpaired" dropped

    paired_at = redis_conn.hget(keys.DEVICE_PAIRED_AT, "session")
    again = pair(env, "--role", "session")
    assert again.returncode == 0, again.stdout + again.stderr  # not an error, and not a new pairing
    assert again.stdout.strip() == (
        "== pairing session ==\n"
        "session: already paired as 15550001111:1@s.whatsapp.net; nothing to do "
        "(`wagw pair --role session --force` links a new device in its place)"
    )
    assert redis_conn.hget(keys.DEVICE_PAIRED_AT, "session") == paired_at
    forced = pair(env, "--force")
    assert forced.returncode == 0 and "paired as" in forced.stdout


def test_each_account_pairs_its_own_roles_with_its_own_phone(env, redis_conn):
    env = {**env, "WAGW_ACCOUNTS": "sales,support"}
    for role in ("sales/session", "support/session", "support/worker-1"):
        redis_conn.hset(keys.FAKE_DEVICE_STATE, role, "unpaired")
    ambiguous = pair(env, "--role", "session")
    assert ambiguous.returncode == 64 and "--account" in ambiguous.stderr
    one_phone = pair(env, "--role", "all", "--phone", "+15551234567")
    assert one_phone.returncode == 64 and "one account's devices" in one_phone.stderr
    support = pair(env, "--account", "support", "--role", "all")
    assert support.returncode == 0, support.stdout + support.stderr
    assert "== pairing support/session ==" in support.stdout and "sales/" not in support.stdout
    assert redis_conn.hget(keys.DEVICE_JIDS, "support/worker-1") is not None
    assert redis_conn.hget(keys.FAKE_DEVICE_STATE, "sales/session") == b"unpaired"  # another phone: untouched
    qualified = pair(env, "--role", "sales/session")
    assert qualified.returncode == 0 and "sales/session: paired as" in qualified.stdout
    assert not redis_conn.hexists(keys.FAKE_DEVICE_STATE, "sales/session")


def test_fake_pair_all_pairs_session_then_every_worker(env, redis_conn, settings_env):
    settings_env.setenv("WAGW_WA_WORKERS", "2")
    env = {**env, "WAGW_WA_WORKERS": "2"}
    redis_conn.hset(keys.FAKE_DEVICE_STATE, mapping={"session": "unpaired", "worker-2": "logged_out"})
    result = pair(env, "--role", "all")
    assert result.returncode == 0, result.stdout + result.stderr
    order = [line for line in result.stdout.splitlines() if line.startswith("== pairing")]
    assert order == ["== pairing session ==", "== pairing worker-1 ==", "== pairing worker-2 =="]
    assert "worker-1: already paired" in result.stdout  # skipped, not an error with --role all
    assert {k.decode() for k in redis_conn.hkeys(keys.DEVICE_JIDS)} == {"session", "worker-1", "worker-2"}
    assert redis_conn.hget(keys.DEVICE_JIDS, "worker-2") == b"15550001111:3@s.whatsapp.net"


def test_pairing_records_its_time_for_a_running_daemon(env, redis_conn):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "session", "unpaired")
    before = time.time()
    result = pair(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert before <= float(redis_conn.hget(keys.DEVICE_PAIRED_AT, "session")) <= time.time()
    assert "a running wagw connects the paired devices by itself" in result.stdout
    recorded = redis_conn.hget(keys.DEVICE_PAIRED_AT, "session")
    again = pair(env)
    assert again.returncode == 0 and "already paired" in again.stdout
    assert redis_conn.hget(keys.DEVICE_PAIRED_AT, "session") == recorded  # no new pairing recorded
    assert not redis_conn.hexists(keys.DEVICE_PAIRED_AT, "worker-1")


def test_ask_enter_pairs_with_a_qr_code(env, redis_conn):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "session", "unpaired")
    result = pair(env, "--role", "all", "--ask", answer="\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Enter           show a QR code" in result.stdout and "pair> " in result.stdout
    assert "session: paired as" in result.stdout and "worker-1: already paired" in result.stdout
    assert redis_conn.hexists(keys.DEVICE_PAIRED_AT, "session")


def test_ask_skip_and_end_of_input_pair_nothing(env, redis_conn):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "session", "unpaired")
    for answer in ("s\n", ""):
        result = pair(env, "--ask", answer=answer)
        assert result.returncode == 0 and "not pairing now" in result.stdout
    assert redis_conn.hget(keys.FAKE_DEVICE_STATE, "session") == b"unpaired"


def test_ask_a_number_gets_a_pairing_code_and_a_bad_one_is_asked_again(env, redis_conn):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "session", "unpaired")
    result = pair(env, "--ask", answer="call me\n+1 555 123 4567\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "international number" in result.stdout and "session: paired as" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "worker-3"], "account default has 1 wa-worker slot(s)"),
        (["--role", "boss"], "unknown role"),
        (["--role", "worker-0"], "unknown role"),
        (["--phone", "call me"], "international number"),
    ],
)
def test_bad_arguments_are_usage_errors(env, redis_conn, args, message):
    result = pair(env, *args)
    assert result.returncode == 64 and message in result.stderr


# neonize backend --------------------------------------------------------------------------


def test_unpaired_offline_pairing_fails_fast_with_the_reason(neonize_env, redis_conn):
    started = time.monotonic()
    result = pair(neonize_env, "--timeout", "30")
    assert result.returncode == 1
    assert "cannot connect to WhatsApp" in result.stderr
    assert time.monotonic() - started < 15
    assert not redis_conn.hexists(keys.DEVICE_JIDS, "session")


def test_pairing_deadline_holds_on_a_stalled_network(neonize_env, redis_conn):
    proxy = StalledProxy()
    try:
        started = time.monotonic()
        result = pair({**neonize_env, **proxy.env}, "--timeout", "3", timeout=60)
        elapsed = time.monotonic() - started
        assert result.returncode == 1, result.stdout + result.stderr
        # The child gives up by itself, or, too slow to (a loaded machine), is killed at the
        # parent's deadline: either way the deadline held.
        assert "not paired within 3s" in result.stderr or "no answer within 3s" in result.stderr
        assert proxy.accepted, "neonize never reached the (stalled) network"
        assert elapsed < 3 + pairing.KILL_MARGIN + 5

        def child_gone() -> bool:  # the child's connection to the proxy is closed once it is dead
            for sock in proxy.accepted:
                sock.settimeout(0.05)
                try:
                    if sock.recv(1) != b"":
                        return False
                except TimeoutError:
                    return False
                except OSError:
                    pass
            return True

        wait_for(child_gone, timeout=5, what="the pairing child to be gone")
    finally:
        proxy.close()


def test_already_paired_neonize_role_is_left_alone_and_force_moves_the_store_aside(neonize_env, data_dir, redis_conn):
    make_paired_store(store(data_dir, "session"), SESSION_JID, neonize_env)
    left = pair(neonize_env)
    assert left.returncode == 0, left.stdout + left.stderr
    assert f"already paired as {SESSION_JID}; nothing to do" in left.stdout
    assert not list(store(data_dir, "session").parent.glob("session.sqlite3.replaced-*"))
    assert "ffmpeg" not in left.stdout + left.stderr
    assert redis_conn.hget(keys.DEVICE_JIDS, "session") == SESSION_JID.encode()

    forced = pair(neonize_env, "--force", "--timeout", "5")
    assert forced.returncode == 1 and "cannot connect to WhatsApp" in forced.stderr  # offline, as expected
    assert "ffmpeg" not in forced.stdout + forced.stderr  # neonize warns at connect(); wagw never uses it
    moved = list(store(data_dir, "session").parent.glob("session.sqlite3.replaced-*"))
    assert len(moved) == 1


def hang_forever(*args) -> None:
    """A pairing child that ignores its own deadline (as a child stuck in the Go library would)."""
    while True:
        time.sleep(60)


def test_the_parent_kills_a_child_that_outlives_the_deadline(settings, monkeypatch):
    monkeypatch.setattr(pairing, "KILL_MARGIN", 1.0)
    started = time.monotonic()
    result = pairing.run_child(settings, "session", None, False, 1.0, target=hang_forever)
    assert result == {"status": "failed", "error": "no answer within 1s (pairing process killed)"}
    assert time.monotonic() - started < 10


def test_qr_code_is_drawn_in_the_terminal_and_saved_as_png(data_dir, capsys):
    png = data_dir / "pair-session.png"
    pairing._show_qr("2@abc,def,ghi,jkl", png)
    out = capsys.readouterr().out
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "█" in out or "▀" in out or "▄" in out
    assert str(png) in out


@pytest.mark.parametrize(("phone", "digits"), [("+1 555 123 4567", "15551234567"), ("15551234567", "15551234567")])
def test_phone_numbers_are_normalised(phone, digits):
    assert normalize_phone(phone) == digits
