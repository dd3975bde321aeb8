"""Writes done once per marker key, in one round trip: the session's store of inbound events.

The session stores each event with its dedup marker: if the marker is new, set it and write the
event, its deliveries and their bookkeeping, all at once; if not, write nothing (a duplicate).
A WATCH, an EXISTS and a MULTI/EXEC take three round trips; this takes one script call, as
atomic as the transaction, and one call stores several events (a batch), each once: the
markers are set with SET NX, each before its event's writes, so a duplicate within the batch
(or of an earlier one) writes nothing. Redis refuses a script (full, read-only) only at its
first write, the first marker, so a refused call has written nothing at all: a batch is stored
whole or not at all, and its events stay in order. The writes are made by the caller's usual
code on a pipeline that is never sent: its commands become the script's arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis import Redis
    from redis.client import Pipeline

# KEYS: the markers, one per item. ARGV[1]: their TTL; then per item the number of words
# that follow for it, then each of its commands as its length and its words.
_WRITE_ONCE = """
local stored = {}
local at = 2
for item = 1, #KEYS do
  local last = at + tonumber(ARGV[at])
  at = at + 1
  if redis.call('SET', KEYS[item], '1', 'NX', 'EX', ARGV[1]) then
    while at <= last do
      local length = tonumber(ARGV[at])
      redis.call(unpack(ARGV, at + 1, at + length))
      at = at + length + 1
    end
    stored[item] = 1
  else
    stored[item] = 0
  end
  at = last + 1
end
return stored
"""
# Commands a script cannot run, or that are not one word: the writes go through a transaction.
_NOT_IN_A_SCRIPT = frozenset({"EVAL", "EVALSHA", "MULTI", "EXEC", "WATCH", "UNWATCH"})

_scripts: dict[int, Any] = {}  # per connection: the script, registered once


@dataclass(slots=True)
class Writes:
    """One item: its marker, what `write` queues for it, and those commands as the script's
    words (their count first), or None when they cannot run in a script."""

    marker: str
    write: Callable[[Pipeline], None]
    words: list[Any] | None


def record(conn: Redis, marker: str, write: Callable[[Pipeline], None]) -> Writes:
    """The commands `write(pipe)` queues, recorded (nothing is sent)."""
    with conn.pipeline(transaction=False) as recorder:
        write(recorder)
        commands = [args for args, _options in recorder.command_stack]
        if recorder.scripts or not all(_one_word(args[0]) for args in commands):
            return Writes(marker, write, None)
    words: list[Any] = [0]
    for args in commands:
        words.append(len(args))
        words.extend(args)
    words[0] = len(words) - 1
    return Writes(marker, write, words)


def write_once(conn: Redis, marker: str, ttl: int, write: Callable[[Pipeline], None]) -> bool:
    """If `marker` does not exist: set it (value "1", expiring after `ttl` seconds) and make the
    writes `write(pipe)` queues, in one atomic step; True. Otherwise write nothing; False.
    Redis's refusals (full, read-only, unreachable) raise as they would for a transaction,
    with nothing written."""
    done: list[bool] = []
    write_once_many(conn, ttl, [record(conn, marker, write)], done)
    return done[0]


def write_once_many(conn: Redis, ttl: int, items: Sequence[Writes], done: list[bool]) -> None:
    """write_once for each item, in order: appends to `done` whether each was written (False:
    its marker existed). Consecutive items that can run in a script go in one call, atomic as
    a whole (one round trip for all); any other item goes through a transaction of its own.
    A refusal raises with `done` holding the items written before it: the rest are unwritten
    and may be tried again, in the same order."""
    at = 0
    while at < len(items):
        if items[at].words is None:
            done.append(_write_once_in_a_transaction(conn, items[at].marker, ttl, items[at].write))
            at += 1
            continue
        end = at
        while end < len(items) and items[end].words is not None:
            end += 1
        run = items[at:end]
        arguments: list[Any] = [ttl]
        for item in run:
            arguments.extend(item.words)  # type: ignore[arg-type]  # not None: the run holds scriptable items
        done.extend(bool(stored) for stored in _script(conn)(keys=[item.marker for item in run], args=arguments))
        at = end


def _script(conn: Redis) -> Any:
    script = _scripts.get(id(conn))
    if script is None:
        script = _scripts[id(conn)] = conn.register_script(_WRITE_ONCE)
    return script


def _one_word(name: object) -> bool:
    text = name.decode() if isinstance(name, bytes) else str(name)
    return " " not in text and text.upper() not in _NOT_IN_A_SCRIPT


def _write_once_in_a_transaction(conn: Redis, marker: str, ttl: int, write: Callable[[Pipeline], None]) -> bool:
    """write_once's result with WATCH, EXISTS and MULTI/EXEC (three round trips)."""
    from redis import WatchError

    with conn.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(marker)
            if pipe.exists(marker):
                return False
            pipe.multi()
            pipe.set(marker, "1", ex=ttl)
            write(pipe)
            pipe.execute()
            return True
        except WatchError:
            return False  # someone wrote the same marker between our check and EXEC
