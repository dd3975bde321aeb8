"""Every command and the client find the same data dir, wherever they run: WAGW_DATA_DIR, else
the systemd unit's StateDirectory=wagw, else `var` in the project folder; and say which."""

from __future__ import annotations

from pathlib import Path

import pytest

from wagw import config
from wagw.config import Settings, data_dir_origin, project_folder, redis_origin

ROOT = Path(__file__).resolve().parents[2]  # this checkout: pyproject.toml next to wagw/


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in ("WAGW_DATA_DIR", "WAGW_REDIS_URL", "STATE_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # an app's folder, say
    return monkeypatch


def test_unset_it_is_var_in_the_project_folder_not_where_the_command_runs(env, tmp_path):
    assert project_folder() == ROOT
    settings = Settings(_env_file=None)
    assert settings.data_dir == ROOT / "var"
    assert data_dir_origin(settings) == f"the project folder {ROOT} (WAGW_DATA_DIR unset)"
    assert redis_origin(settings) == (
        f"the embedded Redis's socket in the data dir {ROOT / 'var'}, from the project folder {ROOT} "
        "(WAGW_DATA_DIR unset)"
    )


def test_an_installed_package_belongs_to_the_folder_of_its_virtualenv(env, monkeypatch, tmp_path):
    installed = tmp_path / "opt" / "wagw" / "venv" / "lib" / "python3" / "site-packages" / "wagw" / "config.py"
    monkeypatch.setattr(config, "__file__", str(installed))
    monkeypatch.setattr(config.sys, "prefix", str(tmp_path / "opt" / "wagw" / "venv"))
    monkeypatch.setattr(config.sys, "base_prefix", "/usr")
    assert project_folder() == tmp_path / "opt" / "wagw"


def test_the_units_state_directory_then_an_explicit_setting(env, tmp_path):
    env.setenv("STATE_DIRECTORY", "/var/lib/wagw")
    settings = Settings(_env_file=None)
    assert settings.data_dir == Path("/var/lib/wagw")
    assert data_dir_origin(settings) == "$STATE_DIRECTORY (the systemd unit's StateDirectory)"
    env.setenv("WAGW_DATA_DIR", str(tmp_path / "mine"))
    explicit = Settings(_env_file=None)
    assert explicit.data_dir == tmp_path / "mine" and data_dir_origin(explicit) == "WAGW_DATA_DIR"


def test_another_units_state_directory_is_not_wagws(env):
    env.setenv("STATE_DIRECTORY", "/var/lib/myapp")  # an app's own unit, importing wagw.client
    assert Settings(_env_file=None).data_dir == ROOT / "var"


def test_an_external_redis_says_so(env):
    env.setenv("WAGW_REDIS_URL", "redis://:pw@10.0.0.5:6379/0")
    assert redis_origin(Settings(_env_file=None)) == "WAGW_REDIS_URL"
