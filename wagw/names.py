"""Process names and device roles: how each is spelled, in one place.

Both are public: process names appear in `wagw status`, the log tags and the crash records;
device roles in `wagw pair --role`, the Redis keys and the device store file names. A
wa-worker slot N is the process `wa-worker-N` (with its native host `wa-worker-N/host`) and
holds the linked device `worker-N`; the session is `session` in both.
"""

from __future__ import annotations

import re

SESSION = "session"  # the session's process name and its device role

_WORKER_ROLE = re.compile(r"worker-([1-9][0-9]*)")


def worker_role(slot: int) -> str:
    """The device role of wa-worker slot `slot`."""
    return f"worker-{slot}"


def slot_of_role(role: str) -> int | None:
    """The wa-worker slot a device role belongs to; None for the session or anything else."""
    match = _WORKER_ROLE.fullmatch(role)
    return int(match.group(1)) if match else None


def device_roles(wa_workers: int) -> list[str]:
    """Every device role of an install with `wa_workers` slots, the session first."""
    return [SESSION, *(worker_role(slot) for slot in range(1, wa_workers + 1))]


def wa_worker_name(slot: int) -> str:
    return f"wa-worker-{slot}"


def host_name(slot: int) -> str:
    """The native host of a slot is named after its wa-worker: its log lines and crashes show whose it is."""
    return f"{wa_worker_name(slot)}/host"


def webhook_worker_name(n: int) -> str:
    return f"webhook-worker-{n}"


def pairing_name(role: str) -> str:
    """The child `wagw pair` runs for one role."""
    return f"pair-{role}"
