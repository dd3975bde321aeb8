"""Can this machine load neonize? Asked in a spawned child, never in the asking process.

`probe(settings)` runs `python -m wagw.whatsapp.probe` and reads what it reports; the caller
(`wagw doctor`, and `wagw run` before it starts anything) stays pure Python. Loading neonize
starts the Go runtime, after which a process must never fork, and a broken install can abort
the loading process outright; in a child either is only a report.

The child, step by step, one JSON line each (`{"probe": STEP, …}`) so that a crash midway
still leaves the earlier answers:

1. `magic`: import python-magic, which neonize.client imports and which needs the system
   library libmagic1 (SPEC, facts about the dependencies);
2. `neonize`: import neonize.client, which loads the Go library shipped in the wheel;
3. `device` (only for the roles asked for): the JID of the device in that role's store, read
   the way the session reads it (NeonizeBackend.find_device); a sqlite store that does not
   exist is reported unpaired without being created.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from wagw.exitcodes import ExitCode

if TYPE_CHECKING:
    from wagw.config import Settings

PROBE_ARGV = [sys.executable, "-m", "wagw.whatsapp.probe"]
# Loading takes about half a second; a loaded machine or a cold disk can take far longer.
TIMEOUT = 60.0
LIBMAGIC_PACKAGE = "libmagic1"  # Debian and Ubuntu
STDERR_TAIL = 5  # lines of the child's stderr kept for a report


@dataclass(frozen=True)
class DeviceProbe:
    jid: str | None = None  # None: not paired
    error: str | None = None  # the store could not be read


@dataclass
class NeonizeProbe:
    """What the child reported. `loaded` is the answer; the rest explains it."""

    magic_error: str | None = None  # python-magic did not import (libmagic missing)
    magic_checked: bool = False
    loaded: bool = False
    version: str | None = None
    error: str | None = None  # why neonize did not load
    devices: dict[str, DeviceProbe] = field(default_factory=dict)

    @property
    def libmagic_missing(self) -> bool:
        return bool(self.magic_error) or "libmagic" in (self.error or "")

    @property
    def fix(self) -> str:
        if self.libmagic_missing:
            return f"install the system library: sudo apt-get install {LIBMAGIC_PACKAGE}"
        return (
            "reinstall it (`pip install --force-reinstall neonize` in wagw's virtualenv); neonize ships "
            "its Go library for linux and macOS on x86_64 and arm64 only"
        )

    def line(self) -> str:
        """One line for a refusal to start: what is wrong, and the fix."""
        if self.loaded:
            return f"neonize {self.version or ''} loads".replace("  ", " ")
        return f"neonize cannot be loaded: {self.error or 'unknown error'}; fix: {self.fix}"


def probe(
    settings: Settings | None = None, roles: list[str] | None = None, *, timeout: float = TIMEOUT
) -> NeonizeProbe:
    """Load neonize in a child and report; with `roles` (and settings), read their device stores."""
    argv = [*PROBE_ARGV, *(["--devices", *roles] if roles and settings is not None else [])]
    env = dict(os.environ)
    env.pop("WAGW_LOG_WIRE", None)
    env.pop("WAGW_PARENT_PID", None)
    if settings is not None:
        # The child reads the same settings (a .env file in the working directory included).
        env["WAGW_DATA_DIR"] = str(settings.data_dir)
    result = NeonizeProbe()
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        _read(result, _text(expired.stdout))
        result.loaded = False
        result.error = f"loading it did not finish within {timeout:g} s (the child was killed)"
        return result
    except OSError as error:
        result.error = f"cannot start a Python child: {error}"
        return result
    _read(result, done.stdout)
    if done.returncode != ExitCode.OK and result.error is None and not result.loaded:
        tail = " | ".join(line for line in done.stderr.strip().splitlines()[-STDERR_TAIL:])
        why = ExitCode.describe(done.returncode)
        result.error = f"the child loading it ended with {why}" + (f": {tail}" if tail else "")
    elif not result.loaded and result.error is None:
        result.error = "the child loading it reported nothing"
    return result


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _read(result: NeonizeProbe, stdout: str) -> None:
    for line in stdout.splitlines():
        if not line.startswith('{"probe"'):
            continue  # anything the libraries printed
        try:
            record = json.loads(line)
        except ValueError:
            continue
        step = record.get("probe")
        if step == "magic":
            result.magic_checked = True
            result.magic_error = record.get("error")
        elif step == "neonize":
            result.loaded = record.get("error") is None
            result.version = record.get("version")
            result.error = record.get("error")
        elif step == "device":
            result.devices[record["role"]] = DeviceProbe(jid=record.get("jid"), error=record.get("error"))


# The child ---------------------------------------------------------------------------------


def _report(**fields: object) -> None:
    print(json.dumps({"probe": fields.pop("step"), **fields}), flush=True)


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".strip().replace("\n", " ")


def child(argv: list[str]) -> int:
    try:
        import magic  # noqa: F401  # python-magic: loads libmagic with ctypes at import
    except BaseException as error:  # ImportError, OSError: whatever the binding raises
        _report(step="magic", error=_error_text(error))
    else:
        _report(step="magic")
    try:
        from importlib.metadata import version

        from wagw.whatsapp import native

        native.load()  # the one way wagw loads neonize and its Go library
        neonize_version = version("neonize")
    except BaseException as error:
        _report(step="neonize", error=_error_text(error))
        return ExitCode.FAILURE
    _report(step="neonize", version=neonize_version)
    if argv[:1] == ["--devices"]:
        _devices(argv[1:])
    return ExitCode.OK


def _devices(roles: list[str]) -> None:
    from wagw.config import Settings
    from wagw.whatsapp.neonize_backend import NeonizeBackend

    settings = Settings()
    for role in roles:
        try:
            store = settings.device_store(role)
            if settings.device_db is None and not Path(store).exists():
                _report(step="device", role=role, jid=None)  # never paired; not created by asking
                continue
            _report(step="device", role=role, jid=NeonizeBackend(settings, role).find_device())
        except BaseException as error:
            _report(step="device", role=role, error=_error_text(error))


if __name__ == "__main__":
    sys.exit(child(sys.argv[1:]))
