"""A wa-worker in miniature, run as its own process by test_host_forker.py: it forks its host
forker first (as `wagw wa-worker` does; never in the test process, which would then be the
subreaper of every orphan of the suite), then drives a HostClient through forked hosts, a
real Go panic, and the forker's death, and prints what it saw as one JSON object."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from chaos.polling import wait_for
from chaos.procs import process_name
from wagw.config import Settings
from wagw.supervisor import orphans
from workers.wa.host_client import HostClient, HostCrashed
from workers.wa.host_forker import HostForker

ALICE = "15551234567@s.whatsapp.net"
WAIT = 30.0


def _host(client: HostClient) -> dict:
    pid = client.pid
    assert pid is not None
    with open(f"/proc/{pid}/stat") as stat:
        parent = int(stat.read().rsplit(") ", 1)[1].split()[1])
    return {"pid": pid, "name": process_name(pid), "parent": parent}


def _call(client: HostClient, jid: str) -> str:
    return client.call("fetch_avatar", {"jid": jid}, deadline=time.monotonic() + WAIT, connect_wait=WAIT)["jid"]


def main() -> None:
    settings = Settings(_env_file=None)
    forker = HostForker.start("wa-worker-1")
    assert forker is not None
    wait_for(lambda: process_name(forker.pid) == "wa-worker-1/forker", 10)  # it titles itself first
    report: dict = {"me": os.getpid(), "forker": forker.pid, "forker_name": process_name(forker.pid)}
    client = HostClient(settings, 1, forker=forker)
    client.start()
    try:
        report["first_call"] = _call(client, ALICE)
        report["first"] = _host(client)
        try:
            _call(client, "crash@s.whatsapp.net")
        except HostCrashed as crash:
            report["crash"] = {"returncode": crash.returncode, "panic": crash.panic[:60]}
        report["after_crash_call"] = _call(client, ALICE)
        report["second"] = _host(client)
        # Its subreaper reaps what a dead host left (neonize leaves a shell child): only the
        # forker and the live host are its children.
        report["children_after_crash"] = sorted(orphans.children())
        # The forker dies: the host it forked keeps serving, and the next one starts cold.
        os.kill(forker.pid, signal.SIGKILL)
        report["forker_gone"] = wait_for(lambda: _zombie(forker.pid), 10)
        report["survivor_call"] = _call(client, ALICE) and client.pid == report["second"]["pid"]
        try:
            _call(client, "crash@s.whatsapp.net")
        except HostCrashed as crash:
            report["second_crash"] = crash.returncode
        report["cold_call"] = _call(client, ALICE)
        report["cold"] = _host(client)
        report["children_when_cold"] = sorted(orphans.children())
        with open(f"/proc/{client.pid}/cmdline", "rb") as cmdline:
            report["cold_cmdline"] = cmdline.read().replace(b"\0", b" ").decode()
        report["forker_alive"] = forker.alive
    finally:
        client.stop(grace=5)
        if forker.alive:
            forker.close()
    report["children_left"] = sorted(orphans.children())
    print(json.dumps(report), flush=True)


def _zombie(pid: int) -> bool:
    """Dead (a zombie until its wa-worker reaps it) or gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class Alarm(Exception):
    pass


def interrupted() -> None:
    """A request cut short by a signal handler that raises (a job's timeout alarm) while the
    forker is slow (stopped): the forker is retired, no fd is left open, and a late answer can
    never be read as the next request's."""
    fds = len(os.listdir("/proc/self/fd"))
    forker = HostForker.start("wa-worker-1")
    assert forker is not None
    os.kill(forker.pid, signal.SIGSTOP)

    def alarm(_signum, _frame):
        raise Alarm

    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    report: dict = {}
    try:
        forker.fork("wa-worker-1/host", {})
    except Alarm:
        report["interrupted"] = True
    report["alive"] = forker.alive
    report["fds_left"] = len(os.listdir("/proc/self/fd")) - fds
    report["forker_gone"] = _zombie(forker.pid)
    report["children_left"] = sorted(orphans.children())
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    sys.exit(interrupted() if sys.argv[1:] == ["interrupt"] else main())
