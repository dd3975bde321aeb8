"""Importing neonize.client imports python-magic, which loads the system library libmagic1
(finding 9). Without it, wagw must fail with one clear error naming libmagic1, from the one
module that imports neonize (wagw/whatsapp/native.py), and the session must exit as
misconfigured (78: not retried) instead of crashing with an ImportError traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

# Makes python-magic's real loader fail as it does on a machine without libmagic1:
# ctypes.util.find_library("magic") finds nothing and "libmagic.so.1" does not load.
HIDE_LIBMAGIC = """
import ctypes, ctypes.util
_find, _cdll_init = ctypes.util.find_library, ctypes.CDLL.__init__
ctypes.util.find_library = lambda name: None if name == "magic" else _find(name)
def _no_libmagic(self, name, *args, **kwargs):
    if name and "libmagic" in str(name):
        raise OSError(f"{name}: cannot open shared object file: No such file or directory")
    _cdll_init(self, name, *args, **kwargs)
ctypes.CDLL.__init__ = _no_libmagic
"""


@pytest.fixture
def without_libmagic(tmp_path, settings_env) -> dict:
    (tmp_path / "sitecustomize.py").write_text(HIDE_LIBMAGIC)
    settings_env.setenv("WAGW_BACKEND", "neonize")
    return {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.getcwd()}", "PYTHONUNBUFFERED": "1"}


def test_loading_neonize_names_libmagic1(without_libmagic):
    code = """
        from wagw.whatsapp import native
        try:
            native.load()
        except Exception as error:
            print(type(error).__name__, int(error.exit_code), error)
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=without_libmagic, capture_output=True, text=True, timeout=60
    )
    name, exit_code, message = proc.stdout.strip().split(" ", 2)
    assert (name, exit_code) == ("MissingSystemLibrary", "78"), proc.stdout + proc.stderr
    assert "libmagic1" in message and "apt-get install libmagic1" in message
    assert "failed to find libmagic" in message  # python-magic's own words, kept


def test_the_session_exits_misconfigured_with_the_fix(without_libmagic, redis_conn):
    proc = subprocess.run(
        [sys.executable, "-m", "wagw", "session"], env=without_libmagic, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 78, proc.stdout + proc.stderr
    assert "apt-get install libmagic1" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
