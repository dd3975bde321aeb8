"""`python -m tests.conformance.session_host`: the real `wagw session` process, with neonize's
Go boundary stubbed (goboundary) instead of a network.

Inbound whatsmeow events are read as JSON specs (whatsmeow.encode) from the Redis list
`wagw:conformance:inbound` and dispatched by the stubbed connection, through neonize's own
Event.execute, into the session's real handler, sink and Redis. Everything after
`wagw.cli.main(["session"])` is the production code path.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

INBOUND_KEY = "wagw:conformance:inbound"


def _feed(world) -> None:
    from redis import Redis

    from tests.conformance import whatsmeow

    conn = Redis.from_url(os.environ["WAGW_REDIS_URL"])
    while True:
        popped = conn.blpop([INBOUND_KEY], timeout=1)
        if popped is None:
            continue
        code, event = whatsmeow.encode(json.loads(popped[1]))
        world.inbound.put((code, event, threading.Event()))
        time.sleep(0.05)  # one at a time, as whatsmeow's handler would hand them over


def main() -> int:
    from tests.conformance import goboundary, whatsmeow

    boundary = goboundary.Boundary(whatsmeow.standard_world()).install()
    threading.Thread(target=_feed, args=(boundary.world,), name="conformance-feed", daemon=True).start()
    from wagw.cli import main as wagw_main

    return wagw_main(["session"])


if __name__ == "__main__":
    sys.exit(main())
