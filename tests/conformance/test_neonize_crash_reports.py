"""neonize's open crash reports, held against the neonize 0.5.2 wagw runs
(docs/reliability.md, "neonize's crash reports").

- #202: ctypes callbacks that Python frees while Go still calls them. wagw uses neonize's sync
  client, which keeps the current connection's callbacks (client.py connect(): _connect_refs),
  but a second connect() on the same client replaces them; wagw reconnects in-process after an
  event neonize cannot encode, and the old connection's goroutines may still log.
- #207: the log bridge reading a borrowed pointer after the callback returned. neonize 0.5.2's
  log_whatsmeow copies the bytes inside the callback.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conformance.names import ALICE


def test_an_in_process_reconnect_keeps_the_old_connections_callbacks(session):
    assert session.call("watch_callbacks") == 4
    receipt = {"kind": "receipt", "type": "server-error", "ids": ["3EB0B1"], "chat": ALICE, "sender": ALICE}
    dropped = session.call("deliver", specs=[receipt])
    assert dropped["connected"] and not dropped["ended"], dropped
    session.call("watch_callbacks")
    assert session.call("watched_callbacks_alive") == [True] * 8


# Run in a child: the conformance tier never loads neonize into the test process
# (test_process_rules), and importing neonize.utils.log does.
_LOG_BRIDGE = """
import ctypes, importlib, json, logging
from neonize.proto.Neonize_pb2 import LogEntry

seen = []
class Keep(logging.Handler):
    def emit(self, record):
        seen.append(record.getMessage())
whatsmeow = logging.getLogger("whatsmeow.Client")
whatsmeow.addHandler(Keep())
whatsmeow.setLevel(logging.INFO)
neonize_log = importlib.import_module("neonize.utils.log")  # neonize.utils.log is also a Logger's name
record = LogEntry(Name="Client", Level="INFO", Message="keepalive timed out").SerializeToString()
buffer = ctypes.create_string_buffer(record, len(record))
neonize_log.log_whatsmeow(ctypes.addressof(buffer), len(record))
ctypes.memset(buffer, 0xFF, len(record))  # Go reuses the memory once the callback returns
neonize_log._log_queue.join()
print(json.dumps(seen))
"""


def test_the_log_bridge_copies_the_record_inside_the_callback():
    done = subprocess.run([sys.executable, "-c", _LOG_BRIDGE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["keepalive timed out"]
