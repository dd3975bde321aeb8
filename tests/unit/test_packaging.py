"""pyproject.toml says its licence the way current setuptools reads without a deprecation
warning (an SPDX expression, PEP 639), and asks for a setuptools that reads it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
SPDX_SINCE = (77, 0)  # the first setuptools that takes `license` as an SPDX string


def pyproject() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


def test_the_licence_is_an_spdx_expression_not_a_table():
    project = pyproject()["project"]
    assert project["license"] == "MIT"
    # PEP 639: with a licence expression, no licence classifiers.
    assert not [c for c in project.get("classifiers", []) if c.startswith("License ::")]


def test_the_build_asks_for_a_setuptools_that_reads_it():
    (requirement,) = [r for r in pyproject()["build-system"]["requires"] if r.startswith("setuptools")]
    found = re.fullmatch(r"setuptools>=(\d+)(?:\.(\d+))?", requirement)
    assert found, requirement
    assert (int(found[1]), int(found[2] or 0)) >= SPDX_SINCE
