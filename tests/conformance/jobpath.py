"""One wa job's path through wagw, minus RQ and the pipes: what `workers.wa.<op>` does.

The wa-worker validates the arguments (wagw.operations), turns a media argument into bytes
(workers.wa.media), and sends the call to its native host; the host runs it on its backend
(workers.wa.host.Host._execute) and replies with JSON; the wa-worker turns the reply into
the result or the exception the job fails with (HostClient._result). This module runs
exactly those pieces in one process, for either backend. It never imports neonize itself.
"""

from __future__ import annotations

import io
import json
from typing import Any

from wagw import operations
from workers.wa import downloads, media
from workers.wa.host import Host
from workers.wa.host_client import HostClient


def run_job(settings: Any, backend: Any, op: str, kwargs: dict[str, Any], *, fake_names: bool = False) -> Any:
    """The job's result, or the exception a `workers.wa.<op>` job would fail with.

    `fake_names` accepts the fake backend's special user parts (nopic, fail, …) with either
    backend, so the same scenario can run against both (test_parity)."""
    fake = settings.backend == "fake" or fake_names
    params = operations.validate(op, (), kwargs, fake=fake).model_dump()
    for name in operations.WORKER_ARGUMENTS:  # acted on by the wa-worker, never sent to the host
        params.pop(name, None)
    if op in media.MEDIA:
        params = media.prepare(op, params, settings, None)
    reply = Host(settings, 1, io.StringIO(), io.StringIO())._execute(backend, 1, op, params)
    reply = json.loads(json.dumps(reply, default=str))  # as it crosses the pipe
    result = HostClient(settings, 1)._result(reply)
    if op == "download_media":  # the wa-worker stores the bytes (workers.wa.jobs.run)
        result = downloads.store(result, params["media"], settings)
    return result


def outcome(call: Any) -> dict[str, Any]:
    """{"result": …} or {"error": class name, "module", "message", "retried": bool} of a call."""
    try:
        return {"result": call()}
    except Exception as error:
        return {
            "error": type(error).__name__,
            "module": type(error).__module__,
            "message": str(error),
            "permanent": bool(getattr(error, "permanent", False)),
            "exit_code": int(getattr(error, "exit_code", -1)),
        }
