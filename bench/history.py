"""History store benchmark, two figures in one run:

  1. the writer: how many events a second the real `history` process (`wagw history-writer`)
     writes from `wagw:events` into SQLite, on this machine's cores, with --events message,
     receipt and reaction events waiting in the stream (target >= 2,000/s); baseline: the same
     event rows inserted by plain sqlite3 (one executemany in one transaction) into the same
     schema, the floor of what the file takes;
  2. reading: a chat's newest 50 messages with --messages stored (target p99 <= 20 ms at
     1,000,000) through `wagw.history.messages_page` (reactions and receipts included), over
     --reads random chats; baseline: the bare SELECT of the same 50 rows.

Real parts: the embedded redis-server, the writer process, the SQLite file with its schema
migrated by alembic (FTS5 index included).

    .venv/bin/python bench/history.py           # ~2 min (1,000,000 messages)
    .venv/bin/python bench/history.py --smoke   # small: does it still run?
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench.harness import CannotMeasure  # noqa: E402

SMOKE = {"events": 2000, "messages": 5000, "reads": 100}
FLOOR_RATE = 100.0  # events a second below which the writer's run is no measurement
CHATS = 1000
NOW = int(time.time())
BARE_SELECT = "SELECT * FROM messages WHERE account = 'default' AND chat = ? ORDER BY time_ms DESC, seq DESC LIMIT 50"


def chat(n: int) -> str:
    return f"1555{n % CHATS:07d}@s.whatsapp.net"


def event_bodies(count: int) -> list[tuple[str, str, str]]:
    """(event id, name, body) of `count` events: 8 messages, 1 receipt, 1 reaction in 10."""
    from wagw.events import build_body, message, reaction, receipt

    device = "15550001111@s.whatsapp.net"
    out = []
    for n in range(count):
        when = NOW - count + n
        if n % 10 == 8:
            event = receipt(
                ids=[f"M{n - 1}"], chat=chat(n - 1), sender=chat(n - 1), receipt_type="read", timestamp=when
            )
        elif n % 10 == 9:
            event = reaction(
                id=f"R{n}", chat=chat(n - 2), sender=chat(n - 2), timestamp=when, emoji="👍", target_id=f"M{n - 2}"
            )
        else:
            event = message(
                id=f"M{n}",
                chat=chat(n),
                sender=chat(n),
                timestamp=when,
                push_name="Alice",
                body=f"message {n} of the bench",
            )
        event_id, body = build_body(event, device)
        out.append((event_id, event.event, body))
    return out


def writer_rate(folder: Path, redis_url: str, bodies: list[tuple[str, str, str]], grace: float) -> dict:
    """Start the writer on an empty stream; once it runs, append every event at once (Redis
    takes them far faster than any writer) and time until the last is stored."""
    from redis import Redis

    conn = Redis.from_url(redis_url)
    conn.delete("wagw:events", "wagw:status:history")
    data = folder / "writer"
    data.mkdir()
    env = {
        **os.environ,
        "WAGW_DATA_DIR": str(data),
        "WAGW_REDIS_URL": redis_url,
        "WAGW_BACKEND": "fake",
        "WAGW_LOG_LEVEL": "WARNING",
    }
    log = (folder / "writer.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wagw", "history-writer"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    path = data / "history.sqlite3"

    def stored() -> int:
        db = sqlite3.connect(path, timeout=10)
        try:
            return db.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            db.close()

    def alive() -> None:
        if proc.poll() is not None:
            raise CannotMeasure(f"the history writer exited {proc.returncode}:\n{harness.tail(folder / 'writer.log')}")

    try:
        harness.wait(lambda: conn.exists("wagw:status:history"), grace, "the writer's start", alive)
        started = time.monotonic()
        with conn.pipeline(transaction=False) as pipe:
            for n, (event_id, name, body) in enumerate(bodies):
                pipe.xadd("wagw:events", {"id": event_id, "name": name, "event": body})
                if n % 1000 == 999:
                    pipe.execute()
            pipe.execute()
        appended = time.monotonic() - started
        allowed = harness.deadline(len(bodies), FLOOR_RATE, grace)
        harness.wait(lambda: stored() >= len(bodies), allowed, "every event stored", alive)
        seconds = time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    last = conn.xrevrange("wagw:events", count=1)[0][0].decode()
    db = sqlite3.connect(path)
    cursor = db.execute("SELECT last_id FROM cursors WHERE stream = 'events'").fetchone()[0]
    db.close()
    if cursor != last:
        raise CannotMeasure(f"the writer's position {cursor} is not the stream's last entry {last}")
    return {"events": len(bodies), "append_seconds": appended, "seconds": seconds, "rate": len(bodies) / seconds}


def baseline_rate(folder: Path, bodies: list[tuple[str, str, str]]) -> dict:
    from wagw.history.store import migrate, open_url

    path = folder / "baseline.sqlite3"
    store = open_url(f"sqlite:///{path}", create=True)
    migrate(store)
    store.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    rows = [
        (event_id, "default", name, (NOW + n) * 1000, f"{n}-0", body) for n, (event_id, name, body) in enumerate(bodies)
    ]
    started = time.monotonic()
    with db:
        db.executemany(
            "INSERT INTO events (id, account, name, time_ms, stream_id, body) VALUES (?, ?, ?, ?, ?, ?)", rows
        )
    seconds = time.monotonic() - started
    db.close()
    return {"seconds": seconds, "rate": len(rows) / seconds}


def fill_messages(path: Path, count: int) -> None:
    """`count` messages over CHATS chats, written as the writer writes them (schema, FTS index)."""
    from wagw.history.store import migrate, open_url

    store = open_url(f"sqlite:///{path}", create=True)
    migrate(store)
    store.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    base = (NOW - count) * 1000
    batch = 50_000
    for start in range(0, count, batch):
        rows = [
            ("default", chat(n), f"M{n}", chat(n), "Alice", 0, base + n * 1000, "text", f"message {n} of the bench")
            for n in range(start, min(start + batch, count))
        ]
        with db:
            db.executemany(
                "INSERT INTO messages (account, chat, message_id, sender, sender_name, from_me, time_ms, kind, text) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    with db:
        db.executemany(
            "INSERT INTO chats (account, chat, first_ms, last_ms) VALUES ('default', ?, ?, ?)",
            [(chat(n), base, base + count * 1000) for n in range(CHATS)],
        )
    db.execute("ANALYZE")
    db.close()


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
    }


def read_latency(path: Path, reads: int) -> tuple[dict, dict]:
    from wagw.history import messages_page, open_url

    store = open_url(f"sqlite:///{path}")
    rng = random.Random(7)
    chats = [chat(rng.randrange(CHATS)) for _ in range(reads)]
    api, bare = [], []
    db = sqlite3.connect(path)
    try:
        for n, name in enumerate(chats):
            # Whichever reads a chat first finds its pages out of the cache: take turns.
            for which in ("api", "bare") if n % 2 else ("bare", "api"):
                started = time.perf_counter()
                if which == "api":
                    if not messages_page(store, name, limit=50).rows:
                        raise CannotMeasure(f"no messages read for {name}")
                    api.append(time.perf_counter() - started)
                else:
                    db.execute(BARE_SELECT, (name,)).fetchall()
                    bare.append(time.perf_counter() - started)
    finally:
        db.close()
        store.close()
    return percentiles(api), percentiles(bare)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=int, default=50_000, help="events in the stream for the writer (default 50,000)"
    )
    parser.add_argument(
        "--messages", type=int, default=1_000_000, help="messages stored for the reads (default 1,000,000)"
    )
    parser.add_argument("--reads", type=int, default=2000, help="chats read (default 2,000)")
    args = harness.parse(parser, SMOKE)
    from wagw.supervisor.embedded_redis import start_standalone

    folder = Path(tempfile.mkdtemp(prefix="wagw-bench-history-", dir="/tmp"))
    redis_proc, server = start_standalone(folder / "redis")
    try:
        bodies = event_bodies(args.events)
        base = baseline_rate(folder, bodies)
        writer = writer_rate(folder, server.url, bodies, args.grace)
        path = folder / "read.sqlite3"
        started = time.monotonic()
        fill_messages(path, args.messages)
        filled = time.monotonic() - started
        api, bare = read_latency(path, args.reads)
    finally:
        redis_proc.terminate()
        redis_proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    report = {
        "cores": os.cpu_count(),
        "writer": {**{k: round(v, 1) for k, v in writer.items()}, "target": ">= 2000/s"},
        "baseline_insert": {k: round(v, 1) for k, v in base.items()},
        "writer_vs_baseline": round(writer["rate"] / base["rate"], 3),
        "messages": args.messages,
        "fill_seconds": round(filled, 1),
        "newest_50": {**api, "target": "p99 <= 20 ms"},
        "newest_50_bare_select": bare,
        "reads": args.reads,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(harness.run(main))
