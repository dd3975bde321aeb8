"""The process table of `wagw run`, built from Settings. Order here is start order."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from wagw import accounts
from wagw.names import webhook_worker_name
from wagw.supervisor.embedded_redis import environment
from wagw.supervisor.forking import FORK_SERVER, server_argv
from wagw.supervisor.grants import granted
from wagw.supervisor.state import ChildSpec

if TYPE_CHECKING:
    from collections.abc import Callable

    from wagw.accounts import Account
    from wagw.config import Settings
    from wagw.supervisor.embedded_redis import EmbeddedRedis

# Lower tiers stop first: inbound before workers, workers before the scheduler, Redis last.
TIER_FRONT, TIER_SESSION, TIER_WORKERS, TIER_SCHEDULER, TIER_REDIS = 0, 1, 2, 3, 9


def _wagw(*args: str) -> list[str]:
    return [sys.executable, "-m", "wagw", *args]


def _child(
    settings: Settings,
    name: str,
    command: str,
    *args: str,
    stop_tier: int,
    account: str | None = None,
    device_role: str | None = None,
) -> ChildSpec:
    """A child running `wagw <command>`, given the secrets its command's row grants."""
    return ChildSpec(
        name,
        _wagw(command, *args),
        env=granted(settings, command, account),
        stop_tier=stop_tier,
        device_role=device_role,
        account=account,
    )


def build_specs(
    settings: Settings, redis: EmbeddedRedis | None, roster: accounts.Roster | None = None
) -> list[ChildSpec]:
    """Shared children first, then each account's; the front ends last."""
    return shared_specs(settings, redis) + running_account_specs(settings, roster) + front_specs(settings)


def running_account_specs(settings: Settings, roster: accounts.Roster | None = None) -> list[ChildSpec]:
    """The children of every account this daemon runs (what `wagw accounts` changes)."""
    roster = roster or accounts.Roster.load(settings)
    return [spec for account in roster.running for spec in account_specs(settings, account)]


def shared_specs(settings: Settings, redis: EmbeddedRedis | None) -> list[ChildSpec]:
    specs: list[ChildSpec] = []
    if redis is not None:
        specs.append(
            ChildSpec(
                "redis",
                redis.prepare(),
                env=environment(),
                inherit_env=False,
                stop_tier=TIER_REDIS,
                ready=redis.ready,  # PING, then the socket to WAGW_REDIS_SOCKET_GROUP if set
            )
        )
    specs.append(_child(settings, "scheduler", "scheduler", stop_tier=TIER_SCHEDULER))
    # The history store's writer: stops after the workers, so that their last outcomes are in.
    specs.append(_child(settings, "history", "history-writer", stop_tier=TIER_SCHEDULER))
    for n in range(1, settings.webhook_workers + 1):
        specs.append(_child(settings, webhook_worker_name(n), "webhook-worker", stop_tier=TIER_WORKERS))
    return specs


def account_specs(settings: Settings, account: Account) -> list[ChildSpec]:
    """One account's children: its wa-worker slots, then its session."""
    specs = [
        _child(
            settings,
            account.wa_worker_process(n),
            "wa-worker",
            "--account",
            account.name,
            "--slot",
            str(n),
            account=account.name,
            stop_tier=TIER_WORKERS,
            device_role=account.worker_role(n),
        )
        for n in range(1, account.wa_workers + 1)
    ]
    # The session is a leaf that loads neonize (after its fork, when forked): never forked from.
    specs.append(
        _child(
            settings,
            account.session_process,
            "session",
            "--account",
            account.name,
            account=account.name,
            stop_tier=TIER_SESSION,
            device_role=account.session_role,
        )
    )
    return specs


def fork_server_spec(ready: Callable[[], bool] | None = None) -> ChildSpec:
    """The fork server (wagw.forkserver): granted no secret; running once it said it is ready
    (`ready`: ForkServer.is_ready); stops with the scheduler."""
    return ChildSpec(FORK_SERVER, server_argv(), stop_tier=TIER_SCHEDULER, ready=ready)


def front_specs(settings: Settings) -> list[ChildSpec]:
    specs: list[ChildSpec] = []
    if settings.dashboard_addr:
        specs.append(_child(settings, "dashboard", "dashboard", stop_tier=TIER_FRONT))
    if settings.metrics_addr:
        specs.append(_child(settings, "metrics", "metrics", stop_tier=TIER_FRONT))
    if settings.api_addr:
        specs.append(_child(settings, "api", "api", stop_tier=TIER_FRONT))
    return specs
