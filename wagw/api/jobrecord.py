"""A wa job queued by the HTTP API exactly as wagw.client.enqueue queues it, without building
rq's Queue and Job objects for it (a sixth of a call's CPU went into them).

What is written is what rq's Queue.enqueue_call writes for that call, in one transaction:
the queue's key in rq:queues, the job's hash (Job.to_dict's fields and encodings: the
compressed call, its description, the operation's timeout and Retry, wagw's meta) and the
job's id at the end of the queue's list. The arguments are checked by the operation table
(wagw.operations.validate) as wagw.client checks them. tests/unit/test_api_jobrecord.py
compares the writes with wagw.client.enqueue's, field by field.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from rq import Retry

from wagw import keys, operations, rqcompat
from wagw.accounts import queue_of
from wagw.redisconn import SERIALIZER, HashFields

if TYPE_CHECKING:
    from redis.asyncio import Redis as AsyncRedis
    from redis.asyncio.client import Pipeline as AsyncPipeline
    from redis.client import Pipeline

    from wagw.accounts import Account
    from wagw.operations import Operation

# wagw.client.MAX_ARGUMENT_BYTES (the largest legitimate argument is an image as base64);
# tests/unit/test_api_jobrecord.py holds the two equal.
MAX_ARGUMENT_BYTES = 24 * 1024 * 1024
DEFAULTS_META = SERIALIZER.dumps({"wagw_defaults": False})  # wagw.client's meta of every job


def queue_of_account(account: Account) -> str:
    """The first account's jobs go on queue `wa`, which it serves too: its workers wait on that
    queue itself, and look at `wa.<account>` between waits."""
    return keys.WA_QUEUE if account.primary else queue_of(account.name)


@dataclass(frozen=True)
class QueuedJob:
    id: str
    queue: str
    fields: HashFields

    @classmethod
    def of(cls, op: Operation, queue: str, arguments: dict[str, Any]) -> QueuedJob:
        """The job of `op` called with these keyword arguments, or InvalidArguments /
        ValueError (too large) as wagw.client.enqueue raises them."""
        arguments = {name: list(value) if isinstance(value, tuple) else value for name, value in arguments.items()}
        operations.validate(op.name, (), arguments, fake=True)  # fake: the worker re-checks strictly
        size = len(SERIALIZER.dumps([(), arguments]))
        if size > MAX_ARGUMENT_BYTES:
            raise ValueError(f"{op.name}: the arguments take {size} bytes; a job carries at most {MAX_ARGUMENT_BYTES}")
        created = rqcompat.job_time_stamp()
        fields: HashFields = {
            **rqcompat.queued_job_fields(
                queue, timeout=op.timeout, retry=Retry(max=op.retries, interval=[op.interval] * op.retries)
            ),
            "created_at": created,
            "enqueued_at": created,
            "data": zlib.compress(SERIALIZER.dumps((op.path, None, (), arguments))),
            "description": rqcompat.call_description(op.path, arguments),
            "meta": DEFAULTS_META,
        }
        return cls(str(uuid4()), queue, fields)

    def write(self, pipe: Pipeline | AsyncPipeline) -> None:
        """Queue the writes on `pipe` (a transaction: the worker sees the job whole)."""
        rqcompat.enqueue_fields(pipe, self.queue, self.id, self.fields)


class JobWriter:
    """Writes queued jobs to Redis: those queued while the event loop runs one step go in one
    transaction (under load, calls on many connections arrive in the same step: one round
    trip and one send for all of them instead of one each). Each job's writes are whole
    either way; `write` returns once its transaction is done, or raises its error."""

    def __init__(self, aconn: AsyncRedis) -> None:
        self.aconn = aconn
        self._waiting: list[tuple[QueuedJob, asyncio.Future[None]]] = []
        self._sending: set[asyncio.Task[None]] = set()  # held until done (the loop keeps weak references)

    async def write(self, job: QueuedJob) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._send_waiting)
        self._waiting.append((job, done))
        await done

    def _send_waiting(self) -> None:
        batch, self._waiting = self._waiting, []
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[QueuedJob, asyncio.Future[None]]]) -> None:
        try:
            async with self.aconn.pipeline(transaction=True) as pipe:
                for job, _ in batch:
                    job.write(pipe)
                await pipe.execute()
        except BaseException as error:
            for _, done in batch:
                if done.done():
                    continue
                if isinstance(error, Exception):
                    done.set_exception(error)
                else:  # cancelled (the server stopping): so are the calls waiting on it
                    done.cancel()
            if not isinstance(error, Exception):
                raise
        else:
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
