"""The conformance tier keeps the rule the rest of the suite relies on: neonize (and the Go
runtime with it) is loaded only in child processes, never in pytest's own. Each test of the
tier is held to it by conftest's `neonize_stays_out`; under pytest-xdist another tier's test
may have loaded neonize into the same runner before, which is that tier's business."""

from __future__ import annotations

from tests.conformance.conftest import neonize_loaded


def test_neonize_is_never_loaded_into_the_test_process(child, neonize_stays_out):
    before = neonize_loaded()
    child.call("reset")  # the child has it loaded
    assert neonize_loaded() == before
