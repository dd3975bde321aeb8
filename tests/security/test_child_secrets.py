"""Each child of `wagw run` holds only the secrets it is granted (docs/security.md), read from
the real processes: /proc/<pid>/environ, and every readable page of their memory, so a secret
a child read from .env by itself, or got from its parent over a pipe, is found too.

The secrets are random, so a match can only come from the secret reaching that process; the
processes that must hold one (the webhook worker, each session its own) show the scan finds
what is there.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket

import pytest

from chaos.polling import wait_for
from chaos.procs import descendants, process_name

pytestmark = pytest.mark.e2e

_REGION = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+)")


def memory_holds(pid: int, needles: dict[str, bytes]) -> set[str]:
    """Which of the named byte strings occur anywhere in the process's readable memory."""
    found: set[str] = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            match = _REGION.match(line)
            if not match or "r" not in match.group(3) or line.rstrip().endswith(("[vvar]", "[vsyscall]")):
                continue
            start, end = int(match.group(1), 16), int(match.group(2), 16)
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except OSError:  # a guard page or a mapping gone meanwhile
                continue
            found.update(name for name, needle in needles.items() if needle in data)
    return found


def environ_of(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as handle:
        items = handle.read().split(b"\0")
    return dict(item.decode(errors="replace").partition("=")[::2] for item in items if item)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.timeout(180)
def test_each_child_holds_only_the_secrets_granted_to_it(daemon_factory):
    # beta signs with the global secret; alpha has its own secret and an endpoint token.
    values = {
        "global secret": secrets.token_hex(20),
        "alpha secret": secrets.token_hex(20),
        "alpha token": secrets.token_hex(20),
        "dashboard password": secrets.token_hex(20),
        "history password": secrets.token_hex(20),
    }
    daemon = daemon_factory(
        {
            "WAGW_ACCOUNTS": "alpha,beta",
            "WAGW_DASHBOARD_ADDR": f"127.0.0.1:{free_port()}",
            "WAGW_METRICS_ADDR": f"127.0.0.1:{free_port()}",
            # From the environment, as a systemd EnvironmentFile gives it.
            "WAGW_DASHBOARD_USER": "operator",
            "WAGW_DASHBOARD_PASSWORD": values["dashboard password"],
            # Nothing listens there: the history process keeps trying, holding the URL.
            "WAGW_HISTORY_URL": f"postgresql://wagw:{values['history password']}@127.0.0.1:9/history",
        }
    )
    env_file = daemon.data_dir / ".env"  # wagw run's working directory
    env_file.write_text(
        "WAGW_WEBHOOK_URLS=http://127.0.0.1:9/beta\n"
        f"WAGW_WEBHOOK_SECRET={values['global secret']}\n"
        f"WAGW_ACCOUNT__ALPHA__WEBHOOK_URLS=http://127.0.0.1:9/alpha?token={values['alpha token']}\n"
        f"WAGW_ACCOUNT__ALPHA__WEBHOOK_SECRET={values['alpha secret']}\n"
    )
    webhooks = {"global secret", "alpha secret", "alpha token"}
    granted = {
        "redis": set(),
        # Forks the scheduler, workers and history writer: their secrets reach them, never it.
        "fork-server": set(),
        "scheduler": set(),
        "webhook-worker-1": webhooks,
        "alpha/wa-worker-1": set(),
        "alpha/wa-worker-1/host": set(),
        "alpha/wa-worker-1/forker": set(),  # forks the hosts: a copy of its wa-worker at its start
        "beta/wa-worker-1": set(),
        "beta/wa-worker-1/host": set(),
        "beta/wa-worker-1/forker": set(),
        "alpha/session": {"alpha secret", "alpha token"},
        "beta/session": {"global secret"},
        "dashboard": {"dashboard password"},
        "metrics": set(),
        "history": {"history password"},
    }
    # Every process has logged a line of its own: its settings are built.
    daemon.start()
    loggers = [name for name in granted if not name.endswith("/forker")]  # it logs nothing of its own
    wait_for(lambda: all(f"[{name}] " in daemon.log_text() for name in loggers), 90, what="every child to log")
    snapshot = daemon.wait_settled(30)
    assert all(p["state"] == "running" for p in snapshot["processes"]), snapshot["processes"]
    pids = {p["name"]: p["pid"] for p in snapshot["processes"]}
    for worker in ("alpha/wa-worker-1", "beta/wa-worker-1"):
        pids.update({process_name(pid) or str(pid): pid for pid in descendants(pids[worker])})
    assert set(pids) == set(granted)
    needles = {name: value.encode() for name, value in values.items()}
    held = {name: memory_holds(pid, needles) for name, pid in pids.items()}
    in_environ = {
        name: {secret for secret, value in values.items() if value in "\0".join(environ_of(pid).values())}
        for name, pid in pids.items()
    }
    assert {p["name"]: p["pid"] for p in daemon.snapshot()["processes"]}.items() <= pids.items()  # none restarted
    assert {name: sorted(held[name]) for name in pids if held[name] != granted[name]} == {}
    assert {name: sorted(in_environ[name]) for name in pids if not in_environ[name] <= granted[name]} == {}
    # redis-server gets nothing of wagw's environment. (Its /proc environ cannot say: it
    # writes its process title over that memory.)
    assert memory_holds(pids["redis"], {"a WAGW_ variable": b"WAGW_"}) == set()

    # No child reads .env again: one restarted after it changed runs as the others do.
    env_file.write_text("WAGW_WA_WORKERS=not-a-number\n")
    os.kill(pids["alpha/wa-worker-1"], signal.SIGKILL)

    def restarted():
        process = daemon.process("alpha/wa-worker-1")
        return process.get("state") == "running" and process.get("pid") != pids["alpha/wa-worker-1"]

    wait_for(lambda: restarted() or daemon.process("alpha/wa-worker-1").get("state") == "fatal", 30)
    assert restarted(), daemon.process("alpha/wa-worker-1")
