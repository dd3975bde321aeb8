"""`wagw events replay`: stored events delivered again to one configured endpoint, through a real
`wagw webhook-worker`, the test Redis, the history store and real HTTP receivers, while live
deliveries flow: every stored event once, signed and marked as a replay, never twice unless
forced; an endpoint that is not configured is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from chaos.polling import wait_for
from tests.integration.webhook_harness import Processes, Receiver
from wagw.history import ingest, write
from wagw.history.store import migrate, open_store
from wagw.webhooks.enqueue import enqueue_deliveries
from wagw.webhooks.signing import event_log_key, event_mac, verify_hub_signature

SECRET = "t0p-secret-for-the-replays"
STORED = 30
DAY = 1_764_400_000  # 2025-11-29T07:06:40Z


def body(event_id: str, unix: int, text: str) -> str:
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))
    payload = {"id": f"M{event_id}", "chat_id": "15551234567@s.whatsapp.net", "from": "15551234567@s.whatsapp.net"}
    event = {"event": "message", "device_id": "15550001111@s.whatsapp.net", "account": "default", "id": event_id}
    return json.dumps({**event, "timestamp": iso, "payload": {**payload, "timestamp": iso, "body": text}})


def store_events(settings, count: int) -> dict[str, str]:
    """`count` message events in the history store, a minute apart, as its writer stores them
    (with the session's event MAC)."""
    store = open_store(settings, create=True)
    migrate(store)
    changes = ingest.Changes()
    stored = {}
    for n in range(count):
        event_id, unix = f"stored{n:04d}", DAY + 60 * n
        stored[event_id] = body(event_id, unix, f"past {n}")
        mac = event_mac(event_log_key(SECRET.encode()), "default", event_id, stored[event_id])
        fields = {"id": event_id, "name": "message", "event": stored[event_id], "mac": mac}
        ingest.add_event(changes, fields, f"{unix * 1000}-0")
    with store.engine.begin() as conn:
        write.apply(conn, changes, {})
    store.close()
    return stored


def replay(*args: str) -> subprocess.CompletedProcess:
    """The command as an operator runs it."""
    command = [sys.executable, "-m", "wagw", "events", "replay", *args]
    return subprocess.run(command, env=dict(os.environ), capture_output=True, text=True, timeout=120)


def replay_here(capsys, *args: str) -> tuple[int, str]:
    """The same command's code in this process (quicker than a new interpreter): exit code, output."""
    from wagw.cli import build_parser
    from wagw.config import Settings
    from wagw.webhooks import backfill

    code = backfill.main(Settings(_env_file=None), build_parser().parse_args(["events", "replay", *args]))
    return code, capsys.readouterr().out


@pytest.fixture
def endpoints(settings_env):
    with Receiver() as live, Receiver() as new:
        settings_env.setenv("WAGW_WEBHOOK_URLS", f"{live.url},{new.url}")
        settings_env.setenv("WAGW_WEBHOOK_SECRET", SECRET)
        yield live, new


def test_stored_events_reach_a_new_endpoint_once_marked_as_replays_while_live_ones_flow(
    endpoints, data_dir, redis_conn, capsys
):
    from wagw.config import Settings

    live, new = endpoints
    settings = Settings(_env_file=None)
    stored = store_events(settings, STORED)
    procs = Processes(data_dir)
    procs.scheduler()
    procs.worker()
    stop = threading.Event()
    sent_live: list[str] = []
    stored_at: dict[str, float] = {}

    def live_traffic() -> None:  # the session's deliveries, one event every 20 ms
        while not stop.is_set():
            event_id = f"live{len(sent_live):04d}"
            with redis_conn.pipeline() as pipe:
                enqueue_deliveries(pipe, settings, event_id, "message", body(event_id, int(time.time()), "now"))
                pipe.execute()
            stored_at[event_id] = time.time()
            sent_live.append(event_id)
            stop.wait(0.02)

    with redis_conn.pipeline() as pipe:  # the worker is up once a first event is through
        enqueue_deliveries(pipe, settings, "warm", "message", body("warm", int(time.time()), "warm"))
        pipe.execute()
    wait_for(lambda: live.delivered()["warm"], 30, what="the worker's first delivery")
    traffic = threading.Thread(target=live_traffic, daemon=True)
    traffic.start()
    try:
        done = replay("--since", "2025-11-29T00:00:00Z", "--to", new.url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip().endswith(f"replayed {STORED} events to {new.url.split('?')[0]}")
        wait_for(lambda: set(stored) <= set(new.delivered()), 60, what="every stored event at the new endpoint")
    finally:
        stop.set()
        traffic.join(5)
    wait_for(lambda: set(sent_live) <= set(live.delivered()) & set(new.delivered()), 60, what="the live events")

    replayed = [r for r in new.snapshot() if r.event_id in stored]
    assert sorted(r.event_id for r in replayed) == sorted(stored)  # each once
    for request in replayed:
        assert request.headers["x-wagw-replay"] == "1" and request.body == stored[request.event_id].encode()
        assert verify_hub_signature(SECRET.encode(), request.body, request.headers["x-hub-signature-256"])
    assert not [r for r in live.snapshot() if r.event_id in stored]  # only the endpoint named
    assert all("x-wagw-replay" not in r.headers for r in live.snapshot() + new.snapshot() if r.event_id in sent_live)
    # Live latency beside the backfill (store -> receipt at the live endpoint): reported, not
    # judged here; bench/replay.py compares it with and without a backfill.
    waits = sorted(r.time - stored_at[r.event_id] for r in live.snapshot() if r.event_id in stored_at)
    p50, worst = waits[len(waits) // 2] * 1000, waits[-1] * 1000
    with capsys.disabled():
        print(f"\nlive latency beside a backfill of {STORED}: p50 {p50:.0f} ms, max {worst:.0f} ms")

    # Again: nothing is sent twice. Forced, within --until: those again.
    code, said = replay_here(capsys, "--since", "2025-11-29T00:00:00Z", "--to", new.url)
    assert code == 0 and "replayed 0 events" in said and f"{STORED} replayed there before" in said
    since, until = "2025-11-29T07:06:40Z", "2025-11-29T07:11:40"
    code, said = replay_here(capsys, "--since", since, "--until", until, "--to", new.url, "--force")
    assert code == 0 and "replayed 5 events" in said, said
    wait_for(lambda: sum(new.delivered()[e] for e in stored) == STORED + 5, 30, what="the forced five")
    assert [e for e in stored if new.delivered()[e] == 2] == [f"stored{n:04d}" for n in range(5)]
    procs.stop_all()


def test_only_a_configured_endpoint_and_good_times_are_taken(endpoints, redis_conn, capsys):
    new = endpoints[1].url
    code, said = replay_here(capsys, "--since", "2025-11-29T00:00:00Z", "--to", "https://attacker.example/collect")
    assert code == 64 and "is no configured webhook endpoint" in said
    code, said = replay_here(capsys, "--since", "last tuesday", "--to", new)
    assert code == 64 and "--since must be an ISO 8601 time" in said
    code, said = replay_here(capsys, "--since", "2025-11-30", "--until", "2025-11-29", "--to", new)
    assert code == 64 and "--until must be later than --since" in said
    code, said = replay_here(capsys, "--since", "2025-11-29", "--to", new)  # no history store yet
    assert code != 0 and "no history store" in said
    assert redis_conn.llen("rq:queue:webhooks") == 0  # nothing queued by any of them


def test_a_redis_that_does_not_answer_is_one_line_saying_so(endpoints, settings, settings_env, tmp_path, capsys):
    store_events(settings, 3)
    settings_env.setenv("WAGW_REDIS_URL", f"unix://{tmp_path}/no-redis.sock")
    code, said = replay_here(capsys, "--since", "2025-11-29", "--to", endpoints[1].url)
    assert code == 3 and said.startswith("wagw events replay: Redis at ") and said.count("\n") == 1, said
