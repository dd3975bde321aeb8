"""`python -m tests.conformance.child`: a process with neonize loaded and its Go boundary
stubbed (goboundary), running tests/conformance/scenarios.py functions on request.

pytest itself never loads neonize (a process holding the Go runtime must not fork, and the
unit tests check it is absent), so the conformance tests talk to this child: one JSON object
a line on stdin, {"scenario": name, "kwargs": {...}}; one reply a line on a private copy of
stdout, {"ok": result} or {"error": {"type", "message", "traceback"}}. Anything else written
to stdout (the Go library, print) goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def main() -> int:
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from wagw.config import Settings
    from wagw.logs import configure_logging  # before neonize: it calls logging.basicConfig

    configure_logging(Settings(_env_file=None), "conformance", wire=False)
    from tests.conformance import scenarios

    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply = {"ok": getattr(scenarios, request["scenario"])(**request.get("kwargs", {}))}
        except Exception as error:
            reply = {
                "error": {"type": type(error).__name__, "message": str(error), "traceback": traceback.format_exc()}
            }
        replies.write(json.dumps(reply, default=str) + "\n")
    scenarios.stop()
    sys.stderr.flush()
    os._exit(0)  # neonize's threads must not hold the exit


if __name__ == "__main__":
    raise SystemExit(main())
