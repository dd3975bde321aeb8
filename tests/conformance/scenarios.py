"""What the conformance child runs, one function per request (tests/conformance/child.py).

The child has loaded neonize and installed the Go boundary (goboundary). State lives here:
one World, one Boundary, and the backend the last `connect` started (one neonize client per
process, as in wagw). Every function takes and returns JSON values.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sqlite3
import threading
import time
from typing import Any

from google.protobuf import json_format
from loguru import logger

from tests.conformance import goboundary, jobpath, whatsmeow
from tests.conformance.names import ACCOUNT_LID, DEVICE
from wagw.config import Settings
from wagw.events import build_body
from wagw.events.lids import with_phone_numbers
from wagw.whatsapp import neonize_backend
from wagw.whatsapp.neonize_backend import NeonizeBackend
from workers.wa import host as workers_host
from workers.wa.host_client import HostClient

BOUNDARY = goboundary.Boundary(whatsmeow.standard_world()).install()
# Stopped backends are kept: neonize's NewClient calls Go's Stop(uuid) when it is garbage
# collected, and the uuid (the phone number) is the same for the next test's client.
STATE: dict[str, Any] = {"backend": None, "settings": None, "events": [], "logs": [], "stopped": []}
logger.add(lambda message: STATE["logs"].append(message.record["message"]), level="INFO")


def _json(value: Any) -> Any:
    if hasattr(value, "DESCRIPTOR"):
        return json_format.MessageToDict(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


# Stores ---------------------------------------------------------------------------------------
def make_store(path: str, devices: list[list[str]]) -> str:
    """A whatsmeow sqlite store: schema made by the real Go code, then one row per device
    ([jid, push name, business name]) as whatsmeow's PutDevice writes it; the account's device
    has the account's LID (its Store.LID, from the pairing). Returns what the real Go
    GetAllDevices then reads back."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    noop = goboundary._binder.func_callback_bytes2(lambda *_: None)
    assert BOUNDARY.real_get_all_devices(path.encode(), noop) == b""  # creates the schema
    rnd = os.urandom
    with sqlite3.connect(path) as db:
        for jid, push_name, business_name in devices:
            keys = (rnd(32), rnd(32), rnd(32), 1, rnd(64), rnd(32), b"", rnd(64), rnd(32), rnd(64))
            lid: str | None = None  # NULL: a device without a LID
            if jid == DEVICE:
                lid = ACCOUNT_LID.replace("@", ":" + jid.partition(":")[2].partition("@")[0] + "@")
            db.execute(
                "insert into whatsmeow_device (jid, lid, registration_id, noise_key, identity_key, signed_pre_key,"
                " signed_pre_key_id, signed_pre_key_sig, adv_key, adv_details, adv_account_sig,"
                " adv_account_sig_key, adv_device_sig, push_name, business_name)"
                " values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (jid, lid, 1234, *keys, push_name, business_name),
            )
    return BOUNDARY.real_get_all_devices(path.encode(), noop).decode()


def stored_devices(store: str) -> Any:
    return jobpath.outcome(lambda: neonize_backend.stored_devices(store))


def neonize_own_device_listing(store: str) -> Any:
    """What neonize's ClientFactory.get_all_devices_from_db makes of the same store."""
    from neonize.client import ClientFactory

    return jobpath.outcome(lambda: [d.JID.User for d in ClientFactory.get_all_devices_from_db(store)])


# Connection -----------------------------------------------------------------------------------
def reset() -> None:
    """A fresh simulated account; the current backend (if any) is stopped."""
    stop()
    BOUNDARY.world = whatsmeow.standard_world()
    BOUNDARY.errors.clear()
    STATE["events"].clear()
    STATE["logs"].clear()


def connect(data_dir: str, role: str, redis_url: str, inbound: bool = False) -> dict:
    """Start wagw's NeonizeBackend for `role` (its handler collects event bodies if inbound)."""
    stop()
    settings = Settings(_env_file=None, data_dir=data_dir, redis_url=redis_url, backend="neonize", wa_connect_wait=5)
    backend = NeonizeBackend(settings, role)
    STATE.update(backend=backend, settings=settings)

    def handler(event) -> None:
        # As the session's sink: the LIDs as phone numbers where whatsmeow's store knows them.
        STATE["events"].append(
            build_body(with_phone_numbers(event, backend.pn_for_lid), "15550001111@s.whatsapp.net")[1]
        )

    outcome = jobpath.outcome(lambda: backend.start(handler if inbound else None))
    outcome["registered"] = backend.registered_events() if backend._client is not None else []
    outcome["connected"] = backend.is_connected()
    return outcome


def pairing_connect(data_dir: str, role: str, redis_url: str) -> dict:
    """The pairing child's client for `role` connects (to link a new device): how it ended.
    What it handed the Go library is in calls("Neonize")."""
    from wagw.whatsapp import pairing

    settings = Settings(_env_file=None, data_dir=data_dir, redis_url=redis_url, backend="neonize")
    client = pairing.pairing_client(NeonizeBackend(settings, role))
    STATE["stopped"].append(client)  # kept: its finalizer would stop the uuid of a later client
    return jobpath.outcome(client.connect)


def stop() -> None:
    backend = STATE.get("backend")
    if backend is not None:
        backend.stop()
        STATE["stopped"].append(backend)
        STATE["backend"] = None


def job(op: str, kwargs: dict, fake_names: bool = False) -> dict:
    """A `workers.wa.<op>` job through the whole wagw path and neonize's own wrappers."""
    settings, backend = STATE["settings"], STATE["backend"]
    outcome = jobpath.outcome(lambda: jobpath.run_job(settings, backend, op, kwargs, fake_names=fake_names))
    outcome["stub_errors"] = list(BOUNDARY.errors)
    return outcome


def demote_account(group: str) -> None:
    """This account stops being an admin of `group` in the simulated WhatsApp."""
    found = BOUNDARY.world.groups[group]
    found.participants = [
        (p, lid, admin and p != whatsmeow.ACCOUNT + "@s.whatsapp.net") for p, lid, admin in found.participants
    ]


def host_call(op: str, params: dict) -> dict:
    """The native host's part alone (arguments as the wa-worker sends them)."""
    reply = workers_host.Host(STATE["settings"], 1, io.StringIO(), io.StringIO())._execute(
        STATE["backend"], 1, op, params
    )
    return jobpath.outcome(lambda: HostClient(STATE["settings"], 1)._result(json.loads(json.dumps(reply))))


def set_world(**changes: Any) -> None:
    """Change what the simulated WhatsApp knows or answers (whatsmeow.World's fields)."""
    for name, value in changes.items():
        setattr(BOUNDARY.world, name, value)


def set_group_ephemeral(group: str, seconds: int) -> None:
    """The group's disappearing timer is `seconds` in the simulated WhatsApp (its info says so)."""
    BOUNDARY.world.groups[group].ephemeral = seconds


def serve_media(direct_path: str, content_b64: str, key_b64: str) -> None:
    """WhatsApp's media hosts serve this file (plaintext and media key, as base64) at `direct_path`."""
    BOUNDARY.world.media[direct_path] = (base64.b64decode(content_b64), base64.b64decode(key_b64))


def calls(entry: str | None = None) -> list[dict]:
    """What reached the (stubbed) network, oldest first."""
    return [_json(call) for call in BOUNDARY.world.calls if entry is None or call["entry"] == entry]


# LIDs -----------------------------------------------------------------------------------------
def learn_lids(store: str, pairs: list[list[str]]) -> None:
    """whatsmeow learns these [LID, phone number] pairs (from a group notification, history
    sync, a user query …): written to the store's LID map as its PutLIDMapping does."""
    for lid, pn in pairs:
        whatsmeow.store_lid_pair(store, lid, pn)


def lookups(lids: list[str]) -> dict:
    """What the running backend's store answers for each LID (whatsmeow's real LID store)."""
    return {lid: STATE["backend"].pn_for_lid(lid) for lid in lids}


def time_lookups(known: list[str], unknown: list[str], rounds: int = 200) -> dict:
    """The lookup the session makes per LID, timed on whatsmeow's real store through neonize:
    microseconds for the first answer (a sqlite read), then cached answers, and one whole
    event's resolution (with_phone_numbers on a message from a LID in a LID chat)."""
    from wagw import events

    backend = STATE["backend"]

    def per_call(function, items: list) -> list[float]:
        times = []
        for item in items:
            start = time.perf_counter()
            function(item)
            times.append((time.perf_counter() - start) * 1e6)
        return times

    first = per_call(backend.pn_for_lid, known + unknown)
    cached = per_call(backend.pn_for_lid, (known + unknown) * rounds)
    message = events.message(
        id="3EB0TIME", chat=known[0], sender=known[0], timestamp=1, body="hi @" + known[0].partition("@")[0]
    )
    whole = per_call(lambda event: with_phone_numbers(event, backend.pn_for_lid), [message] * rounds)
    return {"first": sorted(first), "cached": sorted(cached), "event": sorted(whole)}


# Inbound --------------------------------------------------------------------------------------
def deliver(specs: list[dict], settle: float = 3.0) -> dict:
    """Dispatch whatsmeow events (whatsmeow.encode specs) into the running connection, then
    wait (up to `settle` s) until it is connected again or has ended."""
    BOUNDARY.deliver(*[whatsmeow.encode(spec) for spec in specs])
    backend = STATE["backend"]
    deadline = time.monotonic() + settle
    time.sleep(0.05)
    while not (backend.is_connected() or backend._ended.is_set()) and time.monotonic() < deadline:
        time.sleep(0.01)
    events, STATE["events"][:] = list(STATE["events"]), []
    return {
        "events": events,
        "connected": backend.is_connected(),
        "ended": backend._ended.is_set(),
        "connects": BOUNDARY.connects,
        "logs": list(STATE["logs"]),
        "stub_errors": list(BOUNDARY.errors),
    }


def wait_end(timeout: float = 5.0) -> dict:
    """How the connection ended (backend.wait()'s exception), within `timeout`."""
    backend = STATE["backend"]
    result: dict = {"outcome": None}
    thread = threading.Thread(target=lambda: result.update(outcome=jobpath.outcome(backend.wait)), daemon=True)
    thread.start()
    thread.join(timeout)
    return {**(result["outcome"] or {"error": "still connected"}), "logs": list(STATE["logs"])}


# neonize's ctypes callbacks -------------------------------------------------------------------
def watch_callbacks() -> int:
    """Watch (weakly) the ctypes callbacks the current connection gave the Go library
    (neonize client.py connect(): the client's _connect_refs); how many are watched."""
    import weakref

    refs = STATE["backend"]._client._connect_refs
    STATE.setdefault("watched", []).extend(weakref.ref(ref) for ref in refs[:4])
    return len(STATE["watched"])


def watched_callbacks_alive() -> list[bool]:
    """After a full garbage collection: which watched callbacks still exist (a freed one
    is a dangling function pointer for any Go goroutine that still calls it)."""
    import gc

    gc.collect()
    return [ref() is not None for ref in STATE.get("watched", [])]
