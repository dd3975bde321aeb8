"""One error taxonomy (wagw/errors.py): every error that can end a job or reach an app or an
operator is defined there, under the root WagwError, and keeps the name failures have always
shown, which is also a module it can be imported from; Permanent marks exactly the failures
docs/jobs.md lists as not retried, and it is what the wa-worker reads. Exceptions elsewhere
are the internal ones errors.py names, each turned into one of these or into a message."""

from __future__ import annotations

import ast
import importlib
import re
import traceback
from pathlib import Path

import pytest

from wagw import errors
from wagw.errors import Permanent, WagwError
from workers.wa.worker import no_retry_for_permanent_errors

ROOT = Path(__file__).resolve().parents[2]
ERRORS_SOURCE = ROOT / "wagw" / "errors.py"
JOBS_DOCS = ROOT / "docs" / "jobs.md"
DOTTED = re.compile(r"(?:wagw|workers)(?:\.[a-z_]+)+\.[A-Z]\w*")


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def path_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def public_errors() -> list[type]:
    """Every class errors.py defines (HostTimeout inside the function that makes it)."""
    names = [node.name for node in ast.walk(ast.parse(ERRORS_SOURCE.read_text())) if isinstance(node, ast.ClassDef)]
    return [getattr(errors, name) for name in dict.fromkeys(names)]


def exceptions_elsewhere() -> set[str]:
    """Every exception class a module of wagw/ or workers/ other than errors.py defines."""
    found = set()
    for path in sorted([*(ROOT / "wagw").rglob("*.py"), *(ROOT / "workers").rglob("*.py")]):
        if path == ERRORS_SOURCE or path.name == "__main__.py":
            continue
        names = [node.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ClassDef)]
        if not names:
            continue
        module = importlib.import_module(module_of(path))
        for name in names:
            cls = getattr(module, name, None)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                found.add(f"{module.__name__}.{name}")
    return found


def documented_internal() -> set[str]:
    doc = errors.__doc__ or ""
    return set(DOTTED.findall(doc.split("Errors that never leave", 1)[1]))


def jobs_error_rows() -> list[tuple[str, str]]:
    """(the exception a failed job ends with, "retried?") of docs/jobs.md's Errors table."""
    section = JOBS_DOCS.read_text().split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) == 3 and DOTTED.search(cells[0]):
            rows.append((DOTTED.search(cells[0]).group(), cells[2]))
    return rows


def test_every_exception_that_leaves_its_module_is_defined_in_errors():
    elsewhere = exceptions_elsewhere()
    assert elsewhere == documented_internal(), (
        "define every error that can end a job or reach an app or an operator in wagw/errors.py; "
        "one that never leaves its module may stay there, named in errors.py's docstring with why"
    )


@pytest.mark.parametrize("cls", public_errors(), ids=lambda cls: cls.__name__)
def test_each_error_is_importable_under_the_name_failures_show(cls):
    assert issubclass(cls, WagwError)
    assert getattr(importlib.import_module(cls.__module__), cls.__qualname__) is cls
    line = traceback.format_exception_only(cls.__new__(cls))[0]  # as a job's exc_string ends
    assert line.startswith(f"{path_of(cls)}:") or line.strip() == path_of(cls)


def test_the_names_the_docs_promise_import_as_wagw_errors():
    named = {name for name, _retried in jobs_error_rows()}
    named |= set(DOTTED.findall(JOBS_DOCS.read_text().split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]))
    assert "workers.host_client.HostCrashed" in named
    for name in named:
        module, _, attr = name.rpartition(".")
        cls = getattr(importlib.import_module(module), attr)
        assert cls is getattr(errors, attr) and path_of(cls) == name


def test_permanent_is_exactly_what_the_docs_say_is_not_retried():
    not_retried = {name for name, retried in jobs_error_rows() if retried.startswith("**no**")}
    assert "workers.validation.InvalidArguments" in not_retried
    permanent = {path_of(cls) for cls in public_errors() if issubclass(cls, Permanent) and cls is not Permanent}
    assert permanent == not_retried
    # The old flag is only ever the type's answer, never set by a class of its own.
    assert [cls for cls in public_errors() if "permanent" in vars(cls)] == [WagwError]


class _Job:
    def __init__(self) -> None:
        self.retries_left = 3


def test_the_wa_worker_reads_the_type_not_a_flag():
    class NewRule(Permanent):
        pass

    class Flagged(RuntimeError):
        permanent = True

    job = _Job()
    assert no_retry_for_permanent_errors(job, NewRule, NewRule("no"), None) and job.retries_left == 0
    job = _Job()
    assert no_retry_for_permanent_errors(job, Flagged, Flagged("maybe"), None) and job.retries_left == 3
    job = _Job()
    error = errors.HostCrashed(1, "send_text", 4242, -6, ["panic: boom"])
    assert no_retry_for_permanent_errors(job, type(error), error, None) and job.retries_left == 3
