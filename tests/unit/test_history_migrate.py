"""The history store's migration in its own process (wagw.history.migrate): the writer keeps
no alembic, and learns the revision or one line saying why not."""

from __future__ import annotations

import time

import pytest

from wagw.errors import MigrationFailed
from wagw.history import migrate
from wagw.history.store import open_url, revision


def test_migrates_a_new_store_and_says_its_revision(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    store = open_url(url, create=True)
    try:
        assert revision(store) is None
        got = migrate.in_child(url)
        assert got and revision(store) == got
        assert migrate.in_child(url) == got  # again: nothing to do
    finally:
        store.close()


def test_a_failure_is_one_line_without_the_password():
    # Nothing listens on port 1: the child cannot connect, and says so without the URL's secret.
    with pytest.raises(MigrationFailed) as raised:
        migrate.in_child("postgresql://wagw:hunter2-secret@127.0.0.1:1/history")
    text = str(raised.value)
    assert "hunter2-secret" not in text
    assert "\n" not in text and text.startswith("migration failed: OperationalError")


def test_a_missing_sqlite_store_is_not_made_by_the_child(tmp_path):
    path = tmp_path / "absent.sqlite3"
    with pytest.raises(MigrationFailed, match="StoreMissing"):
        migrate.in_child(f"sqlite:///{path}")
    assert not path.exists()


def test_stopping_ends_the_wait_and_the_child(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    open_url(url, create=True).close()
    started = time.monotonic()
    assert migrate.in_child(url, stopping=lambda: time.monotonic() - started > 0.05) is None
    store = open_url(url)
    try:
        # Stopped at its start (the first look is after migrate.POLL, 0.1 s: less than python
        # takes to load SQLAlchemy and alembic):
        # the store is as it was, and the next start migrates it.
        assert revision(store) is None
        assert migrate.in_child(url) == revision(store)
    finally:
        store.close()
