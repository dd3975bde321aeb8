"""Redis refusing a write, said without the command: redis-py quotes a pipeline's command with
its arguments, which can be a message's text."""

from __future__ import annotations

import pytest
from redis.exceptions import (
    BusyLoadingError,
    ConnectionError,
    ExecAbortError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TimeoutError,
)

from wagw import refusals

BODY = '{"event":"message","payload":{"text":"meet me at noon"}}'
OOM = "command not allowed when used memory > 'maxmemory'."


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            OutOfMemoryError(f"Command # 2 (XADD wagw:events * event {BODY}) of pipeline caused error: {OOM}"),
            "Redis is full (used memory above maxmemory)",
        ),
        (
            ResponseError(f"Error running script (call to f_1): @user_script:3: -OOM {OOM} {BODY}"),
            "Redis is full (used memory above maxmemory)",
        ),
        (ReadOnlyError(f"You can't write against a read only replica. {BODY}"), "Redis is read-only (a replica)"),
        (BusyLoadingError("Redis is loading the dataset in memory"), "Redis is loading its data"),
        (
            ResponseError(f"MISCONF Redis is configured to save RDB snapshots {BODY}"),
            "Redis cannot persist and refuses writes (MISCONF)",
        ),
        (TimeoutError(BODY), "Redis did not answer in time"),
        (ConnectionError(BODY), "Redis is unreachable"),
        (ExecAbortError(BODY), "Redis discarded the transaction"),
        (
            ResponseError(f"WRONGTYPE Operation against a key holding the wrong kind of value {BODY}"),
            "Redis refused the command (ResponseError)",
        ),
    ],
)
def test_the_reason_names_the_refusal_and_never_the_command(error, said):
    assert refusals.reason(error) == said
    assert "noon" not in refusals.reason(error)


def test_every_speaks_once_per_interval():
    now = [100.0]
    every = refusals.Every(10, clock=lambda: now[0])
    assert every.due() and not every.due()
    now[0] += 9.9
    assert not every.due()
    now[0] += 0.2
    assert every.due()
    every.reset()
    assert every.due()
