"""README.md's command table names every `wagw` command there is."""

from __future__ import annotations

import re
from pathlib import Path

from wagw.cli import COMMANDS

README = Path(__file__).resolve().parents[2] / "README.md"


def command_table() -> str:
    text = README.read_text()
    section = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("| `wagw "))


def test_every_command_is_in_the_readme_table():
    table = command_table()
    missing = [command for command in COMMANDS if not re.search(rf"`wagw {re.escape(command)}[` \[]", table)]
    assert not missing, f"README.md's command table lacks: {', '.join(f'wagw {m}' for m in missing)}"
