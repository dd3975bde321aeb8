"""`wagw run`: the parent supervisor. Pure Python; it never imports neonize."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from redis import Redis

from wagw.supervisor.children import build_specs
from wagw.supervisor.core import Supervisor
from wagw.supervisor.embedded_redis import EmbeddedRedis
from wagw.supervisor.osapi import MonotonicClock, OsLauncher
from wagw.supervisor.state import Child, RestartPolicy

if TYPE_CHECKING:
    import argparse

    from wagw.config import Settings


def main(settings: Settings, args: argparse.Namespace | None = None) -> int:
    redis = EmbeddedRedis(settings.data_dir, settings.redis_max_memory_mb) if settings.embedded_redis else None
    env = dict(os.environ)
    env.update({"WAGW_LOG_WIRE": "1", "PYTHONUNBUFFERED": "1", "WAGW_REDIS_URL": settings.effective_redis_url})
    clock = MonotonicClock()
    launcher = OsLauncher(env)
    policy = RestartPolicy()
    children = [Child(spec, policy, launcher, clock) for spec in build_specs(settings, redis)]
    status_redis = Redis.from_url(settings.effective_redis_url, socket_timeout=1, socket_connect_timeout=1)
    supervisor = Supervisor(children, clock=clock, grace=settings.shutdown_grace, status_redis=status_redis)
    return supervisor.run()
