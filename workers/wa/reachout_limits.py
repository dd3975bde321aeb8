"""The wa-worker's side of WhatsApp's reach-out limit (error 463; wagw.reachout).

A message WhatsApp refused with its reach-out limit even after the native host's warm-up and
retry (workers/wa/host.py) holds the account's first-contact sends until WhatsApp's end, else
WAGW_REACHOUT_HOLD from now, and fails its job with ReachOutLimited saying until when. The
sends that wait out the hold are wagw.sendorder's: a first contact waits there, holding no
worker, while replies to existing chats go on.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from loguru import logger
from redis.exceptions import RedisError

from wagw import metrics, reachout
from wagw.addresses import masked, person_chat
from wagw.errors import ReachOutLimited

if TYPE_CHECKING:
    from workers.wa.jobs import Runtime


def chat_of(operation: str, params: dict[str, Any]) -> str | None:
    """The person's chat a message goes into; None for anything else."""
    argument = reachout.chat_argument(operation)
    chat = params.get(argument) if argument else None
    return chat if isinstance(chat, str) and person_chat(chat) else None


def limited(runtime: Runtime, operation: str, params: dict[str, Any], error: ReachOutLimited) -> ReachOutLimited:
    """Hold the account's first contacts, and the job's failure saying until when."""
    account = runtime.account.name
    chat = chat_of(operation, params)
    shown = masked(chat) if chat else "its chat"
    now = time.time()
    given = error.until is not None and error.until > now
    until = reachout.hold_end(error.until, runtime.settings.reachout_hold, now)
    try:
        reason = f"WhatsApp refused {operation} to {shown} with error 463"
        until = reachout.hold(runtime.conn, account, until, reason, now)
        metrics.incr(runtime.conn, "reach_out_limits", account=account)
    except RedisError as failed:  # the job still fails as WhatsApp said; only the hold is lost
        logger.error("could not hold account {}'s first-contact sends: {}", account, failed)
    logger.warning(
        "WhatsApp's reach-out limit refused {}: account {}'s first-contact sends held until {}",
        operation,
        account,
        reachout.shown_time(until),
    )
    retried = " after a warm-up and one retry" if chat else ""
    source = "WhatsApp's end" if given else "WhatsApp gave no end: WAGW_REACHOUT_HOLD"
    return ReachOutLimited(
        f"reach-out limit: WhatsApp refused {operation} to {shown} with error 463{retried}; first messages to "
        f"new chats from account {account} are held until {reachout.shown_time(until)} ({source}); replies to "
        "existing chats go on",
        until=until,
    )
