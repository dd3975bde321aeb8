"""The one table of which child of `wagw run` gets which secret, and the environment each
child is built from (the real processes: tests/security/test_child_secrets.py)."""

from __future__ import annotations

import os

import pytest

from wagw.config import Settings
from wagw.supervisor import osapi
from wagw.supervisor.children import build_specs
from wagw.supervisor.grants import GRANTS, granted, written_out
from wagw.supervisor.osapi import OsLauncher

SALES_SECRET, GLOBAL_SECRET = "s" * 32, "g" * 32


@pytest.fixture
def base(tmp_path, monkeypatch) -> dict[str, str]:
    """The supervisor's environment (its env file merged in): every secret is in it."""
    for name in [name for name in os.environ if name.upper().startswith("WAGW_")]:
        monkeypatch.delenv(name)
    return {
        "PATH": "/usr/bin",
        "WAGW_DATA_DIR": str(tmp_path),
        "WAGW_ACCOUNTS": "sales,support-line",
        "WAGW_WEBHOOK_URLS": "https://user:pw@hooks.example/all",
        "WAGW_WEBHOOK_SECRET": GLOBAL_SECRET,
        "WAGW_ACCOUNT__SALES__WEBHOOK_URLS": "https://hooks.example/sales?token=t0k",
        "WAGW_ACCOUNT__SALES__WEBHOOK_SECRET": SALES_SECRET,
        "WAGW_ACCOUNT__SUPPORT_LINE__WA_WORKERS": "2",
        "WAGW_DASHBOARD_ADDR": "127.0.0.1:9181",
        "WAGW_DASHBOARD_USER": "operator",
        "WAGW_DASHBOARD_PASSWORD": "dashboard-password",
        "WAGW_METRICS_ADDR": "127.0.0.1:9182",
        "WAGW_DEVICE_DB": "postgres://u:p@db/wagw",
        "WAGW_HISTORY_URL": "postgresql://hist:history-pw@db/history",
        "WAGW_API_ADDR": "127.0.0.1:9183",
        "WAGW_API_BASIC_AUTH": "app:api-login-pw",
    }


def settings_from(env: dict[str, str], monkeypatch) -> Settings:
    with monkeypatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return Settings(_env_file=None)


@pytest.fixture
def settings(base, monkeypatch) -> Settings:
    return settings_from(base, monkeypatch)


def spawned_env(settings: Settings, base: dict[str, str], monkeypatch) -> dict[str, dict[str, str]]:
    """name -> the environment `wagw run` gives that child (no process is started)."""
    envs: dict[str, dict[str, str]] = {}
    monkeypatch.setattr(osapi, "OsProcess", lambda spec, env: envs.__setitem__(spec.name, env))
    launcher = OsLauncher(base)
    for spec in build_specs(settings, None):
        launcher.spawn(spec)
    return envs


def test_secrets_and_account_overrides_are_written_out_never_passed_along():
    assert written_out("WAGW_WEBHOOK_SECRET") and written_out("wagw_webhook_urls")
    assert written_out("WAGW_ACCOUNT__SALES__WEBHOOK_SECRET") and written_out("wagw_account__support_line__wa_workers")
    assert written_out("WAGW_ACCOUNT")  # the JSON spelling of every override at once
    assert written_out("WAGW_DASHBOARD_PASSWORD") and written_out("WAGW_DEVICE_DB")
    assert not written_out("WAGW_DASHBOARD_USER") and not written_out("WAGW_REDIS_URL")


def test_each_child_gets_what_its_row_grants_and_nothing_else(base, settings, monkeypatch):
    # One more secret, spelled as JSON: Settings never saw it, so no child may.
    envs = spawned_env(settings, base | {"WAGW_ACCOUNT": '{"x": {"webhook_secret": "smuggled-in-json"}}'}, monkeypatch)
    secrets = {
        "global secret": GLOBAL_SECRET,
        "sales secret": SALES_SECRET,
        "sales token": "t0k",
        "endpoint password": "user:pw",
        "dashboard password": "dashboard-password",
        "device db": "postgres://",
        "history url": "history-pw",
        "api login": "api-login-pw",
        "json": "smuggled-in-json",
    }
    held = {name: {s for s, value in secrets.items() if value in "\0".join(env.values())} for name, env in envs.items()}
    webhooks = {"global secret", "sales secret", "sales token", "endpoint password"}
    assert held == {
        "scheduler": set(),
        "webhook-worker-1": webhooks,
        "webhook-worker-2": webhooks,
        "sales/wa-worker-1": {"device db"},
        "sales/session": {"sales secret", "sales token", "device db"},
        "support-line/wa-worker-1": {"device db"},
        "support-line/wa-worker-2": {"device db"},
        "support-line/session": {"global secret", "endpoint password", "device db"},
        "dashboard": {"dashboard password"},
        "metrics": set(),
        "history": {"history url"},
        "api": {"api login", "history url"},
    }
    assert all(env["PATH"] == "/usr/bin" for env in envs.values())


def test_every_child_builds_the_settings_the_supervisor_has_minus_what_it_is_not_granted(base, settings, monkeypatch):
    for name, env in spawned_env(settings, base, monkeypatch).items():
        child = settings_from(env, monkeypatch)
        assert child.wa_workers_of("support-line") == 2, name  # an override with no secret reaches all
        if name.startswith("webhook-worker"):
            assert child.webhook_urls_of("sales") == settings.webhook_urls_of("sales")
            assert child.webhook_secret_of("support-line") == settings.webhook_secret_of("support-line")
        if name == "sales/session":
            assert child.webhook_urls_of("sales") == settings.webhook_urls_of("sales")
            assert child.webhook_secret_of("sales") == settings.webhook_secret_of("sales")
            assert child.webhook_secret_of("support-line") is None and child.webhook_urls_of("support-line") == []


def test_an_account_without_endpoints_gets_no_secret(settings):
    settings.account["sales"].webhook_urls = []
    assert granted(settings, "session", "sales") == {"WAGW_ACCOUNT__SUPPORT_LINE__WA_WORKERS": "2"} | {
        "WAGW_DEVICE_DB": "postgres://u:p@db/wagw"
    }


def test_every_command_the_supervisor_starts_has_a_row(settings, monkeypatch):
    commands = {spec.argv[3] for spec in build_specs(settings, None)}
    assert commands <= set(GRANTS)
