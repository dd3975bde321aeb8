"""Profile, lookup, message-action, presence and chat jobs on a running `wagw run` (fake
backend), enqueued as any app would: plain rq, by path, JSON serializer, no wagw import."""

from __future__ import annotations

import json
import time

import pytest
from rq import Queue
from rq.job import JobStatus
from rq.serializers import JSONSerializer

from chaos.polling import wait_for
from tests.e2e.conftest import one_daemon

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def daemon():
    yield from one_daemon("wagw-e2e-lookup-")


def run(daemon, name: str, **kwargs) -> tuple[dict, dict]:
    """Enqueue workers.wa.<name> by path; its JSON result and its `wagw:fake:sent` record."""
    started = time.time()
    job = Queue("wa", connection=daemon.redis, serializer=JSONSerializer).enqueue(f"workers.wa.{name}", **kwargs)
    wait_for(lambda: job.get_status(refresh=True) in (JobStatus.FINISHED, JobStatus.FAILED), 30, 0.05, f"{name} to end")
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    records = [json.loads(raw) for raw in daemon.redis.lrange("wagw:fake:sent", 0, -1)]
    [record] = [r for r in records if r["op"] == name and r["time"] >= started]
    return job.return_value(), record


def test_my_privacy(daemon):
    result, record = run(daemon, "my_privacy")
    assert result == {
        "group_add": "all",
        "last_seen": "contacts",
        "status": "contacts",
        "profile": "all",
        "read_receipts": "all",
        "call_add": "all",
        "online": "match_last_seen",
    }
    assert record["args"] == {} and record["role"].startswith("worker-")


def test_contacts(daemon):
    result, record = run(daemon, "contacts")
    assert [c["jid"] for c in result["contacts"]] == sorted(c["jid"] for c in result["contacts"])
    assert result["contacts"][0] == {
        "jid": "15551234567@s.whatsapp.net",
        "name": "Alice Liddell",
        "first_name": "Alice",
        "full_name": "Alice Liddell",
        "push_name": "Alice",
        "business_name": None,
    }
    assert record["args"] == {}


def test_react(daemon):
    result, record = run(daemon, "react", chat="+1 555 123 4567", message_id="3EB0AA", emoji="👍")
    assert result["chat"] == "15551234567@s.whatsapp.net" and result["message_id"] == "3EB0AA"
    assert result["emoji"] == "👍" and result["id"] and result["timestamp"].endswith("Z")
    assert record["args"] == {
        "chat": "15551234567@s.whatsapp.net",
        "message_id": "3EB0AA",
        "emoji": "👍",
        "sender": None,
    }
    removed, record = run(
        daemon, "react", chat="120363000000000001@g.us", message_id="3EB0AB", emoji="", sender="15557654321"
    )
    assert removed["emoji"] == "" and record["args"]["sender"] == "15557654321@s.whatsapp.net"


def test_revoke(daemon):
    result, record = run(daemon, "revoke", chat="120363000000000001@g.us", message_id="3EB0AA", sender="+15557654321")
    assert result["chat"] == "120363000000000001@g.us" and result["message_id"] == "3EB0AA"
    assert result["sender"] == "15557654321@s.whatsapp.net" and result["id"]
    assert record["args"] == {
        "chat": "120363000000000001@g.us",
        "message_id": "3EB0AA",
        "sender": "15557654321@s.whatsapp.net",
    }


def test_edit_message(daemon):
    result, record = run(daemon, "edit_message", chat="15551234567", message_id="3EB0AA", text="fixed")
    assert (result["chat"], result["message_id"], result["text"]) == ("15551234567@s.whatsapp.net", "3EB0AA", "fixed")
    assert record["args"] == {"chat": "15551234567@s.whatsapp.net", "message_id": "3EB0AA", "text": "fixed"}


def test_send_presence(daemon):
    result, record = run(daemon, "send_presence", presence="unavailable")
    assert result == {"presence": "unavailable"} and record["args"] == {"presence": "unavailable"}


def test_send_chat_presence(daemon):
    result, record = run(daemon, "send_chat_presence", chat="+15551234567", state="recording")
    assert result == {"chat": "15551234567@s.whatsapp.net", "state": "recording"}
    assert record["args"] == {"chat": "15551234567@s.whatsapp.net", "state": "recording"}


def test_set_disappearing(daemon):
    result, record = run(daemon, "set_disappearing", chat="120363000000000001@g.us", seconds=7_776_000)
    assert result == {"chat": "120363000000000001@g.us", "seconds": 7_776_000}
    assert record["args"] == {"chat": "120363000000000001@g.us", "seconds": 7_776_000}


def test_reject_call(daemon):
    result, record = run(daemon, "reject_call", call_id="ABC123DEF456", caller="+15551234567")
    assert result == {"call_id": "ABC123DEF456", "caller": "15551234567@s.whatsapp.net"}
    assert record["args"] == {"call_id": "ABC123DEF456", "caller": "15551234567@s.whatsapp.net"}


def test_a_crash_target_fails_cleanly_and_the_gateway_carries_on(daemon):
    """A real Go panic in one of these jobs (the fake's `crash` target) fails the job after
    its retries; the next job runs."""
    queue = Queue("wa", connection=daemon.redis, serializer=JSONSerializer)
    job = queue.enqueue("workers.wa.send_chat_presence", chat="crash@s.whatsapp.net", state="paused")
    wait_for(lambda: job.get_status(refresh=True) == JobStatus.FAILED, 60, 0.1, "the crashing job to fail")
    assert "HostCrashed" in job.latest_result().exc_string or "PoisonedTarget" in job.latest_result().exc_string
    result, _ = run(daemon, "send_presence", presence="available")
    assert result == {"presence": "available"}


def test_business_profile_is_not_a_job_neonize_cannot_do_it(daemon):
    """neonize 0.5.2 has no call for whatsmeow's GetBusinessProfile: wagw has no such job, and
    one enqueued anyway is refused, not run."""
    queue = Queue("wa", connection=daemon.redis, serializer=JSONSerializer)
    job = queue.enqueue("workers.wa.business_profile", jid="15551234567@s.whatsapp.net")
    wait_for(lambda: job.get_status(refresh=True) == JobStatus.FAILED, 30, 0.05, "the job to be refused")
    assert "RefusedJob" in job.latest_result().exc_string


def test_no_content_or_phone_number_reaches_the_log(daemon):
    """These jobs carry message text, emoji and people's numbers: none of it is logged."""
    run(daemon, "edit_message", chat="+15553337777", message_id="3EB0ZZ", text="secret-edit-text-q7")
    run(daemon, "react", chat="+15553337777", message_id="3EB0ZZ", emoji="🦄")
    run(daemon, "reject_call", call_id="CALL77", caller="+15553337777")
    log = daemon.log_text()
    assert "secret-edit-text-q7" not in log and "🦄" not in log
    assert "15553337777" not in log
