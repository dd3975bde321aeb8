"""A synthetic paired device: a real whatsmeow sqlite store (its schema made by neonize itself)
holding one made-up device row. neonize accepts it and fails at the network, as a paired device
does offline; the tests and bench/footprint.py --neonize run the real backend on it.

The store is made in a child process: the driver never loads the Go runtime itself.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

SESSION_JID = "15550001111:7@s.whatsapp.net"
WORKER_JID = "15550001111:8@s.whatsapp.net"

_MAKE_SCHEMA = "import sys; from wagw.whatsapp.device_store import stored_devices; print(stored_devices(sys.argv[1]))"


class StoreError(AssertionError):
    """neonize could not make the store's schema. An AssertionError, as chaos.daemon.DaemonError:
    a test expects none."""


def make_paired_store(path: Path, jid: str, env: dict[str, str], timeout: float = 60) -> None:
    """A whatsmeow store at `path` holding one synthetic device `jid`; `env` is the child's
    environment (wagw importable, neonize installed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(
        [sys.executable, "-c", _MAKE_SCHEMA, str(path)], env=env, capture_output=True, text=True, timeout=timeout
    )
    if made.returncode != 0 or made.stdout.strip() != "[]":
        raise StoreError(f"no empty whatsmeow store at {path} (exit {made.returncode}):\n{made.stderr[-2000:]}")
    rnd = os.urandom
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "insert into whatsmeow_device (jid, registration_id, noise_key, identity_key, signed_pre_key,"
            " signed_pre_key_id, signed_pre_key_sig, adv_key, adv_details, adv_account_sig, adv_account_sig_key,"
            " adv_device_sig, push_name) values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (jid, 1234, rnd(32), rnd(32), rnd(32), 1, rnd(64), rnd(32), b"", rnd(64), rnd(32), rnd(64), "wagw test"),
        )
