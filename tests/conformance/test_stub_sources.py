"""The stubbed Go entries and the Go source each stub's model follows.

Every stub cites its goneonize entry and the whatsmeow functions it models; each cited file
and function must be in neonize's own library (its Go function and file tables name them, at
the exact whatsmeow version it embeds). With a checkout of that source (WAGW_WHATSMEOW_SOURCE,
WAGW_GONEONIZE_SOURCE: a work tree or a git directory, read at HEAD), each cited function must
also be defined in the cited file.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conformance.stub_sources import CITATIONS, GONEONIZE, STUBBED, TRACED, WHATSMEOW, WHATSMEOW_VERSION


def library() -> bytes:
    spec = importlib.util.find_spec("neonize")  # its folder, without importing neonize
    assert spec is not None and spec.submodule_search_locations
    [path] = Path(next(iter(spec.submodule_search_locations))).glob("neonize-*.so")
    return path.read_bytes()


def symbol(module: str, function: str) -> str:
    return f"main.{function}" if module == GONEONIZE else f"go.mau.fi/whatsmeow.{function}"


def file_path(module: str, file: str) -> str:
    return f"/goneonize/{file}" if module == GONEONIZE else f"/go.mau.fi/whatsmeow@{WHATSMEOW_VERSION}/{file}"


def test_stubs_list_their_citations():
    listing = [f"{stub}: " + "; ".join(f"{m} {f} {fn}" for m, f, fn in CITATIONS[stub]) for stub in STUBBED]
    print("\n".join(listing))
    assert len(listing) == len(STUBBED) == 29
    for stub in STUBBED:
        modules = [module for module, _, _ in CITATIONS[stub]]
        assert (GONEONIZE, stub) in {(m, fn) for m, _, fn in CITATIONS[stub]}, f"{stub} cites no goneonize entry"
        assert set(modules) <= {GONEONIZE, WHATSMEOW}
    assert not set(TRACED) & set(STUBBED)  # offline entries run for real


def test_each_cited_file_and_function_is_in_neonizes_library():
    data = library()
    missing = [
        f"{stub}: {module} {file} {function}"
        for stub in STUBBED
        for module, file, function in CITATIONS[stub]
        if b"\0" + symbol(module, function).encode() + b"\0" not in data
        or file_path(module, file).encode() + b"\0" not in data
    ]
    assert missing == []
    for entry in TRACED:
        assert f"\0main.{entry}\0".encode() in data


def test_a_citation_that_is_not_in_the_library_is_found():
    data = library()
    assert b"\0" + symbol(WHATSMEOW, "(*Client).CheckDownloadLength").encode() + b"\0" not in data
    assert file_path(WHATSMEOW, "media_length.go").encode() + b"\0" not in data


def _source(root: str, file: str) -> str:
    path = Path(root)
    if (path / file).is_file():
        return (path / file).read_text()
    found = subprocess.run(["git", "--git-dir", root, "show", f"HEAD:{file}"], capture_output=True, text=True)
    return found.stdout


def test_each_cited_function_is_defined_in_the_cited_file_of_the_source():
    roots = {WHATSMEOW: os.environ.get("WAGW_WHATSMEOW_SOURCE"), GONEONIZE: os.environ.get("WAGW_GONEONIZE_SOURCE")}
    if not all(roots.values()):
        pytest.skip("WAGW_WHATSMEOW_SOURCE and WAGW_GONEONIZE_SOURCE name no source checkout")
    missing = []
    for stub in STUBBED:
        for module, file, function in CITATIONS[stub]:
            text = _source(str(roots[module]), ("goneonize/" if module == GONEONIZE else "") + file)
            receiver, _, name = function.rpartition(".")
            head = rf"func \(\w+ \*{receiver[2:-1]}\) " if receiver else "func "
            if not re.search(rf"^{head}{re.escape(name)}\(", text, re.M):
                missing.append(f"{stub}: {module} {file} {function}")
    assert missing == []
