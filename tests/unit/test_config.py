from __future__ import annotations

import subprocess
import sys

import pytest

from wagw.config import Settings, load_settings
from wagw.exitcodes import ExitCode


@pytest.fixture
def env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("WAGW_"):
            monkeypatch.delenv(key)
    return monkeypatch


def test_defaults(env):
    settings = Settings(_env_file=None)
    assert settings.backend == "neonize" and settings.wa_workers == 1 and settings.webhook_workers == 2
    assert settings.embedded_redis and settings.effective_redis_url.startswith("unix://")
    assert settings.log_level == "INFO" and settings.log_format == "text"


def test_comma_lists_and_secret(env):
    env.setenv("WAGW_WEBHOOK_URLS", "http://a.example/hook, https://b.example/h")
    env.setenv("WAGW_WEBHOOK_SECRET", "s3cret-s3cret-s3cret")
    env.setenv("WAGW_WEBHOOK_EVENTS", "message,message.ack")
    settings = Settings(_env_file=None)
    assert settings.webhook_urls == ["http://a.example/hook", "https://b.example/h"]
    assert settings.webhook_events == ["message", "message.ack"]
    assert "s3cret" not in repr(settings)


def test_dotenv_is_read(env, tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("WAGW_WA_WORKERS=2\nWAGW_LOG_LEVEL=debug\n")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.wa_workers == 2 and settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("WAGW_WA_WORKERS", "abc", "WAGW_WA_WORKERS"),
        ("WAGW_WA_WORKERS", "4", "linked devices"),
        ("WAGW_BACKEND", "telegram", "WAGW_BACKEND"),
        ("WAGW_WEBHOOK_URLS", "ftp://x", "WAGW_WEBHOOK_URLS"),
        ("WAGW_DASHBOARD_ADDR", "nonsense", "WAGW_DASHBOARD_ADDR"),
        ("WAGW_LOG_FORMAT", "xml", "WAGW_LOG_FORMAT"),
    ],
)
def test_invalid_setting_exits_78_with_one_line(env, capsys, name, value, fragment):
    env.setenv(name, value)
    with pytest.raises(SystemExit) as exit_info:
        load_settings(_env_file=None)
    assert exit_info.value.code == ExitCode.CONFIG
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err


def test_urls_without_secret_name_the_secret(env, capsys):
    env.setenv("WAGW_WEBHOOK_URLS", "http://localhost/x")
    with pytest.raises(SystemExit):
        load_settings(_env_file=None)
    assert "WAGW_WEBHOOK_SECRET" in capsys.readouterr().err


def test_cli_exits_78_on_bad_config(env):
    env.setenv("WAGW_BACKEND", "nope")
    result = subprocess.run([sys.executable, "-m", "wagw", "status"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 78
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "WAGW_BACKEND" in result.stderr


def test_supervisor_modules_never_import_neonize():
    code = (
        "import sys, wagw.cli, wagw.supervisor, wagw.supervisor.core, wagw.status, wagw.scheduler.process, "
        "wagw.whatsapp, wagw.scheduler.reaper\n"
        "bad = [m for m in sys.modules if m.startswith('neonize')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
