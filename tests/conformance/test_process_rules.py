"""The conformance tier keeps the rule the rest of the suite relies on: neonize (and the Go
runtime with it) is loaded only in child processes, never in pytest's own."""

from __future__ import annotations

import sys


def test_neonize_is_never_loaded_into_the_test_process(child):
    child.call("reset")  # the child has it loaded
    assert not [name for name in sys.modules if name == "neonize" or name.startswith("neonize.")]
