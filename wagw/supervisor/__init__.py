"""`wagw run`: the parent supervisor. Pure Python; it never imports neonize.

Before anything starts, with WAGW_BACKEND=neonize, a spawned child checks that neonize loads
(wagw.whatsapp.probe, the same check as `wagw doctor`): if it does not, wagw refuses to start
with one line saying why and what to install, and exit 78 (not retried by systemd).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from loguru import logger
from redis import Redis

from wagw import accounts, keys
from wagw.config import SETTINGS_FROM_PARENT, env_file_variables
from wagw.errors import RedisServerError
from wagw.exitcodes import ExitCode
from wagw.logs import console
from wagw.supervisor import orphans
from wagw.supervisor.children import build_specs, fork_server_spec, running_account_specs
from wagw.supervisor.core import Supervisor
from wagw.supervisor.devicerequests import DeviceRequests
from wagw.supervisor.embedded_redis import EmbeddedRedis
from wagw.supervisor.forking import ForkingLauncher
from wagw.supervisor.grants import granted, without_secrets
from wagw.supervisor.osapi import MonotonicClock, OsLauncher
from wagw.supervisor.reconcile import AccountWatch
from wagw.supervisor.state import Child, RestartPolicy
from wagw.supervisor.terminal import TerminalPairing, on_terminal
from wagw.whatsapp.probe import probe

if TYPE_CHECKING:
    import argparse

    from wagw.config import Settings


# Seconds the start check may take to load neonize in its child (about half a second).
NEONIZE_CHECK_TIMEOUT = 20.0


def neonize_problem(settings: Settings) -> str | None:
    """Why the configured backend cannot work here, or None. neonize is loaded in a spawned
    child (the check `wagw doctor` makes), never in the supervisor."""
    if settings.backend != "neonize":
        return None
    found = probe(timeout=NEONIZE_CHECK_TIMEOUT)
    return None if found.loaded else found.line()


def main(settings: Settings, args: argparse.Namespace | None = None) -> int:
    problem = neonize_problem(settings)
    if problem is not None:
        logger.error("wagw run: {} (WAGW_BACKEND=neonize; `wagw doctor` checks everything)", problem)
        return ExitCode.CONFIG
    redis = (
        EmbeddedRedis(settings.data_dir, settings.redis_max_memory_mb, settings.redis_socket_group)
        if settings.embedded_redis
        else None
    )
    # Children get their settings from this environment alone, the env file's included; each
    # only the secrets its row in wagw.supervisor.grants gives it.
    env = {**env_file_variables(os.environ), **os.environ, SETTINGS_FROM_PARENT: "1"}
    env.update({"WAGW_LOG_WIRE": "1", "PYTHONUNBUFFERED": "1", "WAGW_REDIS_URL": settings.effective_redis_url})
    if settings.run_accounts:  # `--accounts`: the children know which share of the work is theirs
        env["WAGW_RUN_ACCOUNTS"] = ",".join(settings.run_accounts)
    clock = MonotonicClock()
    launcher: OsLauncher = OsLauncher(env)
    policy = RestartPolicy()
    roster = accounts.Roster.load(settings)
    try:
        specs = build_specs(settings, redis, roster)
    except RedisServerError as error:  # e.g. WAGW_REDIS_SOCKET_GROUP names a group wagw is not in
        logger.error("wagw run: {}", error)
        return ExitCode.CONFIG
    # The pure-Python children forked from a warmed fork server (wagw.forkserver), which needs
    # them to be this process's children: it becomes their subreaper.
    subreaper = settings.fork_server and orphans.become_subreaper()
    if subreaper:
        forking = ForkingLauncher(env)
        launcher = forking
        specs.insert(1 if redis is not None else 0, fork_server_spec(forking.server.is_ready))  # Redis first
    elif settings.fork_server:
        logger.warning("wagw run: no fork server (this kernel makes no subreaper); every child starts cold")
    children = [Child(spec, policy, launcher, clock) for spec in specs]
    # Each change of the accounts file loads the roster again (wagw.supervisor.reconcile).
    watch = AccountWatch(settings, lambda: running_account_specs(settings))
    status_redis = Redis.from_url(settings.effective_redis_url, socket_timeout=1, socket_connect_timeout=1)
    # First contact: somebody at a terminal is asked to pair what is unpaired; under systemd
    # an unpaired device waits for `wagw pair` (docs/session.md, pairing).
    pairing_env = {**without_secrets(env), **granted(settings, "pair")}
    pairing = TerminalPairing(pairing_env, console()) if on_terminal() else None
    running = [account.name for account in roster.running]
    status_key = (
        keys.SUPERVISOR_STATUS_OF.format(accounts=",".join(settings.run_accounts))
        if settings.run_accounts
        else keys.SUPERVISOR_STATUS
    )
    supervisor = Supervisor(
        children,
        clock=clock,
        grace=settings.shutdown_grace,
        status_redis=status_redis,
        pairing=pairing,
        status_key=status_key,
        accounts=running,
        watch=watch,
        make_child=lambda spec: Child(spec, policy, launcher, clock),
        crash_days=settings.crash_days,
        device_requests=DeviceRequests(status_redis, pairing_env, settings.shutdown_grace),
        subreaper=subreaper,
    )
    return supervisor.run()
