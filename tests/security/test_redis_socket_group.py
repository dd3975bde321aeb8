"""WAGW_REDIS_SOCKET_GROUP: apps running as other users, in that group, reach the embedded
Redis's socket, and nothing else of the data dir (device keys, the AOF, its listing); users
outside the group reach nothing. Real redis-server, real users (forked, then setuid)."""

from __future__ import annotations

import grp
import os
import shutil
import socket
import stat
from collections.abc import Callable

import pytest

from tests.conftest import short_tempdir
from wagw.config import Settings
from wagw.doctor import Status, check_data_dir, check_socket_group
from wagw.supervisor.embedded_redis import EmbeddedRedis, RedisServerError, start_standalone

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switches to other users: needs root")

APPS = "daemon"  # an existing group standing for the apps' group
NOBODY = 65534  # an app's user: not wagw's, not root


def as_user(groups: list[int], action: Callable[[], bool]) -> bool:
    """Run `action` in a child process as user nobody with these supplementary groups."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups(groups)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os._exit(0 if action() else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) in (0, 1), "the child failed outright"
    return os.WEXITSTATUS(status) == 0


def pings(path: str) -> Callable[[], bool]:
    def action() -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(2)
                sock.connect(path)
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except PermissionError:
            return False

    return action


def reads(path: str) -> Callable[[], bool]:
    def action() -> bool:
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                with open(path, "rb") as file:
                    file.read(1)
            return True
        except PermissionError:
            return False

    return action


@pytest.fixture
def shared():
    data_dir = short_tempdir()
    (data_dir / "devices").mkdir(mode=0o700)
    keys = data_dir / "devices" / "session.sqlite3"
    keys.write_bytes(b"device keys")
    keys.chmod(0o600)
    proc, server = start_standalone(data_dir, socket_group=APPS)
    yield data_dir, server
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(data_dir, ignore_errors=True)


def test_the_group_reaches_the_socket_and_nothing_else(shared):
    data_dir, server = shared
    apps = grp.getgrnam(APPS).gr_gid
    assert server.socket == data_dir / "socket" / "redis.sock"
    info = server.socket.stat()
    assert info.st_gid == apps and stat.S_IMODE(info.st_mode) == 0o770
    assert as_user([apps], pings(str(server.socket)))
    assert not as_user([], pings(str(server.socket)))  # outside the group: refused
    for private in (data_dir, data_dir / "devices", data_dir / "devices" / "session.sqlite3", data_dir / "redis"):
        assert not as_user([apps], reads(str(private))), private
    aof = next(p for p in (data_dir / "redis").iterdir() if p.name.startswith("appendonly"))
    assert not as_user([apps], reads(str(aof)))


def test_settings_and_the_server_agree_on_the_socket_and_the_doctor_passes_it(shared, monkeypatch):
    data_dir, server = shared
    monkeypatch.setenv("WAGW_DATA_DIR", str(data_dir))
    monkeypatch.setenv("WAGW_REDIS_SOCKET_GROUP", APPS)
    monkeypatch.delenv("WAGW_REDIS_URL", raising=False)
    settings = Settings(_env_file=None)
    assert settings.redis_socket == server.socket
    assert next(c.status for c in check_data_dir(settings, os.geteuid())) is Status.OK
    checks = check_socket_group(settings, os.geteuid())
    assert [c.status for c in checks] == [Status.OK], checks
    assert "they can enqueue jobs and read events" in checks[0].what
    # Something in the data dir open to the group, which passes through it: a FAIL naming it.
    (data_dir / "media").mkdir(mode=0o755)
    (data_dir / "media").chmod(0o755)
    failed = [c for c in check_socket_group(settings, os.geteuid()) if c.status is Status.FAIL]
    assert len(failed) == 1 and str(data_dir / "media") in failed[0].what


def test_a_group_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(RedisServerError, match="no group 'no-such-group'"):
        EmbeddedRedis(tmp_path, socket_group="no-such-group").prepare()
