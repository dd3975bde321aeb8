"""`enqueue_deliveries` writes what rq's own `Queue.enqueue_many` would write for the same
deliver jobs (compared on fakeredis: pure logic), so RQ, rq-dashboard and stock workers
read them as their own. A job names its endpoint by id: no URL, token or credentials in it."""

from __future__ import annotations

import time
import zlib

import fakeredis
import pytest
from rq import Queue
from rq.job import Job

from wagw import events
from wagw.config import Settings
from wagw.redisconn import SERIALIZER
from wagw.webhooks import enqueue as webhooks
from wagw.webhooks.endpoints import configured_endpoints, endpoint_id
from wagw.webhooks.signing import seal, seal_key

URLS = "https://user:pw@a.example/hook?token=x,https://b.example/in"
BODY = '{"event":"message","id":"e1","payload":{"body":"héllo"}}'
VOLATILE = {"created_at", "enqueued_at", "data"}  # times, and compressed bytes compared decoded


@pytest.fixture
def settings(monkeypatch):
    for key in ("WAGW_WEBHOOK_URLS", "WAGW_WEBHOOK_SECRET", "WAGW_WEBHOOK_EVENTS", "WAGW_WEBHOOK_RETRY_SCHEDULE"):
        monkeypatch.delenv(key, raising=False)
    return Settings(
        _env_file=None, data_dir="/tmp", webhook_urls=URLS, webhook_secret="s" * 16, webhook_retry_schedule="2.5,10,60"
    )


def rq_reference(conn, settings: Settings) -> None:
    """The same jobs through rq's generic enqueue path."""
    queue = Queue("webhooks", connection=conn, serializer=SERIALIZER)
    jobs = [
        Queue.prepare_data(
            webhooks.DELIVER,
            args=(endpoint.id, "e1", BODY, seal(seal_key(settings.webhook_secret_bytes), endpoint.id, "e1", BODY)),
            retry=webhooks.rq_retry(settings),
            timeout=webhooks.job_timeout(settings),
            result_ttl=webhooks.DELIVERED_TTL,
            failure_ttl=settings.webhook_failure_ttl,
            description=f"message e1 -> {endpoint.shown}",
        )
        for endpoint in configured_endpoints(settings).values()
    ]
    queue.enqueue_many(jobs)


def jobs_in(conn) -> list[tuple[dict, Job]]:
    ids = [i.decode() for i in conn.lrange("rq:queue:webhooks", 0, -1)]
    hashes = [{k.decode(): v for k, v in conn.hgetall(f"rq:job:{i}").items()} for i in ids]
    return [(h, Job.fetch(i, connection=conn, serializer=SERIALIZER)) for h, i in zip(hashes, ids, strict=False)]


def test_same_job_hash_and_queue_as_rq(settings, monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.5)  # both seal at the same second
    ours, theirs = fakeredis.FakeRedis(), fakeredis.FakeRedis()
    with ours.pipeline() as pipe:
        assert webhooks.enqueue_deliveries(pipe, settings, "e1", "message", BODY) == 2
        pipe.execute()
    rq_reference(theirs, settings)

    assert ours.smembers("rq:queues") == theirs.smembers("rq:queues") == {b"rq:queue:webhooks"}
    mine, reference = jobs_in(ours), jobs_in(theirs)
    assert len(mine) == len(reference) == 2
    for (our_hash, our_job), (their_hash, their_job) in zip(mine, reference, strict=False):
        assert set(our_hash) == set(their_hash)
        for field in set(their_hash) - VOLATILE:
            assert our_hash[field] == their_hash[field], field
        assert (our_job.func_name, our_job.args, our_job.kwargs) == (their_job.func_name, their_job.args, {})
        assert our_job.get_status() == their_job.get_status() == "queued"
        assert our_job.retries_left == 3 and our_job.retry_intervals == [3, 10, 60]
        assert our_job.enqueued_at is not None and our_job.created_at is not None
    first_id = endpoint_id("https://user:pw@a.example/hook?token=x")
    expected_seal = seal(seal_key(settings.webhook_secret_bytes), first_id, "e1", BODY)
    assert list(mine[0][1].args) == [first_id, "e1", BODY, expected_seal]
    assert mine[0][1].description == "message e1 -> https://a.example/hook"
    for our_hash, _job in mine:
        stored = b"".join([*our_hash.values(), zlib.decompress(our_hash["data"])])
        assert b"token=x" not in stored and b"pw@" not in stored and b"user" not in stored


def test_event_filter_is_case_insensitive(settings, monkeypatch):
    filtered = settings.model_copy(update={"webhook_events": ["Message.Ack"]})
    conn = fakeredis.FakeRedis()
    with conn.pipeline() as pipe:
        assert webhooks.enqueue_deliveries(pipe, filtered, "e1", "message", BODY) == 0
        assert webhooks.enqueue_deliveries(pipe, filtered, "e2", "message.ack", BODY) == 2
        pipe.execute()
    assert conn.llen("rq:queue:webhooks") == 2


def test_the_event_filter_takes_every_event_name(monkeypatch):
    """WAGW_WEBHOOK_EVENTS names any of wagw's events, the newer kinds included, from the
    environment as an operator writes it: exactly the listed ones are delivered."""
    wanted = ["chat_presence", "message.deleted", "label.edit", "label.association", "newsletter.message"]
    monkeypatch.setenv("WAGW_WEBHOOK_EVENTS", ",".join(wanted))
    filtered = Settings(_env_file=None, data_dir="/tmp", webhook_urls=URLS, webhook_secret="s" * 16)
    assert [name for name in events.EVENT_NAMES if webhooks.wants(filtered, name)] == [
        name for name in events.EVENT_NAMES if name in wanted
    ]
    conn = fakeredis.FakeRedis()
    with conn.pipeline() as pipe:
        assert (
            webhooks.enqueue_deliveries(pipe, filtered, "e1", "chat_presence", BODY, "15551234567@s.whatsapp.net") == 2
        )
        assert webhooks.enqueue_deliveries(pipe, filtered, "e2", "newsletter.joined", BODY) == 0
        pipe.execute()
    assert conn.llen("rq:queue:webhooks") == 2


def test_ignored_chats_get_no_deliveries(settings):
    group, alice = "120363000000000001@g.us", "15551234567@s.whatsapp.net"
    no_groups = settings.model_copy(update={"webhook_ignore_groups": True})
    # Settings normalise the listed chats: a phone number names its user JID.
    listed = Settings(
        _env_file=None,
        data_dir="/tmp",
        webhook_urls=URLS,
        webhook_secret="s" * 16,
        webhook_ignore_chats="+1 555 123 4567",
    )
    assert listed.webhook_ignore_chats == [alice]
    conn = fakeredis.FakeRedis()
    with conn.pipeline() as pipe:
        assert webhooks.enqueue_deliveries(pipe, no_groups, "e1", "message", BODY, group) == 0
        assert webhooks.enqueue_deliveries(pipe, no_groups, "e2", "message", BODY, alice) == 2
        assert webhooks.enqueue_deliveries(pipe, listed, "e3", "message", BODY, alice) == 0
        assert webhooks.enqueue_deliveries(pipe, listed, "e4", "message", BODY, group) == 2
        assert webhooks.enqueue_deliveries(pipe, listed, "e5", "call.offer", BODY) == 2  # no chat: delivered
        pipe.execute()
    assert conn.llen("rq:queue:webhooks") == 6


def test_an_ignored_chat_matches_by_its_number_or_its_lid():
    """A chat WhatsApp addresses by LID is delivered with its phone number as `chat_id` when the
    store knows the pair: listed either way, it is ignored (as go-whatsapp matches both)."""
    alice, alice_lid = "15551234567@s.whatsapp.net", "251556368777322@lid"
    base = {"_env_file": None, "data_dir": "/tmp", "webhook_urls": URLS, "webhook_secret": "s" * 16}
    by_number = Settings(**base, webhook_ignore_chats="+15551234567")
    by_lid = Settings(**base, webhook_ignore_chats=alice_lid)
    for listed in (by_number, by_lid):
        assert not webhooks.wants(listed, "message", (alice, alice_lid))
        assert webhooks.wants(listed, "message", ("15557654321@s.whatsapp.net", "187723411239009@lid"))
    assert not webhooks.wants(by_lid, "message", alice_lid)  # the pair unknown: the LID alone
    assert webhooks.wants(by_lid, "message", alice)


def test_a_bad_ignored_chat_is_a_config_error():
    with pytest.raises(ValueError, match="webhook_ignore_chats"):
        Settings(_env_file=None, webhook_ignore_chats="not a number")


def test_nothing_without_urls(settings):
    conn = fakeredis.FakeRedis()
    with conn.pipeline() as pipe:
        assert (
            webhooks.enqueue_deliveries(pipe, settings.model_copy(update={"webhook_urls": []}), "e", "message", BODY)
            == 0
        )
        assert pipe.command_stack == []
