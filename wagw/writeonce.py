"""Writes done once per marker key, in one round trip: the session's store of an inbound event.

The session stores each event with its dedup marker: if the marker is new, set it and write the
event, its deliveries and their bookkeeping, all at once; if not, write nothing (a duplicate).
A WATCH, an EXISTS and a MULTI/EXEC take three round trips; this takes one script call, as
atomic as the transaction: the marker is set with SET NX first, so a refusal (Redis full,
read-only) comes before anything is written, and no other client runs between the check and
the writes. The writes are made by the caller's usual code on a pipeline that is never sent:
its commands become the script's arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis import Redis
    from redis.client import Pipeline

# KEYS[1]: the marker. ARGV[1]: its TTL, then each command as its length and its words.
_WRITE_ONCE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local at = 2
while at <= #ARGV do
  local length = tonumber(ARGV[at])
  redis.call(unpack(ARGV, at + 1, at + length))
  at = at + length + 1
end
return 1
"""
# Commands a script cannot run, or that are not one word: the writes go through a transaction.
_NOT_IN_A_SCRIPT = frozenset({"EVAL", "EVALSHA", "MULTI", "EXEC", "WATCH", "UNWATCH"})

_scripts: dict[int, Any] = {}  # per connection: the script, registered once


def write_once(conn: Redis, marker: str, ttl: int, write: Callable[[Pipeline], None]) -> bool:
    """If `marker` does not exist: set it (value "1", expiring after `ttl` seconds) and make the
    writes `write(pipe)` queues, in one atomic step; True. Otherwise write nothing; False.
    Redis's refusals (full, read-only, unreachable) raise as they would for a transaction,
    with nothing written."""
    with conn.pipeline(transaction=False) as recorder:
        write(recorder)
        commands = [args for args, _options in recorder.command_stack]
        scriptable = not recorder.scripts and all(_one_word(args[0]) for args in commands)
    if not scriptable:
        return _write_once_in_a_transaction(conn, marker, ttl, write)
    script = _scripts.get(id(conn))
    if script is None:
        script = _scripts[id(conn)] = conn.register_script(_WRITE_ONCE)
    arguments: list[Any] = [ttl]
    for args in commands:
        arguments.append(len(args))
        arguments.extend(args)
    return bool(script(keys=[marker], args=arguments))


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
