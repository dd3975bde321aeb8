"""The wa-worker's side of sending order and pacing (wagw.sendorder): before a taken send runs,
its chat's order, the account's reach-out hold and pace, and its typing say whether it runs now;
if not, it waits off the queue and the worker takes the next job. At a send's final end, the
next one of its chat is let go.

Every job a worker of the account takes passes here, sends or not: each was ticketed when it
was taken (wagw.rqcompat.TakerQueue.ticket_keys), and a send registers the jobs taken before it
that are not registered yet before it decides (their takers may be slow, or dead).
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from loguru import logger
from redis.exceptions import RedisError

from wagw import operations, rqcompat, sendorder
from wagw.addresses import normalize_target, shown

if TYPE_CHECKING:
    from redis import Redis
    from redis.client import Pipeline
    from rq.job import Job
    from rq.queue import Queue

    from wagw.accounts import Account
    from wagw.config import Settings
    from workers.wa.host_client import HostClient

TYPING_CALL_DEADLINE = 10.0  # seconds for the "typing…" call to the host
TYPING_CONNECT_WAIT = 2.0
MAX_DECISIONS = 20  # a turn that keeps changing hands under one job: decide again at most this often
MAX_CHAT_KEY = 300  # characters of a chat in a Redis key; a longer (batch) target goes by its digest


class SendGate:
    def __init__(self, conn: Redis, settings: Settings, account: Account, host: HostClient | None = None) -> None:
        self.conn = conn
        self.account = account.name
        self.fake = settings.backend == "fake"
        self.gate = sendorder.Gate(conn, account.name, settings)
        self.host = host
        self.chats: dict[str, str] = {}  # job id -> chat, of the admitted sends not yet ended

    # What a job is, for the gate ---------------------------------------------------------------
    def _send_of(self, job: Job) -> tuple[operations.Operation, str, dict[str, Any]] | None:
        """(operation, chat, the arguments by name) of a send whose target reads as an address,
        else None. Only the target is read here, as the argument model reads it: the job
        validates everything when it runs (a bad one fails then, never reaching the backend)."""
        try:
            op = operations.operation_of(job.func_name)
            if op is None or not op.sends or op.target is None:
                return None
            named = dict(zip(op.parameters, job.args, strict=False))
            named.update(job.kwargs)
            target = named.get(op.target)
            if isinstance(target, list):
                chat = ",".join(sorted(normalize_target(t, fake=self.fake) for t in target if isinstance(t, str)))
            elif isinstance(target, str):
                chat = normalize_target(target, fake=self.fake)
            else:
                return None
        except Exception:  # undecodable, or no address: it fails when it runs
            return None
        if len(chat) > MAX_CHAT_KEY:  # a batch target (create_group's participants): its digest
            chat = "sha256:" + hashlib.sha256(chat.encode()).hexdigest()
        return (op, chat, named) if chat else None

    # Before a job runs -------------------------------------------------------------------------
    def admit(self, job: Job, queue: Queue) -> bool:
        """True: run the job now. False: it waits off the queue (or is gone); take another."""
        found = self._send_of(job)
        if found is None:
            return True  # no ordered send: its take ticket is settled when it starts (started())
        op, chat, named = found
        typing = sendorder.typing_seconds(_typing(named.get("typing")), named.get("text"))
        ordered = sendorder.in_order(job.meta)
        for _ in range(MAX_DECISIONS):
            decision = self.gate.admit(job.id, chat, ordered=ordered, typing=typing)
            if decision.kind == sendorder.EARLIER:
                self._register_earlier(decision.earlier or [])
                continue
            if decision.kind == "run":
                self.chats[job.id] = chat
                if job.meta.pop(sendorder.WAITING_FOR, None) is not None:
                    rqcompat.save_meta_field(job)
                return True
            if decision.kind == sendorder.TURN and decision.head and self.gate.head_ended(chat, decision.head):
                logger.warning("job {}: the send before it in its chat ended without letting it go", job.id)
                continue
            if not _valid(op, job, self.fake):  # fails at once when it runs: it waits for nothing
                self.chats[job.id] = chat  # its end lets the chat's next send go
                return True
            if decision.kind == sendorder.TYPING:
                self._show_typing(op, chat, named)
                # shown for `typing` seconds from now, however long the call took
                decision = sendorder.Decision(sendorder.TYPING, until=time.time() + typing)
            parked = self.gate.park(job, queue, decision, chat)
            if parked == "again":
                continue
            logger.debug("job {} waits for {}", job.id, decision.kind)
            return False
        return True  # never seen: the turn changed hands MAX_DECISIONS times under it

    def started(self, job_id: str, pipeline: Pipeline) -> None:
        """In rq's MULTI that starts the job: a job that is no admitted send gives up its take
        ticket there (no round trip of its own); an admitted send keeps it until its final end."""
        if job_id not in self.chats:
            rqcompat.forget_ticket_on(pipeline, self.gate.ticket_keys, job_id)

    def _register_earlier(self, job_ids: list[str | bytes]) -> None:
        """Register jobs taken before the one deciding, for their takers."""
        for job_id, job in zip(job_ids, rqcompat.read_jobs(self.conn, job_ids), strict=True):
            found = None if isinstance(job, rqcompat.Unreadable) else self._send_of(job)
            ordered = found is not None and sendorder.in_order(job.meta)  # type: ignore[union-attr]
            self.gate.register(job_id, found[1] if found is not None and ordered else None)

    def _show_typing(self, op: operations.Operation, chat: str, named: dict[str, Any]) -> None:
        if self.host is None:
            return
        state = "recording" if op.name == "send_audio" and named.get("ptt") is True else "composing"
        try:
            self.host.call(
                "send_chat_presence",
                {"chat": chat, "state": state},
                deadline=time.monotonic() + TYPING_CALL_DEADLINE,
                connect_wait=TYPING_CONNECT_WAIT,
            )
        except Exception as error:  # the send still goes; only the "typing…" is missing
            logger.info("typing before a send to {} not shown: {}", shown(chat), type(error).__name__)

    # After a job ran ---------------------------------------------------------------------------
    def ended(self, job: Job, went_out: bool, final: bool, pipeline: Pipeline | None = None) -> None:
        """The job's attempt ended; at its final end a send lets the next of its chat go (on
        `pipeline`, rq's MULTI recording the end, when given)."""
        chat = self.chats.pop(job.id, None)
        if chat is None or not final:
            return
        try:
            sendorder.end_send(self.conn, self.account, job.id, chat, went_out, pipeline=pipeline)
        except RedisError as error:  # the next send is looked at again within SAFETY_RECHECK
            logger.warning("job {}: the next send of its chat not let go: {}", job.id, error)


def _valid(op: operations.Operation, job: Job, fake: bool) -> bool:
    """Whether the job runs (rq does not refuse it: rqcompat.confine_jobs) and its arguments
    pass their validation. Asked only before a send would wait (one that runs now is checked
    as it runs): a job that fails so fails at once, never after a wait."""
    try:
        if rqcompat.refusal(job, operations.JOB_PATHS) is not None:
            return False
        operations.validate(op.name, job.args, job.kwargs, fake=fake)
    except Exception:  # InvalidArguments, or undecodable: rq fails it when it runs
        return False
    return True


def _typing(value: object) -> bool | float | None:
    """`typing` as the argument model takes it (True, or seconds); anything else: none (a bad
    value fails the job's validation when it runs)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and 0 <= value <= sendorder.TYPING_MAX:
        return float(value)
    return None
