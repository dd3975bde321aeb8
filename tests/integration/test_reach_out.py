"""WhatsApp's reach-out limit on a real wa-worker and the fake backend (docs/jobs.md "Reach-out
limits"): a message to a person whose number ends in 463 meets it every time, so the job ends
ReachOutLimited after the host's one warm-up and retry, and the account's first contacts wait
until the hold ends while a reply to an existing chat goes; `wagw accounts release` lets them go."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from rich.console import Console
from rq import Retry
from rq.job import JobStatus

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import ALICE, sent, wait_done
from wagw import keys, reachout, sendorder
from wagw.status import collect
from wagw.status.table import render

COLD = "15550000463@s.whatsapp.net"  # the fake's reach-out limit (SPEC)
NEW = "15557654321@s.whatsapp.net"  # a person this account never wrote to


def calls_to(conn, chat: str) -> list[tuple[str, str]]:
    records = [r for r in sent(conn) if chat in (r["args"].get("to"), r["args"].get("jid"))]
    return [(r["op"], r["args"].get("text", "")) for r in records]


def test_a_reach_out_limit_ends_the_job_and_holds_first_contacts_only(start_worker, wa_queue, redis_conn, settings):
    start_worker(1, WAGW_REACHOUT_HOLD="3600")
    assert wait_done(wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="hello")) == JobStatus.FINISHED

    before = time.time()
    limited = wa_queue.enqueue("workers.wa.send_text", to="+1 555 000 0463", text="first", retry=Retry(3, [0]))
    assert wait_done(limited, 30) == JobStatus.FAILED
    after = time.time()
    # One warm-up and one retry, then a named failure that RQ does not retry.
    assert calls_to(redis_conn, COLD) == [("send_text", "first"), ("subscribe_presence", ""), ("send_text", "first")]
    limited.refresh()
    failure = limited.latest_result().exc_string
    assert limited.retries_left == 0
    assert (
        "workers.wa.ReachOutLimited: reach-out limit: WhatsApp refused send_text to …0463@s.whatsapp.net with error "
        "463 after a warm-up and one retry; first messages to new chats from account default are held until "
    ) in failure
    assert "(WhatsApp gave no end: WAGW_REACHOUT_HOLD); replies to existing chats go on" in failure
    until = reachout.held_until(redis_conn, "default")
    assert until is not None and before + 3600 <= until <= after + 3600
    assert reachout.shown_time(until) in failure
    counted = redis_conn.hgetall(keys.METRIC_COUNTER.format(name="reach_out_limits"))
    assert counted == {b'{"account":"default"}': b"1"}
    report = collect(settings, redis_conn)
    [shown] = report["reach_out_holds"]
    assert (shown["account"], shown["until"]) == ("default", until)
    console = Console(record=True, width=240, force_terminal=False)
    render(report, console)
    text = console.export_text()
    assert "reach-out holds" in text and "WhatsApp refused send_text to …0463" in text and "0000463" not in text

    # A first contact waits for the hold, holding no worker; a reply to a known chat goes.
    waiting = wa_queue.enqueue("workers.wa.send_text", to=NEW, text="nice to meet you")
    wait_for(
        lambda: "reach-out limit" in (waiting.get_meta(refresh=True).get(sendorder.WAITING_FOR) or ""),
        20,
        0.05,
        "the first contact to wait for the hold",
    )
    assert wait_done(wa_queue.enqueue("workers.wa.send_text", to=ALICE, text="a reply")) == JobStatus.FINISHED
    assert calls_to(redis_conn, NEW) == []

    # The operator lifts the hold: the waiting first contact goes at once.
    released = subprocess.run(
        [sys.executable, "-m", "wagw", "accounts", "release", "default"], capture_output=True, text=True, timeout=60
    )
    assert released.returncode == 0, released.stderr
    assert "account default: first-contact sends were held until" in released.stdout and "released" in released.stdout
    assert wait_done(waiting, 20) == JobStatus.FINISHED
    assert calls_to(redis_conn, NEW) == [("send_text", "nice to meet you")]
    assert reachout.held_until(redis_conn, "default") is None
    assert json.loads(redis_conn.lrange(keys.FAKE_SENT, -1, -1)[0])["args"]["to"] == NEW
