"""Fixtures of the end-to-end tier."""

from __future__ import annotations

import functools
import shutil
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.conftest import E2E_ENV, short_tempdir
from tests.e2e.hook import Hook

if TYPE_CHECKING:
    from chaos.daemon import Daemon


def start_side_by_side(daemons: list[Daemon], settle: float = 60) -> None:
    """Start several `wagw run` at once, as hosts sharing one Redis start, then wait until
    each has settled."""
    for daemon in daemons:
        daemon.start(wait=False)
    for daemon in daemons:
        daemon.wait_settled(settle)


@pytest.fixture
def hook():
    """A webhook endpoint that keeps every request; closed at teardown."""
    made = Hook()
    yield made
    made.close()


def one_daemon(prefix: str, *, media_dir: bool = False, extra_env: dict[str, str] | None = None) -> Iterator[Daemon]:
    """One `wagw run` (fake backend) for a module-scoped fixture to `yield from`: it must stop
    cleanly; killed and its data dir removed whatever happens. With media_dir, WAGW_MEDIA_DIR
    is a folder made in the data dir."""
    from chaos.daemon import Daemon

    data_dir = short_tempdir(prefix)
    env = {**E2E_ENV, **(extra_env or {})}
    if media_dir:
        (data_dir / "media").mkdir()
        env["WAGW_MEDIA_DIR"] = str(data_dir / "media")
    running = Daemon(data_dir, env)
    try:
        running.start()
        yield running
        assert running.stop() == 0
    finally:
        running.kill_tree()
        shutil.rmtree(data_dir, ignore_errors=True)


API_LOGIN = ("e2e", "correct-horse-battery-staple")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def one_api_daemon(prefix: str, *, media_dir: bool = False, extra_env: dict[str, str] | None = None):
    """One `wagw run` with the HTTP API on a loopback port (basic auth API_LOGIN), for a
    module-scoped fixture to `yield from`: yields (daemon, base URL) once the API answers."""
    from chaos.polling import wait_for

    base = f"http://127.0.0.1:{free_port()}"
    env = {
        "WAGW_API_ADDR": base.removeprefix("http://"),
        "WAGW_API_BASIC_AUTH": ":".join(API_LOGIN),
        **(extra_env or {}),
    }
    for daemon in one_daemon(prefix, media_dir=media_dir, extra_env=env):
        wait_for(functools.partial(_api_answers, daemon, base), 30, 0.1, "the API to answer /health")
        yield daemon, base


def _api_answers(daemon: Daemon, base: str) -> bool:
    import httpx

    daemon.check_alive()
    try:
        return httpx.get(base + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
