"""docs/configuration.md documents exactly the fields of wagw.config.Settings, with their
real defaults, so the reference cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

from wagw.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def documented() -> dict[str, str]:
    """WAGW_ variable -> default cell (backticks removed), from the marked table."""
    text = DOC.read_text()
    table = text.split("<!-- settings-table:start -->", 1)[1].split("<!-- settings-table:end -->", 1)[0]
    rows = {}
    for line in table.splitlines():
        match = re.match(r"\|\s*`(WAGW_[A-Z0-9_]+)`\s*\|\s*([^|]*?)\s*\|", line)
        if match:
            name, default = match.groups()
            assert name not in rows, f"{name} documented twice"
            rows[name] = default.replace("`", "")
    return rows


def render_default(value: object) -> str:
    """A default as the reference writes it."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if value == "" or value == []:
        return "empty"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, Path):
        return str(value) if value.is_absolute() else f"./{value}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def test_every_setting_is_documented_and_nothing_else():
    fields = {f"WAGW_{name.upper()}" for name in Settings.model_fields}
    rows = set(documented())
    assert not fields - rows, f"settings missing from docs/configuration.md: {sorted(fields - rows)}"
    assert not rows - fields, f"docs/configuration.md documents settings that do not exist: {sorted(rows - fields)}"


# Unset in Settings, derived from another setting where used (Settings.media_path).
DERIVED = {
    "WAGW_MEDIA_DIR": "<data dir>/media",
    "WAGW_ACCOUNT": "none",  # no overrides: nothing to derive from
    "WAGW_DATA_DIR": "$STATE_DIRECTORY, else <project folder>/var",  # wagw.config.default_data_dir
}


def test_documented_defaults_are_the_real_ones():
    rows = documented()
    wrong = {}
    for name, field in Settings.model_fields.items():
        expected = DERIVED.get(f"WAGW_{name.upper()}") or render_default(field.get_default(call_default_factory=True))
        if rows[f"WAGW_{name.upper()}"] != expected:
            wrong[f"WAGW_{name.upper()}"] = (rows[f"WAGW_{name.upper()}"], expected)
    assert not wrong, f"defaults differ (documented, real): {wrong}"


def test_renders_the_defaults_as_written():
    assert render_default(Path("var")) == "./var"
    assert render_default(20.0) == "20" and render_default(0.5) == "0.5"
    assert render_default(None) == "unset" and render_default([]) == "empty"


def test_tests_named_in_the_docs_exist():
    """Postmortems and runbooks cite tests as proof; a renamed test must not leave a dead citation."""
    root = DOC.parents[1]
    files = {path.name: path for path in (root / "tests").rglob("test_*.py")}
    cited = set()
    for doc in (root / "docs").rglob("*.md"):
        for file, name in re.findall(r"(test_\w+\.py)::(test_\w+)", doc.read_text()):
            cited.add((doc.name, file, name))
    missing = [
        (doc, f"{file}::{name}")
        for doc, file, name in sorted(cited)
        if file not in files or not re.search(rf"^def {name}\(", files[file].read_text(), re.M)
    ]
    assert cited and not missing, missing
