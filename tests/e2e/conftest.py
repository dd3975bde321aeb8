"""Fixtures of the end-to-end tier."""

from __future__ import annotations

import pytest

from tests.e2e.hook import Hook


@pytest.fixture
def hook():
    """A webhook endpoint that keeps every request; closed at teardown."""
    made = Hook()
    yield made
    made.close()
