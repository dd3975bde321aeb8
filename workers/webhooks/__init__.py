"""The webhook worker: the job `workers.webhooks.deliver` (public path), the batched worker
process that runs it, its per-endpoint lanes, retry policy and HTTP client."""

from workers.webhooks.delivery import DeliveryError, DeliveryFailed, DeliveryRetry, deliver

__all__ = ["DeliveryError", "DeliveryFailed", "DeliveryRetry", "deliver"]
