"""Accounts: settings, naming, the `wagw accounts` file, and the supervisor following it
(through the OS seam: fake processes, fake clock)."""

from __future__ import annotations

import signal

import pytest

from tests.unit.test_child_state import FakeClock, FakeLauncher
from wagw import accounts, keys
from wagw.config import AccountOverrides, Settings, try_settings
from wagw.exitcodes import ExitCode
from wagw.supervisor import reconcile
from wagw.supervisor.children import build_specs, running_account_specs
from wagw.supervisor.core import Supervisor
from wagw.supervisor.state import Child, RestartPolicy, State


def settings_for(tmp_path, **values) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, backend="fake", **values)


def test_one_account_keeps_the_single_account_layout(tmp_path):
    (account,) = accounts.configured(settings_for(tmp_path))
    assert account.name == "default" and account.primary and not account.several
    assert account.roles() == ["session", "worker-1"]
    assert account.session_process == "session" and account.wa_worker_process(1) == "wa-worker-1"
    assert account.queues == ["wa.default", "wa"]
    assert settings_for(tmp_path).device_store(account.session_role).endswith("/devices/session.sqlite3")


def test_several_accounts_are_spelled_apart(tmp_path):
    settings = settings_for(tmp_path, accounts="sales,support", account={"support": {"wa_workers": 2}})
    sales, support = accounts.configured(settings)
    assert sales.primary and not support.primary
    assert sales.queues == ["wa.sales", "wa"] and support.queues == ["wa.support"]
    assert support.roles() == ["support/session", "support/worker-1", "support/worker-2"]
    assert support.session_process == "support/session" and support.host_process(2) == "support/wa-worker-2/host"
    assert settings.device_store("support/worker-2").endswith("/devices/support/worker-2.sqlite3")
    names = [spec.name for spec in build_specs(settings, None)]
    assert names[-5:] == [
        "sales/wa-worker-1",
        "sales/session",
        "support/wa-worker-1",
        "support/wa-worker-2",
        "support/session",
    ]
    specs = {spec.name: spec for spec in build_specs(settings, None)}
    assert specs["support/session"].argv[-3:] == ["session", "--account", "support"]
    assert specs["support/session"].account == "support" and specs["scheduler"].account is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"accounts": "sales,Sales"}, "WAGW_ACCOUNTS"),
        ({"accounts": "a,a"}, "WAGW_ACCOUNTS"),
        ({"accounts": "sales", "account": {"salse": {"wa_workers": 2}}}, "WAGW_ACCOUNT__SALSE"),
        ({"accounts": "sales", "account": {"sales": {"wa_worker": 2}}}, "WAGW_ACCOUNT__SALES__WA_WORKER"),
        ({"accounts": "sales", "account": {"sales": {"wa_workers": 4}}}, "WAGW_ACCOUNT__SALES__WA_WORKERS"),
        (
            {"accounts": "sales", "account": {"sales": {"webhook_urls": "http://h/x"}}},
            "WAGW_ACCOUNT__SALES__WEBHOOK_SECRET",
        ),
        ({"accounts": "sales", "run_accounts": "sales,nope"}, "WAGW_RUN_ACCOUNTS"),
    ],
)
def test_bad_account_settings_name_the_variable(tmp_path, env, named):
    settings, error = try_settings(_env_file=None, data_dir=tmp_path, **env)
    assert settings is None
    assert error is not None and error.startswith(f"invalid setting {named}:"), error


def test_the_linked_device_cap_is_per_account_and_says_so(tmp_path):
    _settings, error = try_settings(_env_file=None, data_dir=tmp_path, accounts="a,b", account={"b": {"wa_workers": 4}})
    assert error is not None and "account 'b'" in error and "4 per phone" in error


def test_nested_environment_variables_reach_the_account(tmp_path, monkeypatch):
    monkeypatch.setenv("WAGW_ACCOUNTS", "sales,support-line")
    monkeypatch.setenv("WAGW_ACCOUNT__SUPPORT_LINE__WA_WORKERS", "2")
    monkeypatch.setenv("WAGW_ACCOUNT__SUPPORT_LINE__WEBHOOK_URLS", "http://h/a,http://h/b")
    monkeypatch.setenv("WAGW_ACCOUNT__SUPPORT_LINE__WEBHOOK_SECRET", "s" * 32)
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.wa_workers_of("support-line") == 2 and settings.wa_workers_of("sales") == 1
    assert settings.webhook_urls_of("support-line") == ["http://h/a", "http://h/b"]
    assert settings.webhook_urls_of("sales") == []


def test_add_and_remove_are_recorded_on_top_of_the_setting(tmp_path):
    settings = settings_for(tmp_path, accounts="sales,support")
    reconcile.add(settings, "billing")
    assert accounts.configured_names(settings) == ["sales", "support", "billing"]
    billing = accounts.find(settings, "billing")
    assert billing.several and billing.queue == "wa.billing"
    reconcile.remove(settings, "support")
    assert accounts.configured_names(settings) == ["sales", "billing"]
    with pytest.raises(ValueError, match="first of WAGW_ACCOUNTS"):
        reconcile.remove(settings, "sales")
    with pytest.raises(ValueError, match="already configured"):
        reconcile.add(settings, "billing")
    reconcile.add(settings, "support")
    reconcile.remove(settings, "billing")
    assert accounts.configured_names(settings) == ["sales", "support"]
    assert (tmp_path / "accounts.json").stat().st_mode & 0o777 == 0o600


def test_adding_a_second_account_renames_nothing_that_runs(tmp_path):
    settings = settings_for(tmp_path)
    reconcile.add(settings, "support")
    default, support = accounts.configured(settings)
    assert default.session_process == "session" and default.roles() == ["session", "worker-1"]
    assert support.session_process == "support/session"


def test_a_broken_accounts_file_is_a_config_error(tmp_path):
    (tmp_path / "accounts.json").write_text("{not json")
    _settings, error = try_settings(_env_file=None, data_dir=tmp_path)
    assert error is not None and "accounts.json" in error


def test_settings_validation_reads_no_file_the_roster_does(tmp_path):
    (tmp_path / "accounts.json").write_text("{not json")
    settings = settings_for(tmp_path)  # validating settings opens nothing
    with pytest.raises(ValueError, match=r"accounts\.json"):
        accounts.Roster.load(settings)


def test_overrides_may_name_an_account_added_with_wagw_accounts(tmp_path):
    reconcile.add(settings_for(tmp_path, accounts="sales"), "support")
    settings, error = try_settings(
        _env_file=None, data_dir=tmp_path, accounts="sales", account={"support": {"wa_workers": 2}}
    )
    assert error is None and settings is not None
    assert accounts.Roster.load(settings).find("support").wa_workers == 2


def test_an_account_override_is_the_global_setting_of_its_name(tmp_path):
    settings = settings_for(tmp_path, accounts="a,b", wa_workers=2, account={"b": {"wa_workers": 1}})
    for field in AccountOverrides.model_fields:
        assert field in Settings.model_fields
        assert settings.of_account("a", field) == getattr(settings, field)
    assert settings.of_account("b", "wa_workers") == 1 and settings.wa_workers_of("b") == 1


# The supervisor follows the file -----------------------------------------------------------


def started_watching_supervisor(
    settings: Settings, *, tick: float
) -> tuple[Supervisor, reconcile.AccountWatch, FakeClock]:
    """A supervisor over fake processes that follows the accounts file, its children started;
    each of its sleeps advances the clock by `tick`."""
    clock, launcher = FakeClock(), FakeLauncher()
    policy = RestartPolicy()
    children = [Child(spec, policy, launcher, clock) for spec in build_specs(settings, None)]
    watch = reconcile.AccountWatch(settings, lambda: running_account_specs(settings))
    sup = Supervisor(
        children,
        clock=clock,
        grace=2.0,
        sleep=lambda _s: clock.advance(tick),
        watch=watch,
        make_child=lambda spec: Child(spec, policy, launcher, clock),
        status_key=keys.SUPERVISOR_STATUS,
    )
    for child in children:
        child.start()
    clock.advance(1.0)
    sup._step()
    return sup, watch, clock


def test_the_supervisor_starts_an_added_account_and_stops_a_removed_one_alone(tmp_path):
    settings = settings_for(tmp_path, accounts="sales", webhook_workers=1)
    sup, watch, clock = started_watching_supervisor(settings, tick=0.0)
    pids = {child.name: child.pid for child in sup.children}
    assert set(pids) == {"scheduler", "history", "webhook-worker-1", "session", "wa-worker-1"}

    reconcile.add(settings, "support")
    sup._reconcile()
    clock.advance(1.0)
    sup._step()
    running = {child.name: child for child in sup.children}
    assert {"support/session", "support/wa-worker-1"} <= set(running)
    assert all(running[name].state is State.RUNNING for name in ("support/session", "support/wa-worker-1"))
    assert {name: running[name].pid for name in pids} == pids  # nobody else restarted

    reconcile.remove(settings, "support")
    sup._reconcile()
    leaving = {child.name: child for child in sup.leaving}
    assert set(leaving) == {"support/session", "support/wa-worker-1"}
    assert all(child.handle.signals == [signal.SIGTERM] for child in leaving.values())  # type: ignore[union-attr]
    for child in leaving.values():
        child.handle.code = 0  # type: ignore[union-attr]  # a FakeProcess: it exits
    sup._step()
    assert sup.leaving == []
    assert {child.name: child.pid for child in sup.children} == pids
    assert sup._reconcile() is None and not watch.changed()  # nothing more to do


def test_a_stop_while_a_removed_accounts_processes_are_still_stopping_ends_cleanly(tmp_path):
    """SIGTERM right after `wagw accounts remove`: the leaving processes are waited for with the
    rest (their state changes were looked up under names already dropped: a KeyError, exit 1)."""
    settings = settings_for(tmp_path, accounts="sales", webhook_workers=1)
    sup, _watch, clock = started_watching_supervisor(settings, tick=0.05)
    reconcile.add(settings, "support")
    sup._reconcile()
    clock.advance(1.0)
    sup._step()
    reconcile.remove(settings, "support")
    sup._reconcile()
    assert {child.name for child in sup.leaving} == {"support/session", "support/wa-worker-1"}
    for child in [*sup.children, *sup.leaving]:
        child.handle.code = 0  # type: ignore[union-attr]  # every FakeProcess exits when told
    assert sup._stop_all(ExitCode.OK) == ExitCode.OK
