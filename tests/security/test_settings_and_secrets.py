"""Secrets stay where they are needed (findings 1, 6 and 10 of the trust issue): a signing key
anyone could guess is refused, children that run enqueued jobs or serve HTTP never hold the
webhook secret, and no message prints a Redis password."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys

import pytest
from redis import Redis

from chaos.polling import wait_for
from tests.conftest import short_tempdir
from wagw.config import Settings, load_settings
from wagw.dashboard import build_app
from wagw.redact import mask_url
from wagw.supervisor import osapi
from wagw.supervisor.children import build_specs
from wagw.supervisor.embedded_redis import find_binary
from wagw.supervisor.osapi import OsLauncher

HOOK = "https://hooks.example/wagw"


@pytest.mark.parametrize("secret", ["", "Z9", "fifteen-bytes!!"])
def test_a_short_webhook_secret_stops_the_daemon_naming_the_setting(secret, tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "WAGW_DATA_DIR": str(tmp_path),
        "WAGW_BACKEND": "fake",
        "WAGW_WEBHOOK_URLS": HOOK,
        "WAGW_WEBHOOK_SECRET": secret,
    }
    result = subprocess.run(
        [sys.executable, "-m", "wagw", "status"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 78
    assert "invalid setting WAGW_WEBHOOK_SECRET: must be at least 16 bytes" in result.stderr
    assert not secret or secret not in result.stderr


def test_a_sixteen_byte_secret_is_accepted():
    Settings(_env_file=None, webhook_urls=[HOOK], webhook_secret="sixteen-bytes-ok")


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (" " * 16, "is blank"),
        ("\t \n " * 8, "is blank"),
        ("x" + " " * 15, "must be at least 16 bytes"),  # padding is not key material
    ],
)
@pytest.mark.parametrize("variable", ["WAGW_WEBHOOK_SECRET", "WAGW_ACCOUNT__SALES__WEBHOOK_SECRET"])
def test_a_blank_or_padded_webhook_secret_is_refused_naming_the_setting(secret, problem, variable, monkeypatch, capsys):
    for name in [name for name in os.environ if name.upper().startswith("WAGW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WAGW_ACCOUNTS", "default,sales")
    monkeypatch.setenv("WAGW_WEBHOOK_URLS", HOOK)
    monkeypatch.setenv("WAGW_WEBHOOK_SECRET", "a-good-global-secret")
    monkeypatch.setenv(variable, secret)
    with pytest.raises(SystemExit) as stopped:
        load_settings(_env_file=None)
    assert stopped.value.code == 78
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"wagw: invalid setting {variable}: {problem}")


@pytest.fixture
def child_env(monkeypatch):
    """The environment `wagw run` would give the child called `name` (the process is not started)."""

    def env_of(name: str, settings: Settings, base: dict[str, str]) -> dict[str, str]:
        [spec] = [spec for spec in build_specs(settings, None) if spec.name == name]
        captured: dict[str, str] = {}
        monkeypatch.setattr(osapi, "OsProcess", lambda spec, env: captured.update(env))
        OsLauncher(base).spawn(spec)
        return captured

    return env_of


def test_children_that_run_enqueued_jobs_or_serve_http_never_get_the_webhook_secret(tmp_path, child_env):
    base = {
        "WAGW_WEBHOOK_URLS": "https://user:pw@hooks.example/x",
        "WAGW_WEBHOOK_SECRET": "k" * 32,
        "WAGW_DASHBOARD_PASSWORD": "dash-password",
        "WAGW_DEVICE_DB": "postgres://u:p@db/wagw",
    }
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        webhook_urls=["https://hooks.example/x"],
        webhook_secret="k" * 32,
        dashboard_addr="127.0.0.1:9181",
        dashboard_user="operator",
        dashboard_password="dash-password",
        metrics_addr="127.0.0.1:9182",
        device_db="postgres://u:p@db/wagw",
    )
    for name in ("wa-worker-1", "scheduler", "dashboard", "metrics"):
        env = child_env(name, settings, base)
        assert "WAGW_WEBHOOK_SECRET" not in env and "WAGW_WEBHOOK_URLS" not in env, name
    assert "WAGW_DASHBOARD_PASSWORD" not in child_env("wa-worker-1", settings, base)
    assert child_env("webhook-worker-1", settings, base)["WAGW_WEBHOOK_SECRET"] == "k" * 32
    assert child_env("dashboard", settings, base)["WAGW_DASHBOARD_PASSWORD"] == "dash-password"
    assert child_env("wa-worker-1", settings, base)["WAGW_DEVICE_DB"]  # its native host needs the keys


# redis-py takes the password from user:password@ or from the query string.
REDIS_URLS_WITH_PASSWORD = {
    "redis://app:hunter2-secret@127.0.0.1:1/0": "redis://app:***@127.0.0.1:1/0",
    "redis://127.0.0.1:1/0?password=hunter2-secret": "redis://127.0.0.1:1/0?password=***",
}


@pytest.mark.parametrize(("url", "shown"), REDIS_URLS_WITH_PASSWORD.items())
def test_status_and_doctor_never_print_the_redis_password(url, shown, tmp_path):
    env = {"PATH": os.environ["PATH"], "WAGW_DATA_DIR": str(tmp_path), "WAGW_BACKEND": "fake", "WAGW_REDIS_URL": url}
    expected = {
        "status": f"Redis at {shown} is unreachable",
        "doctor": f"{shown} does not answer PING",
    }
    for argv in (["status"], ["status", "--json"], ["doctor"], ["doctor", "--json"]):
        result = subprocess.run(
            [sys.executable, "-m", "wagw", *argv], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
        assert expected[argv[0]] in result.stdout, argv
        assert "hunter2" not in result.stdout + result.stderr, argv


def test_a_remote_redis_without_password_or_tls_is_warned_about(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "WAGW_DATA_DIR": str(tmp_path),
        "WAGW_REDIS_URL": "redis://:pw-in-url@192.0.2.7:6379/0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "wagw", "status"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert "is remote without TLS" in result.stdout
    assert "pw-in-url" not in result.stdout + result.stderr
    assert (
        Settings(_env_file=None, redis_url="redis://192.0.2.7:6379")
        .redis_warnings()[0]
        .endswith("(set a password or an ACL user)")
    )
    assert Settings(_env_file=None, redis_url="rediss://:pw@redis.example:6380").redis_warnings() == []
    [no_tls] = Settings(_env_file=None, redis_url="redis://192.0.2.7:6379/0?password=pw-in-query").redis_warnings()
    assert "redis://192.0.2.7:6379/0?password=***" in no_tls and "pw-in-query" not in no_tls


@pytest.fixture
def redis_with_password():
    """A real redis-server that wants a password: the URL gives it in the query string."""
    folder = short_tempdir("wagw-auth-")
    sock = folder / "redis.sock"
    server = subprocess.Popen(
        [find_binary(), "--port", "0", "--unixsocket", str(sock), "--requirepass", "hunter2-secret", "--save", ""],
        stdout=subprocess.DEVNULL,
        cwd=folder,
    )
    url = f"unix://{sock}?password=hunter2-secret"
    try:
        wait_for(lambda: sock.exists() and Redis.from_url(url).ping(), timeout=10, what="redis-server to answer")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def test_the_dashboard_never_shows_the_redis_password(redis_with_password, tmp_path):
    login = {"dashboard_user": "op", "dashboard_password": "d" * 24}
    settings = Settings(_env_file=None, data_dir=tmp_path, redis_url=redis_with_password, **login)
    client = build_app(settings).test_client()
    login = "Basic " + base64.b64encode(b"op:" + b"d" * 24).decode()
    for path in ("/0/view/queues", "/0/view/workers", "/0/view/jobs"):
        page = client.get(path, headers={"Authorization": login, "Host": "127.0.0.1"}, follow_redirects=True)
        assert page.status_code == 200, path
        text = page.get_data(as_text=True)
        assert mask_url(redis_with_password) in text and "hunter2" not in text, path
