"""Fixtures of the end-to-end tier."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.conftest import E2E_ENV, short_tempdir
from tests.e2e.hook import Hook

if TYPE_CHECKING:
    from chaos.daemon import Daemon


@pytest.fixture
def hook():
    """A webhook endpoint that keeps every request; closed at teardown."""
    made = Hook()
    yield made
    made.close()


def one_daemon(prefix: str, *, media_dir: bool = False) -> Iterator[Daemon]:
    """One `wagw run` (fake backend) for a module-scoped fixture to `yield from`: it must stop
    cleanly; killed and its data dir removed whatever happens. With media_dir, WAGW_MEDIA_DIR
    is a folder made in the data dir."""
    from chaos.daemon import Daemon

    data_dir = short_tempdir(prefix)
    env = dict(E2E_ENV)
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
