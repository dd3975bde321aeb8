"""The process table of `wagw run`, built from Settings. Order here is start order."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from wagw import accounts
from wagw.names import webhook_worker_name
from wagw.supervisor.state import ChildSpec

if TYPE_CHECKING:
    from wagw.accounts import Account
    from wagw.config import Settings
    from wagw.supervisor.embedded_redis import EmbeddedRedis

# Lower tiers stop first: inbound before workers, workers before the scheduler, Redis last.
TIER_FRONT, TIER_SESSION, TIER_WORKERS, TIER_SCHEDULER, TIER_REDIS = 0, 1, 2, 3, 9

# Secrets each child does without (docs/security.md): a process that runs jobs apps enqueue,
# or serves HTTP, never holds the key that signs webhooks or the endpoints' credentials.
WEBHOOK_SECRETS = frozenset({"WAGW_WEBHOOK_SECRET", "WAGW_WEBHOOK_URLS"})
DASHBOARD_SECRETS = frozenset({"WAGW_DASHBOARD_PASSWORD"})
DEVICE_SECRETS = frozenset({"WAGW_DEVICE_DB"})
ALL_SECRETS = WEBHOOK_SECRETS | DASHBOARD_SECRETS | DEVICE_SECRETS


def _wagw(*args: str) -> list[str]:
    return [sys.executable, "-m", "wagw", *args]


def build_specs(settings: Settings, redis: EmbeddedRedis | None) -> list[ChildSpec]:
    """Shared children first, then each account's; the front ends last."""
    return shared_specs(settings, redis) + running_account_specs(settings) + front_specs(settings)


def running_account_specs(settings: Settings) -> list[ChildSpec]:
    """The children of every account this daemon runs (what `wagw accounts` changes)."""
    return [spec for account in accounts.running(settings) for spec in account_specs(account)]


def shared_specs(settings: Settings, redis: EmbeddedRedis | None) -> list[ChildSpec]:
    specs: list[ChildSpec] = []
    if redis is not None:
        specs.append(ChildSpec("redis", redis.prepare(), stop_tier=TIER_REDIS, ready=redis.ping))
    specs.append(ChildSpec("scheduler", _wagw("scheduler"), withheld=ALL_SECRETS, stop_tier=TIER_SCHEDULER))
    for n in range(1, settings.webhook_workers + 1):
        specs.append(
            ChildSpec(
                webhook_worker_name(n),
                _wagw("webhook-worker"),
                withheld=DASHBOARD_SECRETS | DEVICE_SECRETS,
                stop_tier=TIER_WORKERS,
            )
        )
    return specs


def account_specs(account: Account) -> list[ChildSpec]:
    """One account's children: its wa-worker slots, then its session."""
    specs = [
        ChildSpec(
            account.wa_worker_process(n),
            _wagw("wa-worker", "--account", account.name, "--slot", str(n)),
            withheld=WEBHOOK_SECRETS | DASHBOARD_SECRETS,
            stop_tier=TIER_WORKERS,
            device_role=account.worker_role(n),
            account=account.name,
        )
        for n in range(1, account.wa_workers + 1)
    ]
    # The session is a leaf that loads neonize; it is started, never forked from.
    specs.append(
        ChildSpec(
            account.session_process,
            _wagw("session", "--account", account.name),
            withheld=DASHBOARD_SECRETS,
            stop_tier=TIER_SESSION,
            device_role=account.session_role,
            account=account.name,
        )
    )
    return specs


def front_specs(settings: Settings) -> list[ChildSpec]:
    specs: list[ChildSpec] = []
    if settings.dashboard_addr:
        specs.append(
            ChildSpec("dashboard", _wagw("dashboard"), withheld=WEBHOOK_SECRETS | DEVICE_SECRETS, stop_tier=TIER_FRONT)
        )
    if settings.metrics_addr:
        specs.append(ChildSpec("metrics", _wagw("metrics"), withheld=ALL_SECRETS, stop_tier=TIER_FRONT))
    return specs
