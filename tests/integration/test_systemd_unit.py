"""deploy/wagw.service: systemd accepts it, rates it <= 1.1, and its sandbox still runs Go.

systemd is not PID 1 here, so the unit cannot be started. What can be checked for real:
`systemd-analyze verify` and `security --offline`, the sysusers entry, and the one
hardening rule that could break the native library (MemoryDenyWriteExecute), applied with
the same seccomp rules to a process that loads neonize, calls back into Python and panics.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "wagw.service"
SYSUSERS = ROOT / "deploy" / "wagw.sysusers.conf"
DEPLOY_MD = ROOT / "docs" / "deploy.md"
MAX_EXPOSURE = 1.1  # what the unit rates today: a change may lower it, never raise it

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def unit_settings() -> dict[str, list[str]]:
    """Key -> values in order (systemd allows a key several times)."""
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
    return settings


@pytest.fixture
def fake_root(tmp_path) -> Path:
    """A root with systemd's own units and stand-ins for the executables the unit runs
    (/opt/wagw/venv/bin/wagw is not installed here), so that `verify` checks the unit file
    exactly as shipped: it requires every Exec*= command to exist and be executable."""
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    settings = unit_settings()
    for key in ("ExecStart", "ExecReload"):
        stand_in = root / settings[key][0].split()[0].lstrip("/")
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        stand_in.write_text("#!/bin/sh\n")
        stand_in.chmod(0o755)
    shutil.copy(UNIT, root / "etc/systemd/system/wagw.service")
    return root


@needs_systemd_analyze
def test_systemd_analyze_verify_accepts_the_unit(fake_root):
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={fake_root}", "/etc/systemd/system/wagw.service"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Unknown or misspelt keys are only warnings: any output at all is a failure.
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), result


def exposure() -> str:
    """What `systemd-analyze security --offline=true` rates the unit file, as it prints it."""
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for wagw\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    return match.group(1)


@needs_systemd_analyze
def test_security_exposure_stays_at_or_below_today_s():
    assert float(exposure()) <= MAX_EXPOSURE


@needs_systemd_analyze
def test_the_docs_and_the_unit_state_the_exposure_the_file_rates():
    rated = exposure()
    assert f"rates its exposure **{rated} (" in DEPLOY_MD.read_text()
    assert f"rates it {rated} (checked by" in UNIT.read_text()


def test_unit_has_the_required_service_shape():
    settings = unit_settings()
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "Restart": "on-failure",
        "StateDirectory": "wagw",
        "User": "wagw",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "KillMode": "mixed",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    }
    for key, value in expected.items():
        assert settings.get(key) == [value], key
    assert int(settings["WatchdogSec"][0]) > 0
    assert "78" in settings["RestartPreventExitStatus"][0].split()  # config errors are not retried
    # The state dir is where wagw keeps everything: the data dir must point at it.
    assert "WAGW_DATA_DIR=/var/lib/wagw" in settings["Environment"]
    assert settings["ExecStart"][0].endswith("/wagw run")


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="systemd-sysusers is not installed")
def test_sysusers_entry_creates_the_wagw_user(tmp_path):
    (tmp_path / "usr/lib/sysusers.d").mkdir(parents=True)
    shutil.copy(SYSUSERS, tmp_path / "usr/lib/sysusers.d/wagw.conf")
    result = subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", "--dry-run"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert "Creating user 'wagw'" in result.stdout + result.stderr


# systemd's MemoryDenyWriteExecute rules on x86-64, as a seccomp filter: mmap with both
# PROT_WRITE and PROT_EXEC, and mprotect/pkey_mprotect adding PROT_EXEC, fail with EPERM.
SANDBOXED_NEONIZE = textwrap.dedent(
    r"""
    import ctypes, os, struct, sys, tempfile
    libc = ctypes.CDLL(None, use_errno=True)
    def stmt(code, k): return struct.pack("HBBI", code, 0, 0, k)
    def jump(code, k, jt, jf): return struct.pack("HBBI", code, jt, jf, k)
    LD, JEQ, JSET, RET, AND = 0x20, 0x15, 0x45, 0x06, 0x54
    ALLOW, EPERM = 0x7FFF0000, 0x00050001
    PROT_ARG = 16 + 2 * 8  # seccomp_data.args[2], low word
    program = [
        stmt(LD, 4), jump(JEQ, 0xC000003E, 1, 0), stmt(RET, ALLOW),  # x86-64 only
        stmt(LD, 0),
        jump(JEQ, 9, 0, 4),  # mmap: refuse PROT_WRITE|PROT_EXEC together
        stmt(LD, PROT_ARG), stmt(AND, 6), jump(JEQ, 6, 0, 1), stmt(RET, EPERM), stmt(RET, ALLOW),
        jump(JEQ, 10, 1, 0), jump(JEQ, 329, 0, 3),  # mprotect, pkey_mprotect: refuse PROT_EXEC
        stmt(LD, PROT_ARG), jump(JSET, 4, 0, 1), stmt(RET, EPERM),
        stmt(RET, ALLOW),
    ]
    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]
    prog = SockFprog(len(program), b"".join(program))
    assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
    assert libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0  # PR_SET_SECCOMP, FILTER
    libc.mmap.restype = ctypes.c_void_p
    wx = libc.mmap(None, 4096, 7, 0x22, -1, 0)
    print("wx-mmap", "refused" if wx in (None, 2**64 - 1) else "allowed", flush=True)

    from neonize.client import NewClient
    from neonize.exc import NeonizeError
    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)
    print("ctypes-callback", callback(41), flush=True)
    client = NewClient(os.path.join(tempfile.mkdtemp(dir="/tmp"), "sandbox.sqlite3"))
    if sys.argv[1] == "connect":
        try:
            client.connect()  # offline: the Go side runs, dials, fails and reports back
        except NeonizeError as error:
            print("connect-error", type(error).__name__, flush=True)
    else:
        client.get_me()  # a real Go panic: must still be a clean SIGABRT, not a seccomp kill
    print("done", flush=True)
    """
)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.machine() != "x86_64",
    reason="the seccomp program is written for x86-64 Linux",
)
@pytest.mark.parametrize("mode", ["connect", "panic"])
def test_go_runtime_runs_under_memory_deny_write_execute(mode, tmp_path):
    assert "MemoryDenyWriteExecute" in unit_settings()
    result = subprocess.run(
        [sys.executable, "-c", SANDBOXED_NEONIZE, mode], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert "wx-mmap refused" in result.stdout, result  # the rule is really in force
    assert "ctypes-callback 42" in result.stdout, result
    if mode == "connect":
        assert result.returncode == 0, result.stderr[-2000:]
        assert "done" in result.stdout
    else:
        assert result.returncode == -6, result.stderr[-2000:]  # SIGABRT, as outside the sandbox
        assert "panic: runtime error" in result.stderr
