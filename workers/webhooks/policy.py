"""What one delivery attempt's result means, and when to try again (SPEC "Delivery").

2xx: delivered. Network errors, timeouts, 408, 429 and 5xx: try again after the next step
of the schedule (settings.webhook_retry_schedule), jittered, and never sooner than the
endpoint's Retry-After. Anything else (other 4xx, a redirect): failed at once, because
sending the same request again would get the same answer.

Pure functions: both the batch worker and `deliver` under a stock RQ worker use them.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum

from wagw.logs import escape_controls
from wagw.webhooks.lifetime import JITTER  # how far a retry's wait strays from its step

# What of an endpoint's reply operators see (job meta, failure text, the dashboard): enough
# to tell why it refused, not a place for whatever it chooses to send back.
SNIPPET_CHARS = 200
# Retry-After is honoured up to the schedule's longest step, and at least up to an hour.
RETRY_AFTER_CAP = 3600.0


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """One HTTP attempt: a status, or an error when no response came."""

    status: int | None
    latency: float  # seconds
    error: str | None = None
    retry_after: float | None = None  # seconds, from the response's Retry-After
    snippet: str = ""  # the start of the response body (never headers), for the failed registry

    @property
    def verdict(self) -> Verdict:
        return classify(self.status)

    def describe(self) -> str:
        what = f"HTTP {self.status}" if self.status is not None else (self.error or "no response")
        return f"{what} in {self.latency * 1000:.0f} ms"


def classify(status: int | None) -> Verdict:
    """None means no response at all (connection refused, reset, timeout)."""
    if status is None:
        return Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status in (408, 429) or status >= 500:
        return Verdict.RETRY
    return Verdict.FAILED


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def retry_delay(
    schedule: list[float], failed_attempt: int, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Seconds to wait after attempt number `failed_attempt` (1-based) failed.

    The schedule step for that attempt, jittered; at least Retry-After, which is capped
    (RETRY_AFTER_CAP or the longest step) so an endpoint cannot park a delivery for ever.
    """
    step = schedule[min(max(failed_attempt, 1), len(schedule)) - 1]
    delay = step * (rng or random).uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(RETRY_AFTER_CAP, *schedule)))
    return delay


def due_timestamp(delay: float, now: float | None = None) -> int:
    """The whole second at which a job scheduled `delay` seconds from now becomes due.

    RQ scores scheduled jobs in whole seconds and releases a job once that second has
    begun, so rounding up keeps "not before `delay`" true (Retry-After: 2 means >= 2 s).
    """
    current = time.time() if now is None else now
    return math.ceil(current + delay)


def snippet(text: str) -> str:
    """At most SNIPPET_CHARS of `text` on one line, control characters escaped: a peer's reply
    must not be able to forge log lines or rewrite a terminal showing it."""
    text = escape_controls(" ".join(text.split()))
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"
