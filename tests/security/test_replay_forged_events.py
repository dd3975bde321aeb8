"""Whoever can write to Redis can append an entry that looks like wagw's to `wagw:events`, and
whoever can write the history store can add a row to its events table: neither makes
`wagw events replay` sign and deliver a body of their choosing. The session marks what it
appends with the event MAC (a key derived from the webhook secret, which the history writer does
not hold); a replay sends only events whose MAC matches, `--force` or not. Real session sink,
real `wagw history-writer` and `wagw webhook-worker` processes, a real HTTP receiver."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from chaos.polling import wait_for
from tests.integration.webhook_harness import Processes, Receiver
from wagw import accounts, keys
from wagw.redisconn import as_text
from wagw.webhooks.signing import hub_signature
from wagw.whatsapp import fake_inbound

SECRET = "t0p-secret-for-the-event-log"
DEVICE = "15550001111@s.whatsapp.net"
ALICE = "15551234567@s.whatsapp.net"
WHEN = int(time.time()) - 3600  # within the store's retention
FORGED_WORDS = "wire the money to the attacker"


def forged_body(event_id: str) -> str:
    """A message event in the exact shape the session appends (wagw.events.build_body)."""
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(WHEN))
    payload = {"id": f"M{event_id}", "chat_id": ALICE, "from": ALICE, "timestamp": iso, "body": FORGED_WORDS}
    event = {"event": "message", "device_id": DEVICE, "account": "default", "id": event_id, "timestamp": iso}
    return json.dumps({**event, "payload": payload})


def replay_here(capsys, *args: str) -> tuple[int, str]:
    from wagw.cli import build_parser
    from wagw.config import Settings
    from wagw.webhooks import backfill

    code = backfill.main(Settings(_env_file=None), build_parser().parse_args(["events", "replay", *args]))
    return code, capsys.readouterr().out


@pytest.fixture
def endpoint(settings_env):
    with Receiver() as receiver:
        settings_env.setenv("WAGW_WEBHOOK_URLS", receiver.url)
        settings_env.setenv("WAGW_WEBHOOK_SECRET", SECRET)
        yield receiver


def test_events_the_session_did_not_append_are_never_replayed(endpoint, redis_conn, data_dir, capsys):
    from wagw.config import Settings
    from wagw.session.sink import EventSink

    settings = Settings(_env_file=None)
    sink = EventSink(settings, redis_conn, lambda: DEVICE, account=accounts.find(settings, None))
    inbound = {"type": "message", "id": "3EB0GENUINE", "chat": ALICE, "sender": ALICE, "timestamp": WHEN}
    sink(fake_inbound.to_event({**inbound, "text": "hello from Alice"}))
    [(_, raw)] = redis_conn.xrange(keys.EVENTS_STREAM)
    genuine = {as_text(k): as_text(v) for k, v in raw.items()}
    assert genuine["mac"] and genuine["id"]

    # On the stream, in wagw's shape: without a MAC; with the delivery signature in its place;
    # with the genuine MAC beside another body; the genuine body and MAC under another id.
    secret = SECRET.encode()
    on_stream = {
        "forged-bare": {"event": forged_body("forged-bare")},
        "forged-signed": {
            "event": forged_body("forged-signed"),
            "mac": hub_signature(secret, forged_body("forged-signed").encode()).removeprefix("sha256="),
        },
        "forged-moved-mac": {"event": forged_body("forged-moved-mac"), "mac": genuine["mac"]},
        "forged-new-id": {"event": genuine["event"], "mac": genuine["mac"]},
    }
    for event_id, fields in on_stream.items():
        redis_conn.xadd(keys.EVENTS_STREAM, {"id": event_id, "name": "message", **fields})

    procs = Processes(data_dir)
    path = data_dir / "history.sqlite3"
    try:
        procs.start("history", "history-writer")

        def stored() -> int:
            try:
                db = sqlite3.connect(path, timeout=10)
                try:
                    return db.execute("SELECT count(*) FROM events").fetchone()[0]
                finally:
                    db.close()
            except sqlite3.OperationalError:  # not created or migrated yet
                return 0

        wait_for(lambda: stored() == 5, 60, what="the writer storing every entry")
        assert procs.stop("history") == 0

        # Straight into the store: without a MAC, and with the genuine one copied.
        db = sqlite3.connect(path, timeout=10)
        with db:
            for event_id, mac in (("forged-row", None), ("forged-row-mac", genuine["mac"])):
                db.execute(
                    "INSERT INTO events (id, account, name, time_ms, body, mac) VALUES (?, ?, ?, ?, ?, ?)",
                    (event_id, "default", "message", WHEN * 1000, forged_body(event_id), mac),
                )
        db.close()
        forged = [*on_stream, "forged-row", "forged-row-mac"]

        procs.worker()
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(WHEN - 60))
        code, said = replay_here(capsys, "--since", since, "--to", endpoint.url)
        assert code == 1, said
        assert f"{len(forged)} events refused as not written by wagw's session" in said
        assert said.strip().endswith(f"replayed 1 events to {endpoint.url.split('?')[0]}"), said
        assert FORGED_WORDS not in said and "forged-" not in said  # counted, never shown

        def replayed(event_id: str) -> list:
            return [r for r in endpoint.for_event(event_id) if r.headers.get("x-wagw-replay") == "1"]

        wait_for(lambda: replayed(genuine["id"]), 60, what="the genuine event replayed")
        assert len(replayed(genuine["id"])) == 1
        # --force sends what was replayed before again, never what the session did not append.
        code, said = replay_here(capsys, "--since", since, "--to", endpoint.url, "--force")
        assert code == 1 and f"{len(forged)} events refused" in said, said
        wait_for(lambda: len(replayed(genuine["id"])) == 2, 60, what="the genuine event forced again")
    finally:
        procs.stop_all()

    assert [r.body for r in replayed(genuine["id"])] == [genuine["event"].encode()] * 2
    arrived = endpoint.snapshot()
    assert not [r for r in arrived if r.event_id in forged]
    assert not [r for r in arrived if FORGED_WORDS.encode() in r.body]
    assert {r.event_id for r in arrived} == {genuine["id"]}  # its live delivery and the replays
