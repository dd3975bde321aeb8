"""Delivery jobs cannot be turned against wagw (findings 4 and 10 of the trust issue).

The attacker here is an app with only Redis access: it enqueues `workers.webhooks.deliver`
jobs of its own making, as `Queue.enqueue` lets anyone do. A real `wagw webhook-worker`
runs them. It must not sign or POST a body of the attacker's choosing to an address of the
attacker's choosing, nor grow a thread per made-up endpoint. And the endpoint credentials
and tokens of the real configuration must never be written where the attacker (or the
dashboard, or the log) can read them.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import zlib

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from rq.serializers import JSONSerializer

from chaos.polling import wait_for
from chaos.receiver import Receiver as SigningReceiver
from tests.integration.webhook_harness import Processes, Received, sequence
from tests.integration.webhook_harness import Receiver as ScriptedReceiver
from wagw.config import Settings
from wagw.webhooks.endpoints import account_endpoints
from wagw.webhooks.enqueue import enqueue_deliveries

SECRET = "the-real-webhook-secret-0123"
FORGED_BODY = json.dumps({"event": "message", "id": "forged-1", "payload": {"id": "FORGED", "body": "pay 1000 to X"}})
PASSWORD = "pw-Kq81zr"
TOKEN = "SECRETTOKEN-71c"


@pytest.fixture
def procs(settings_env, data_dir, redis_conn):
    settings_env.setenv("WAGW_WEBHOOK_SECRET", SECRET)
    settings_env.setenv("WAGW_WEBHOOK_RETRY_SCHEDULE", "1,1")
    procs = Processes(data_dir)
    yield procs
    procs.stop_all()
    print(procs.logs())  # shown when a test fails


@pytest.fixture
def real():
    """The consumer wagw is configured for: it checks both signatures of whatever it gets."""
    receiver = SigningReceiver(SECRET, ["hook"]).start()
    yield receiver
    receiver.close()


@pytest.fixture
def loot():
    """An address of the attacker's choosing, on another port."""
    receiver = SigningReceiver(SECRET, ["loot"]).start()
    yield receiver
    receiver.close()


def configure(procs: Processes, settings_env, *urls: str) -> Settings:
    """The endpoints of this test, for its processes and for the test itself (as the session)."""
    settings_env.setenv("WAGW_WEBHOOK_URLS", ",".join(urls))
    procs.env["WAGW_WEBHOOK_URLS"] = ",".join(urls)
    return Settings(_env_file=None)


def start_worker(procs: Processes, conn: Redis) -> int:
    pid = procs.worker().pid
    wait_for(lambda: Worker.all(connection=conn), 20, what="the webhook worker to register")
    return pid


def attacker_enqueues(
    conn: Redis, reference: str, event_id: str = "forged-1", body: str = FORGED_BODY, seal: str | None = "0" * 32
) -> Job:
    """A delivery job as an app with only Redis access can write it: any arguments, and a seal
    it cannot compute (it has no secret)."""
    queue = Queue("webhooks", connection=conn, serializer=JSONSerializer)
    args = (reference, event_id, body) if seal is None else (reference, event_id, body, seal)
    return queue.enqueue("workers.webhooks.deliver", args=args)


def session_enqueues(conn: Redis, settings: Settings, event_id: str) -> None:
    """A real event's deliveries, stored as the session stores them."""
    body = json.dumps({"event": "message", "id": event_id, "payload": {"id": f"P-{event_id}"}})
    with conn.pipeline() as pipe:
        enqueue_deliveries(pipe, settings, event_id, "message", body)
        pipe.execute()


def failure_of(conn: Redis, job: Job) -> str:
    wait_for(lambda: job.get_status(refresh=True) == JobStatus.FAILED, 20, what=f"job {job.id} to fail")
    result = job.latest_result()
    assert result is not None
    return result.exc_string or ""


def assert_refused_at_once(conn: Redis, job: Job, shown: str, why: str = "unknown endpoint {shown!r}") -> None:
    failure = failure_of(conn, job)
    assert why.format(shown=shown) in failure and "not retrying" in failure, failure
    job.refresh()
    assert job.retries_left == 0 and job.meta.get("attempts") is None  # no attempt was made
    assert job.id not in ScheduledJobRegistry("webhooks", connection=conn)


def threads_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def everything_in(conn: Redis) -> bytes:
    """Every byte Redis holds, job data decompressed: what anyone with Redis access can read."""
    out: list[bytes] = []
    for key in conn.scan_iter():
        kind = conn.type(key)
        if kind == b"hash":
            for field, value in conn.hgetall(key).items():
                out += [field, zlib.decompress(value) if field == b"data" else value]
        elif kind == b"string":
            out.append(conn.get(key) or b"")
        elif kind == b"list":
            out += conn.lrange(key, 0, -1)
        elif kind == b"set":
            out += list(conn.smembers(key))
        elif kind == b"zset":
            out += conn.zrange(key, 0, -1)
        elif kind == b"stream":
            out += [b" ".join(k + b"=" + v for k, v in fields.items()) for _, fields in conn.xrange(key)]
        out.append(key)
    return b"\n".join(out)


def logs_of(data_dir) -> str:
    return "\n".join(path.read_text() for path in sorted(data_dir.glob("*.log")))


# ---- the job names where to POST -----------------------------------------------------------------


def test_a_job_naming_an_address_of_its_own_is_refused_and_nothing_is_posted(
    procs, settings_env, redis_conn, real, loot
):
    settings = configure(procs, settings_env, real.url("hook"))
    start_worker(procs, redis_conn)
    elsewhere = [loot.url("loot"), real.url("not-configured"), f"{real.url('hook')}?again=1"]
    forged = [attacker_enqueues(redis_conn, url) for url in elsewhere]
    session_enqueues(redis_conn, settings, "real-1")  # queued behind the forged ones

    wait_for(lambda: real.delivered_ids("hook") == {"P-real-1"}, 20, what="the real event delivered")
    for job, url in zip(forged, elsewhere, strict=True):
        assert_refused_at_once(redis_conn, job, url.split("?")[0])
    assert loot.snapshot() == []
    assert [(r.endpoint, r.event_id) for r in real.snapshot()] == [("hook", "real-1")]


def test_a_job_naming_an_unknown_endpoint_id_is_refused_and_nothing_is_posted(
    procs, settings_env, redis_conn, real, loot
):
    from wagw.webhooks.endpoints import endpoint_id

    settings = configure(procs, settings_env, real.url("hook"))
    start_worker(procs, redis_conn)
    unknown = ["0123456789abcdef", endpoint_id(loot.url("loot"))]
    forged = [attacker_enqueues(redis_conn, reference) for reference in unknown]
    session_enqueues(redis_conn, settings, "real-2")

    wait_for(lambda: real.delivered_ids("hook") == {"P-real-2"}, 20, what="the real event delivered")
    for job, reference in zip(forged, unknown, strict=True):
        assert_refused_at_once(redis_conn, job, reference)
    assert loot.snapshot() == []
    assert [r.event_id for r in real.snapshot()] == ["real-2"]


def test_a_forged_body_for_the_configured_endpoint_is_refused(procs, settings_env, redis_conn, real):
    """The endpoint id is in every delivery job: an attacker names the real endpoint with a body
    of their own, without a seal, with a made-up one, or with a real job's seal on an altered
    body. None is signed or sent; the real event is."""
    settings = configure(procs, settings_env, real.url("hook"))
    session_enqueues(redis_conn, settings, "real-3")
    [sealed_id] = redis_conn.lrange("rq:queue:webhooks", 0, -1)
    genuine = Job.fetch(sealed_id.decode(), connection=redis_conn, serializer=JSONSerializer)
    endpoint, _event, _body, real_seal = genuine.args
    forged = {
        "not a sealed delivery job": attacker_enqueues(redis_conn, endpoint, seal=None),
        "the seal of this delivery": attacker_enqueues(redis_conn, endpoint, "forged-2"),
        "does not match its arguments": attacker_enqueues(redis_conn, endpoint, "real-3", FORGED_BODY, real_seal),
    }
    start_worker(procs, redis_conn)

    wait_for(lambda: real.delivered_ids("hook") == {"P-real-3"}, 20, what="the real event delivered")
    for why, job in forged.items():
        assert_refused_at_once(redis_conn, job, "", why)
    assert [r.event_id for r in real.snapshot()] == ["real-3"]
    assert all(r.payload_id != "FORGED" for r in real.snapshot())


def test_made_up_endpoints_do_not_grow_the_workers_threads(procs, settings_env, redis_conn, real, loot):
    settings = configure(procs, settings_env, real.url("hook"))
    pid = start_worker(procs, redis_conn)
    session_enqueues(redis_conn, settings, "warm-up")  # the real endpoint's lane exists
    wait_for(lambda: real.delivered_ids("hook") == {"P-warm-up"}, 20, what="the warm-up delivered")
    before = threads_of(pid)

    bogus = [loot.url(f"loot-{n}") for n in range(25)] + [f"{n:016x}" for n in range(25)]
    jobs = [attacker_enqueues(redis_conn, reference) for reference in bogus]
    for job in jobs:
        failure_of(redis_conn, job)
    session_enqueues(redis_conn, settings, "after")
    wait_for(lambda: "P-after" in real.delivered_ids("hook"), 20, what="a real event after the flood")

    assert threads_of(pid) <= before, f"{before} threads before 50 made-up endpoints, {threads_of(pid)} after"
    assert loot.snapshot() == []


# ---- the configuration's secrets stay in the configuration -----------------------------------------


@pytest.fixture
def scripted():
    """An endpoint that shows what it was sent (headers included) and answers per event id."""
    answers = {"ev-ok": [200], "ev-retry": [503, 200], "ev-refused": [400]}

    def respond(request: Received, before: int) -> tuple[int, dict[str, str], bytes]:
        statuses = answers.get(request.event_id, [200])
        return statuses[min(before, len(statuses) - 1)], {}, b"noted"

    with ScriptedReceiver(respond) as receiver:
        yield receiver


def test_url_credentials_go_as_basic_auth_and_are_never_stored_or_logged(
    procs, settings_env, redis_conn, data_dir, scripted
):
    url = f"http://hookuser:{PASSWORD}@127.0.0.1:{scripted.port}/hook?token={TOKEN}"
    settings = configure(procs, settings_env, url)
    procs.scheduler()
    start_worker(procs, redis_conn)
    for event_id in ("ev-ok", "ev-retry", "ev-refused"):
        session_enqueues(redis_conn, settings, event_id)

    wait_for(lambda: set(scripted.delivered()) == {"ev-ok", "ev-retry"}, 30, what="two delivered")
    wait_for(lambda: FailedJobRegistry("webhooks", connection=redis_conn).count == 1, 20, what="one refused")
    expected = "Basic " + base64.b64encode(f"hookuser:{PASSWORD}".encode()).decode()
    requests = scripted.snapshot()
    assert len(requests) == 4
    for request in requests:
        assert request.headers.get("authorization") == expected
        assert request.path == f"/hook?token={TOKEN}"  # the token is sent, to the configured host

    stored = everything_in(redis_conn)
    descriptions = [redis_conn.hget(key, "description") or b"" for key in redis_conn.scan_iter("rq:job:*")]
    logged = logs_of(data_dir)
    for secret in (PASSWORD, TOKEN, expected.removeprefix("Basic ")):
        assert secret.encode() not in stored, secret
        assert all(secret.encode() not in description for description in descriptions), secret
        assert secret not in logged, secret
    assert b"127.0.0.1:%d/hook" % scripted.port in b"".join(descriptions)  # the endpoint, redacted
    assert f"127.0.0.1:{scripted.port}/hook attempt 1: HTTP 400" in logged


def test_what_is_kept_of_a_reply_is_a_short_escaped_snippet_of_its_body(procs, settings_env, redis_conn):
    headers = {"X-Upstream-Secret": "HEADER-VALUE-9f2", "Set-Cookie": "session=COOKIE-VALUE-77"}
    reply = b"\x1b[2J\x1b]0;pwned\x07 refused: " + b"R" * 10_240
    with ScriptedReceiver(lambda request, before: (400, headers, reply)) as receiver:
        settings = configure(procs, settings_env, f"http://127.0.0.1:{receiver.port}/hook")
        start_worker(procs, redis_conn)
        session_enqueues(redis_conn, settings, "ev-long")
        [job_id] = [key.decode().removeprefix("rq:job:") for key in redis_conn.scan_iter("rq:job:*")]
        job = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
        failure = failure_of(redis_conn, job)

    job.refresh()
    kept = [job.meta["last_error"], failure.rpartition("; response: ")[2].strip()]
    for text in kept:
        assert 0 < len(text) <= 200, len(text)
        assert text.startswith("\\x1b[2J\\x1b]0;pwned\\x07 refused: RRR"), text[:40]
        assert "\x1b" not in text and "\x07" not in text
    stored = everything_in(redis_conn)
    for value in headers.values():
        assert value.encode() not in stored and value not in failure
    assert stored.count(b"R" * 200) == 0  # no longer piece of the body anywhere in Redis


# ---- one account's deliveries cannot be passed off as another's ---------------------------------

SALES_SECRET = "the-sales-account-secret-4711"


def test_a_delivery_sealed_for_one_account_cannot_be_sent_as_another_accounts(procs, settings_env, redis_conn, real):
    sales = SigningReceiver(SALES_SECRET, ["sales"]).start()
    try:
        accounts = {
            "WAGW_ACCOUNTS": "support,sales",
            "WAGW_ACCOUNT__SALES__WEBHOOK_URLS": sales.url("sales"),
            "WAGW_ACCOUNT__SALES__WEBHOOK_SECRET": SALES_SECRET,
        }
        for name, value in accounts.items():
            settings_env.setenv(name, value)
            procs.env[name] = value
        settings = configure(procs, settings_env, real.url("hook"))  # support's: the global URL and secret
        body = json.dumps({"event": "message", "account": "sales", "id": "s-1", "payload": {"id": "P-s-1"}})
        with redis_conn.pipeline() as pipe:
            assert enqueue_deliveries(pipe, settings, "s-1", "message", body, account="sales") == 1
            pipe.execute()
        [sealed] = Queue("webhooks", connection=redis_conn, serializer=JSONSerializer).get_jobs()
        sales_id, event_id, sealed_body, seal = sealed.args
        [support_id] = account_endpoints(settings, "support")
        assert support_id != sales_id
        # The attacker copies sales's sealed job onto support's endpoint (another URL, another secret).
        copied = attacker_enqueues(redis_conn, support_id, event_id, sealed_body, seal)
        start_worker(procs, redis_conn)
        assert_refused_at_once(redis_conn, copied, "", why="does not match its arguments")
        wait_for(lambda: sales.delivered_ids("sales") == {"P-s-1"}, 20, what="sales's own delivery")
        [receipt] = sales.snapshot()
        assert receipt.signature_ok and receipt.header_account == "sales"  # signed with sales's secret
        assert real.snapshot() == []  # support's endpoint got nothing
    finally:
        sales.close()


# ---- a sealed delivery copied and enqueued again later ---------------------------------------------

DAY = 86_400


def sealed_ago(monkeypatch, conn: Redis, settings: Settings, event_id: str, age: float) -> tuple:
    """The session stores an event's delivery `age` seconds ago (its clock set back that far);
    an app with Redis access keeps a copy of the job's arguments, seal included. The job itself
    is gone (delivered then; its records and its delivered marker have long expired)."""
    real_time = time.time
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: real_time() - age)
        session_enqueues(conn, settings, event_id)
    [job] = Queue("webhooks", connection=conn, serializer=JSONSerializer).get_jobs()
    copied = tuple(job.args)
    job.delete()
    return copied


def test_a_copy_of_a_delivery_sealed_long_ago_is_refused_and_nothing_is_sent(
    monkeypatch, procs, settings_env, redis_conn, real
):
    settings = configure(procs, settings_env, real.url("hook"))
    endpoint, event_id, body, seal = sealed_ago(monkeypatch, redis_conn, settings, "old-1", 60 * DAY)
    assert not list(redis_conn.scan_iter("wagw:webhook:delivered:*"))  # nothing says it was delivered
    start_worker(procs, redis_conn)
    copy = attacker_enqueues(redis_conn, endpoint, event_id, body, seal)
    session_enqueues(redis_conn, settings, "fresh-1")  # queued behind the copy

    wait_for(lambda: "P-fresh-1" in real.delivered_ids("hook"), 20, what="the fresh event delivered")
    assert_refused_at_once(redis_conn, copy, "", why="sealed 60 days ago")
    assert [r.event_id for r in real.snapshot()] == ["fresh-1"]


def test_a_copy_of_a_failed_delivery_continues_its_attempts_and_a_delivered_one_is_never_sent_again(
    procs, settings_env, redis_conn
):
    with ScriptedReceiver(sequence(503, 503, 503)) as receiver:
        settings = configure(procs, settings_env, f"http://127.0.0.1:{receiver.port}/hook")
        procs.scheduler()
        start_worker(procs, redis_conn)
        session_enqueues(redis_conn, settings, "ev-copy")
        failed = FailedJobRegistry("webhooks", connection=redis_conn)
        wait_for(lambda: failed.count == 1, 30, what="the delivery to run out of tries")
        [original] = [Job.fetch(i, connection=redis_conn, serializer=JSONSerializer) for i in failed.get_job_ids()]
        assert original.meta["attempts"] == 3

        # A fresh job with the same arguments (its meta, and so its attempt count, starts empty).
        copy = attacker_enqueues(redis_conn, *original.args)
        wait_for(lambda: copy.get_status(refresh=True) == JobStatus.FINISHED, 20, what="the copy sent")
        assert [r.attempt for r in receiver.snapshot()] == [1, 2, 3, 4]  # never 1 again
        # Delivered: marked for as long as a copy of the job could still be sent.
        [marker] = redis_conn.scan_iter("wagw:webhook:delivered:*")
        assert redis_conn.ttl(marker) > settings.webhook_failure_ttl
        again = attacker_enqueues(redis_conn, *original.args)
        wait_for(lambda: again.get_status(refresh=True) == JobStatus.FINISHED, 20, what="the second copy done")
        assert again.return_value()["duplicate"] is True
        assert len(receiver.snapshot()) == 4


def test_wagw_webhooks_replay_still_delivers_a_failed_delivery_sealed_days_ago(
    monkeypatch, procs, settings_env, redis_conn
):
    with ScriptedReceiver(sequence(400)) as receiver:
        settings = configure(procs, settings_env, f"http://127.0.0.1:{receiver.port}/hook")
        real_time = time.time
        with monkeypatch.context() as patch:  # sealed 13 days ago, within the failed registry's 14
            patch.setattr(time, "time", lambda: real_time() - 13 * DAY)
            session_enqueues(redis_conn, settings, "ev-late")
        start_worker(procs, redis_conn)
        failed = FailedJobRegistry("webhooks", connection=redis_conn)
        wait_for(lambda: failed.count == 1, 20, what="the delivery refused by the endpoint")
        [job_id] = failed.get_job_ids()

        replay = [sys.executable, "-m", "wagw", "webhooks", "replay", job_id]
        result = subprocess.run(replay, env=procs.env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and f"requeued {job_id}" in result.stdout, result.stdout + result.stderr
        job = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
        wait_for(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, 20, what="the replay delivered")
        assert [(r.status, r.attempt) for r in receiver.snapshot()] == [(400, 1), (200, 2)]
