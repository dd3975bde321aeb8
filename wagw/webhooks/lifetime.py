"""How long a sealed delivery job may be sent: the seal's age limit.

A delivery job's arguments and seal can be copied by whoever reads Redis, and enqueued again
later. The seal carries the time the session made it (wagw/webhooks/signing.py), and a webhook
worker sends a job only while its seal is younger than `seal_lifetime`: long enough for every
legitimate way a delivery is sent (its retries, the failed registry's retention and a
`wagw webhooks replay` with a fresh retry schedule), never longer. The delivered marker and the
attempt counter of an (endpoint, event) are kept until the seal expires, so a copy enqueued
while the seal is valid is caught as a duplicate, or continues the attempt count.

v1 seals (from a wagw before the time was sealed) say nothing about their age. Deliveries
queued at the upgrade must not be lost, so a v1 seal is accepted for one lifetime after this
host first ran a wagw that seals the time: that moment is kept in the data dir, which apps with
Redis access cannot write. After it, a v1 seal is refused.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from pathlib import Path

    from wagw.config import Settings
    from wagw.webhooks.signing import Seal

DAY = 86_400
# Each retry waits its schedule step +-25 % (workers/webhooks/policy.py draws it), so that
# deliveries that failed together (an endpoint outage) come back spread out.
JITTER = 0.25
# When this host first ran a wagw that seals the time (unix seconds), in the data dir.
SINCE_FILE = "webhook-seals-timed-since"


def retry_window(settings: Settings) -> int:
    """Seconds from a delivery's first attempt to its last, at most (jitter included)."""
    return math.ceil(sum(settings.retry_intervals) * (1 + JITTER))


def seal_lifetime(settings: Settings) -> int:
    """Seconds a seal stays valid: the first run's retries, the failed registry's retention, a
    replay's whole retry schedule, and a day for waits that spend no attempt (deferrals,
    Retry-After floors, a media download)."""
    return 2 * retry_window(settings) + settings.webhook_failure_ttl + DAY


def timed_seals_since(data_dir: Path, now: float | None = None) -> float:
    """When this host first ran a wagw that seals the time: read from the data dir, written
    there (first writer wins) if absent. 0 if it can be neither read nor written: v1 seals are
    then refused rather than accepted without a bound."""
    path = data_dir / SINCE_FILE
    try:
        return float(path.read_text().strip())
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as error:
        logger.warning("{} is unreadable ({}): deliveries sealed by an older wagw are refused", path, error)
        return 0.0
    temporary = data_dir / f".{SINCE_FILE}.{os.getpid()}.tmp"
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary.write_text(f"{int(time.time() if now is None else now)}\n")
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)  # never replaces an existing record
        return float(path.read_text().strip())
    except (OSError, ValueError) as error:
        logger.warning("cannot record {} ({}): deliveries sealed by an older wagw are refused", path, error)
        return 0.0
    finally:
        temporary.unlink(missing_ok=True)


def expires_at(settings: Settings, seal: Seal, timed_since: float, span: int | None = None) -> float:
    """Unix time after which a job with this seal is refused (and its delivered marker and
    attempt counter may go). `timed_since`: timed_seals_since(), for v1 seals; `span`:
    seal_lifetime(settings), if the caller keeps it."""
    start = seal.sealed_at if seal.sealed_at is not None else timed_since
    return start + (seal_lifetime(settings) if span is None else span)


def keep_seconds(expiry: float, at_least: int = 1, now: float | None = None) -> int:
    """A key's TTL that lasts until `expiry`, and at least `at_least` seconds."""
    current = time.time() if now is None else now
    return max(at_least, math.ceil(expiry - current))


def refusal(seal: Seal, expiry: float, now: float | None = None) -> str | None:
    """Why a job with this (matching) seal is too old to send, or None."""
    current = time.time() if now is None else now
    if current < expiry:
        return None
    if seal.sealed_at is None:
        return (
            "sealed by an older wagw that did not seal the time, and queued longer than a delivery "
            "is kept since this host's upgrade: a copy of an old job"
        )
    days = (current - seal.sealed_at) / DAY
    return (
        f"sealed {days:.0f} days ago, longer than a delivery is kept (retries, failed registry, replay): "
        "a copy of an old job"
    )
