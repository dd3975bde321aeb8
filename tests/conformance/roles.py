"""One account's session and worker slot on both backends, for findings where what the session
saw decides what a later send does (the call an offer came from, a chat's disappearing timer).

The neonize side runs in the conformance child, one role at a time (one neonize client per
process, as in wagw), on real whatsmeow stores; the fake side in this process. Both share the
test's Redis, where the session notes what sends read.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.conformance.jobpath import outcome, run_job
from tests.conformance.names import DEVICE
from wagw import keys
from wagw.whatsapp.fake import FakeBackend


class NeonizeAccount:
    """The child's session and worker-1 of one data dir: stores made once, connected on demand."""

    def __init__(self, go: Any, data_dir: Any, redis_url: str):
        self.go, self.data_dir, self.redis_url = go, data_dir, redis_url
        for role in ("session", "worker-1"):
            path = data_dir / "devices" / f"{role}.sqlite3"
            go.call("make_store", path=str(path), devices=[[DEVICE, "wagw", ""]])

    def deliver(self, *specs: dict) -> list[dict]:
        """The session receives these whatsmeow events (whatsmeow.encode specs): their bodies."""
        connected = self.go.call(
            "connect", data_dir=str(self.data_dir), role="session", redis_url=self.redis_url, inbound=True
        )
        assert connected["connected"], connected
        delivered = self.go.call("deliver", specs=[{"unix": int(time.time()), **spec} for spec in specs])
        assert not delivered["stub_errors"] and delivered["connected"], delivered
        return [json.loads(body) for body in delivered["events"]]

    def job(self, op: str, **kwargs: Any) -> dict:
        """A job on worker-1 (connected if it is not yet)."""
        connected = self.go.call("connect", data_dir=str(self.data_dir), role="worker-1", redis_url=self.redis_url)
        assert connected["connected"], connected
        done = self.go.call("job", op=op, kwargs=kwargs)
        assert not done.pop("stub_errors"), "a stub raised"
        return done


class FakeAccount:
    """The fake backend's session and worker-1, on the test's Redis."""

    def __init__(self, settings: Any, conn: Any):
        self.settings, self.conn = settings, conn

    def deliver(self, *controls: dict, timeout: float = 10.0) -> list[dict]:
        """The fake session takes these control messages (SPEC's fake inbound): the events."""
        seen: list[Any] = []
        session = FakeBackend(self.settings, "session")
        session.start(seen.append)
        try:
            self.conn.rpush(keys.FAKE_INBOUND, *[json.dumps(control) for control in controls])
            deadline = time.monotonic() + timeout
            while len(seen) < len(controls) and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            session.stop()
            session.wait()
        assert len(seen) == len(controls), f"the fake session handled {len(seen)} of {len(controls)}"
        return [event.payload for event in seen]

    def job(self, op: str, **kwargs: Any) -> dict:
        return outcome(lambda: run_job(self.settings, FakeBackend(self.settings, "worker-1"), op, kwargs))

    def sent(self, op: str) -> list[dict]:
        """The arguments the fake recorded for each `op` call, oldest first."""
        records = [json.loads(raw) for raw in self.conn.lrange(keys.FAKE_SENT, 0, -1)]
        return [record["args"] for record in records if record["op"] == op]
