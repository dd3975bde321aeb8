"""The layout's rules, checked from the source so they stay true:

- imports run one way: `workers` imports `wagw`, never the reverse (the CLI names worker
  entry points as strings, which is not an import);
- only wagw/whatsapp/ imports neonize (the Go runtime): every other module may run in a
  process that must survive a Go panic or must be free to fork; and within it only
  native.py, so that neonize is loaded one way, with one clear error when a system library
  it needs (libmagic1) is missing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEONIZE_HOME = ROOT / "wagw" / "whatsapp"
NEONIZE_LOADER = NEONIZE_HOME / "native.py"


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imported(path: Path) -> set[str]:
    """Every module name an import statement in `path` names, at any depth (lazy imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _top(name: str) -> str:
    return name.split(".", 1)[0]


@pytest.mark.parametrize("path", _modules("wagw"), ids=lambda p: str(p.relative_to(ROOT)))
def test_wagw_never_imports_workers(path):
    assert not {name for name in _imported(path) if _top(name) == "workers"}, (
        f"{path.relative_to(ROOT)} imports workers: move what both need into wagw/"
    )


@pytest.mark.parametrize("path", _modules("wagw") + _modules("workers"), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_whatsapp_package_imports_neonize(path):
    if path.is_relative_to(NEONIZE_HOME):
        return
    assert not {name for name in _imported(path) if _top(name) == "neonize"}, (
        f"{path.relative_to(ROOT)} imports neonize: only wagw/whatsapp/ may load the Go runtime"
    )


@pytest.mark.parametrize("path", _modules("wagw/whatsapp"), ids=lambda p: str(p.relative_to(ROOT)))
def test_within_the_whatsapp_package_only_native_imports_neonize(path):
    if path == NEONIZE_LOADER:
        return
    assert not {name for name in _imported(path) if _top(name) == "neonize"}, (
        f"{path.relative_to(ROOT)} imports neonize: ask wagw.whatsapp.native.load() for it"
    )


def test_the_rules_catch_a_violation(tmp_path):
    offender = tmp_path / "offender.py"
    offender.write_text("def f():\n    from workers.wa import jobs\n    import neonize.client\n")
    assert {"workers.wa", "workers.wa.jobs", "neonize.client"} <= _imported(offender)
