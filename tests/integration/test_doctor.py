"""`wagw doctor` for real, and `wagw run`'s refusal when neonize cannot load.

A missing libmagic is simulated the way it shows: a `magic` module on PYTHONPATH that raises
python-magic's own ImportError, so neonize.client fails to import in the probe's child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.integration.test_session_neonize import SESSION_JID, make_paired_store, store
from wagw.whatsapp import probe as probe_module

LIBMAGIC_ERROR = "failed to find libmagic.  Check your installation"


def doctor(env: dict, *args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wagw", "doctor", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def lines(result: subprocess.CompletedProcess) -> dict[str, str]:
    """check name -> its whole line (the first of that name)."""
    found: dict[str, str] = {}
    for line in result.stdout.splitlines():
        status, _, rest = line.partition("  ")
        if status.strip() in ("ok", "warn", "FAIL"):
            found.setdefault(rest.strip().split("  ")[0].strip(), line)
    return found


@pytest.fixture
def env(settings_env, data_dir) -> dict:
    data_dir.chmod(0o700)
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def no_libmagic(tmp_path) -> str:
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "magic.py").write_text(f"raise ImportError({LIBMAGIC_ERROR!r})\n")
    return str(shadow)


def test_a_valid_fake_setup_is_ready(env, data_dir, redis_conn):
    result = doctor(env, cwd=data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    found = lines(result)
    assert found["data dir"].startswith("ok") and "mode 0700" in found["data dir"]
    assert found["redis"].startswith("ok") and "answers; wagw is not running" in found["redis"]
    assert found["device session"].startswith("ok") and found["device worker-1"].startswith("ok")
    assert found["webhooks"].startswith("warn")  # none configured
    assert result.stdout.rstrip().splitlines()[-1].startswith("ready: nothing blocks a start")

    as_json = doctor(env, "--json", cwd=data_dir)
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and report["ok"] is True
    assert {check["status"] for check in report["checks"]} <= {"ok", "warn"}


def test_a_data_dir_open_to_others_fails_with_the_chmod(env, data_dir, redis_conn):
    data_dir.chmod(0o755)
    result = doctor(env, cwd=data_dir)
    assert result.returncode == 1
    line = lines(result)["data dir"]
    assert line.startswith("FAIL") and "mode 0755" in line and f"fix: chmod -R go-rwx {data_dir.resolve()}" in line


def test_a_missing_redis_fails_fast(env, data_dir, settings_env):
    env["WAGW_REDIS_URL"] = f"unix://{data_dir}/no-such/redis.sock"
    started = time.monotonic()
    result = doctor(env, cwd=data_dir)
    assert result.returncode == 1
    line = lines(result)["redis"]
    assert line.startswith("FAIL") and "does not answer PING" in line and "WAGW_REDIS_URL" in line
    assert time.monotonic() - started < 30


def test_a_missing_embedded_redis_binary_fails(env, data_dir):
    del env["WAGW_REDIS_URL"]
    env["WAGW_REDIS_SERVER_BIN"] = str(data_dir / "no-redis-server")
    result = doctor(env, cwd=data_dir)
    assert result.returncode == 1 and lines(result)["redis"].startswith("FAIL")


def test_invalid_settings_are_one_line_and_the_system_is_still_checked(env, data_dir):
    env["WAGW_WA_WORKERS"] = "9"
    result = doctor(env, cwd=data_dir)
    assert result.returncode == 1
    found = lines(result)
    assert found["settings"].startswith("FAIL") and "invalid setting WAGW_WA_WORKERS" in found["settings"]
    assert "WhatsApp allows 4 per phone" in found["settings"]
    assert found["libmagic"].startswith("ok") and found["neonize"].startswith("ok")


def test_missing_libmagic_is_named_with_its_package(env, data_dir, no_libmagic, redis_conn):
    env.update(WAGW_BACKEND="neonize", PYTHONPATH=no_libmagic)
    result = doctor(env, cwd=data_dir)
    assert result.returncode == 1, result.stdout
    found = lines(result)
    assert found["libmagic"].startswith("FAIL") and "fix: sudo apt-get install libmagic1" in found["libmagic"]
    assert found["neonize"].startswith("FAIL") and LIBMAGIC_ERROR in found["neonize"]
    assert "neonize does not load" in found["device session"]


def test_neonize_devices_are_read_from_their_stores(env, data_dir, redis_conn):
    env["WAGW_BACKEND"] = "neonize"
    make_paired_store(store(data_dir, "session"), SESSION_JID, env)
    store(data_dir, "session").parent.chmod(0o700)
    store(data_dir, "session").chmod(0o600)
    result = doctor(env, cwd=data_dir)
    found = lines(result)
    assert found["device session"].startswith("ok") and SESSION_JID in found["device session"]
    assert found["device worker-1"].startswith("warn") and "fix: wagw pair --role worker-1" in found["device worker-1"]
    assert not store(data_dir, "worker-1").exists()  # asking does not create a store
    assert result.returncode == 0, result.stdout


def test_wagw_run_refuses_to_start_when_neonize_cannot_load(env, data_dir, no_libmagic):
    env.update(WAGW_BACKEND="neonize", PYTHONPATH=no_libmagic)
    del env["WAGW_REDIS_URL"]  # it would start its own Redis first
    result = subprocess.run(
        [sys.executable, "-m", "wagw", "run"], env=env, cwd=data_dir, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 78, result.stdout + result.stderr
    assert "neonize cannot be loaded" in result.stdout and "sudo apt-get install libmagic1" in result.stdout
    assert not (data_dir / "redis").exists()  # nothing was started


def test_the_start_check_probes_neonize_only_for_the_neonize_backend(settings, monkeypatch, no_libmagic):
    import wagw.supervisor as supervisor

    assert supervisor.neonize_problem(settings) is None  # the fake backend: no child at all
    monkeypatch.setenv("PYTHONPATH", no_libmagic)
    problem = supervisor.neonize_problem(settings.model_copy(update={"backend": "neonize"}))
    assert problem is not None and problem.startswith("neonize cannot be loaded") and "libmagic1" in problem


# The probe's child can die or hang: a report either way -------------------------------------


def test_a_probe_child_that_dies_is_a_report(monkeypatch):
    code = 'import os, signal; print(\'{"probe": "magic"}\', flush=True); os.kill(os.getpid(), signal.SIGABRT)'
    monkeypatch.setattr(probe_module, "PROBE_ARGV", [sys.executable, "-c", code])
    found = probe_module.probe()
    assert found.magic_checked and not found.loaded
    assert "ended with signal SIGABRT" in (found.error or "")


def test_a_probe_child_that_hangs_is_killed(monkeypatch):
    monkeypatch.setattr(probe_module, "PROBE_ARGV", [sys.executable, "-c", "import time; time.sleep(60)"])
    started = time.monotonic()
    found = probe_module.probe(timeout=1.0)
    assert not found.loaded and "did not finish within 1 s" in (found.error or "")
    assert time.monotonic() - started < 10
