"""The webhook worker: the job `workers.webhooks.deliver` (public path), the batched worker
process that runs it, its per-endpoint lanes, retry policy and HTTP client."""

from wagw.errors import DeliveryError, DeliveryFailed, DeliveryRetry
from workers.webhooks.delivery import deliver

__all__ = ["DeliveryError", "DeliveryFailed", "DeliveryRetry", "deliver"]
