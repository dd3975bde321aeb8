"""deploy/wagw-cli (installed as /usr/local/bin/wagw) switches to user wagw the way the box allows:
runuser for root (a root-only box may have no sudo), sudo for anyone else.

Run for real by sh, with a PATH holding only `id` and a recording stand-in for runuser or sudo:
switching to a user `wagw` that this machine does not have is what the stand-in records."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import short_tempdir

WRAPPER = Path(__file__).resolve().parents[2] / "deploy" / "wagw-cli"


@pytest.fixture
def bin_dir():
    folder = short_tempdir("wagw-cli-")
    folder.chmod(0o755)  # open to the user the second test runs as
    (folder / "id").symlink_to("/usr/bin/id")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run_wrapper(bin_dir: Path, switcher: str, preexec=None) -> subprocess.CompletedProcess:
    stand_in = bin_dir / switcher
    stand_in.write_text('#!/bin/sh\necho "$0 $*"\n')
    stand_in.chmod(0o755)
    done = subprocess.run(
        ["/bin/sh", str(WRAPPER), "doctor", "--json"],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=10,
        preexec_fn=preexec,
    )
    return done


@pytest.mark.skipif(os.geteuid() != 0, reason="the root branch needs root")
def test_root_switches_with_runuser_where_there_is_no_sudo(bin_dir):
    done = run_wrapper(bin_dir, "runuser")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{bin_dir}/runuser -u wagw -- {WRAPPER} doctor --json"


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming another user needs root")
def test_another_user_switches_with_sudo(bin_dir):
    def as_nobody():
        os.setgid(65534)
        os.setuid(65534)

    done = run_wrapper(bin_dir, "sudo", preexec=as_nobody)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{bin_dir}/sudo -u wagw -- {WRAPPER} doctor --json"
