"""Fixtures of the conformance tier: a child process running neonize's real code behind a
stubbed Go boundary (child.py, goboundary.py), and stores made by the real Go code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance.names import DEVICE
from tests.conftest import short_tempdir

ROOT = Path(__file__).resolve().parents[2]


class ChildFailed(AssertionError):
    pass


class NeonizeChild:
    """The conformance child (tests/conformance/child.py); call(scenario, **kwargs)."""

    def __init__(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("WAGW_")}
        env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self.log = open(short_tempdir("wagw-conformance-") / "child.log", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.conformance.child"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )

    def call(self, scenario: str, **kwargs):
        self.proc.stdin.write(json.dumps({"scenario": scenario, "kwargs": kwargs}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise ChildFailed(f"the conformance child died ({self.proc.wait()}):\n{self.tail()}")
        reply = json.loads(line)
        if "error" in reply:
            raise ChildFailed(f"{reply['error']['traceback']}\n--- child log ---\n{self.tail()}")
        return reply["ok"]

    def tail(self, lines: int = 80) -> str:
        self.log.flush()
        self.log.seek(0)
        return "".join(self.log.readlines()[-lines:])

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def child():
    made = NeonizeChild()
    yield made
    made.close()


@pytest.fixture
def go(child):
    """The child, with a fresh simulated account and no backend running."""
    child.call("reset")
    return child


@pytest.fixture
def session(go, data_dir, redis_url):
    """The child with the account's session device stored and connected, inbound on."""
    go.call("make_store", path=str(data_dir / "devices" / "session.sqlite3"), devices=[[DEVICE, "wagw", ""]])
    connected = go.call("connect", data_dir=str(data_dir), role="session", redis_url=redis_url, inbound=True)
    assert connected["connected"], connected
    return go


def neonize_loaded() -> set[str]:
    return {name for name in sys.modules if name == "neonize" or name.startswith("neonize.")}


@pytest.fixture(autouse=True)
def neonize_stays_out():
    """No test of this tier loads neonize into pytest's own process: only its children do."""
    before = neonize_loaded()
    yield
    assert neonize_loaded() <= before, f"loaded neonize into the test process: {sorted(neonize_loaded() - before)[:3]}"
