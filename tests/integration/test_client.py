"""wagw.client against a real wa-worker: typed enqueue, call-and-wait, errors."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from rq.job import JobStatus

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import ALICE, CRASH, HANG, sent, wait_done
from wagw import client, keys
from wagw.operations.args import InvalidArguments


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buffer, "png")
    return buffer.getvalue()


PNG = _png()  # a real image: the wa-worker checks that an image decodes before sending it


@pytest.fixture
def image_server():
    """Serves PNG at /a.png; anything else is 404."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/a.png":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG)))
                self.end_headers()
                self.wfile.write(PNG)
            else:
                self.send_error(404)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_call_and_wait_returns_the_result(start_worker, redis_conn, monkeypatch):
    start_worker()
    monkeypatch.setattr(client, "_connection", None)
    # Without connection=, the client connects where wagw's settings say (the test env here).
    assert client.call("fetch_avatar", ALICE, wait=20)["jid"] == ALICE
    redis_conn.delete("wagw:fake:sent")
    assert client.fetch_avatar("+1 555 123 4567", wait=20, connection=redis_conn)["jid"] == ALICE
    assert client.send_text(ALICE, "hello", wait=20, connection=redis_conn)["to"] == ALICE
    assert client.user_info([ALICE], wait=20, connection=redis_conn)["users"][0]["jid"] == ALICE
    assert (
        client.is_on_whatsapp(["+15551234567"], wait=20, connection=redis_conn)["results"][0]["is_on_whatsapp"] is True
    )
    assert client.group_info("120363000000000001@g.us", wait=20, connection=redis_conn)["participants"]
    assert len(client.joined_groups(wait=20, connection=redis_conn)["groups"]) == 2
    marked = client.mark_read(ALICE, ["3EB0AA"], wait=20, connection=redis_conn)
    assert marked == {"chat": ALICE, "ids": ["3EB0AA"], "sender": None, "receipt_type": "read"}
    assert [s["op"] for s in sent(redis_conn)] == [
        "fetch_avatar",
        "send_text",
        "user_info",
        "is_on_whatsapp",
        "group_info",
        "joined_groups",
        "mark_read",
    ]


def test_enqueue_sets_timeout_and_retry_explicitly(redis_conn):
    job = client.enqueue_send_text(ALICE, "hi", connection=redis_conn)
    assert job.func_name == "workers.wa.send_text" and job.kwargs == {
        "to": ALICE,
        "text": "hi",
        "reply_to": None,
        "reply_to_sender": None,
        "mentions": None,
        "reply_to_text": None,
        "typing": None,
    }
    assert job.timeout == 60 and job.retries_left == 2 and job.retry_intervals == [5, 5]
    assert job.meta == {"wagw_defaults": False}
    once = client.enqueue_fetch_avatar(ALICE, job_timeout=5, retry=False, job_id="avatar-1", connection=redis_conn)
    assert (once.id, once.timeout, once.retries_left) == ("avatar-1", 5, None)
    assert client.worst_case(job) == 60 * 3 + 5 + 5


def test_an_enqueue_on_a_pipeline_writes_nothing_until_its_owner_executes_it(redis_conn, wa_queue):
    # The HTTP API sends these writes itself, in one transaction on its asyncio connection.
    with redis_conn.pipeline() as pipe:
        job = client.enqueue("fetch_avatar", connection=redis_conn, pipeline=pipe, jid=ALICE)
        assert wa_queue.count == 0 and not redis_conn.exists(job.key)
        pipe.execute()
    assert wa_queue.job_ids == [job.id]
    queued = wa_queue.fetch_job(job.id)
    assert queued.func_name == "workers.wa.fetch_avatar" and queued.kwargs == {"jid": ALICE}
    assert queued.get_status() == JobStatus.QUEUED and queued.retries_left == job.retries_left
    with pytest.raises(ValueError, match="no pipeline with idempotency_key"), redis_conn.pipeline() as pipe:
        client.enqueue("fetch_avatar", connection=redis_conn, pipeline=pipe, idempotency_key="k1", jid=ALICE)
    assert wa_queue.count == 1


def test_bad_arguments_fail_in_the_caller(redis_conn, wa_queue):
    with pytest.raises(InvalidArguments, match="text: String should have at most 65536 characters"):
        client.enqueue_send_text(ALICE, "x" * 1_048_576, connection=redis_conn)
    with pytest.raises(InvalidArguments, match="jid: Input should be a valid string"):
        client.enqueue_fetch_avatar(15551234567, connection=redis_conn)
    with pytest.raises(ValueError, match="unknown wa job"):
        client.enqueue("fetch_everything")
    assert wa_queue.count == 0


def test_a_crash_surfaces_as_job_failed_with_the_panic(start_worker, redis_conn):
    start_worker()
    with pytest.raises(client.JobFailed) as caught:
        client.fetch_avatar(CRASH, retry=False, wait=20, connection=redis_conn)
    assert "HostCrashed: native host of slot 1" in str(caught.value)
    assert "panic: runtime error" in caught.value.exc_string


def test_a_send_with_an_unknown_outcome_is_not_sent_again_unless_asked(start_worker, redis_conn):
    start_worker(WAGW_POISON_CRASHES="10")
    with pytest.raises(client.JobFailed) as caught:
        client.send_text(CRASH, "once", wait=30, connection=redis_conn)  # default Retry(max=2)
    assert "workers.wa.OutcomeUnknown: outcome unknown: send_text to crash@s.whatsapp.net" in str(caught.value)
    assert "panic: runtime error" in caught.value.exc_string
    assert len(sent(redis_conn, "send_text")) == 1

    job = client.enqueue_send_text(CRASH, "again", resend_on_unknown=True, retry=False, connection=redis_conn)
    assert job.meta["resend_on_unknown"] is True
    with pytest.raises(client.JobFailed, match="HostCrashed"):
        client.wait_for(job, timeout=20)
    with pytest.raises(ValueError, match="fetch_avatar is not a send"):
        client.enqueue_fetch_avatar(ALICE, resend_on_unknown=True, connection=redis_conn)


def test_wait_gives_up_at_its_timeout(start_worker, redis_conn):
    start_worker()
    job = client.enqueue_fetch_avatar(HANG, job_timeout=2, retry=False, connection=redis_conn)
    started = time.monotonic()
    with pytest.raises(client.WaitTimeout):
        client.wait_for(job, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert wait_done(job, 10) == JobStatus.FAILED  # the job itself still ends on its own timeout


def test_send_image_from_base64_path_and_url(start_worker, redis_conn, image_server, data_dir):
    start_worker(WAGW_FETCH_PRIVATE="true")  # the test's image server is on loopback
    (data_dir / "media").mkdir()
    picture = data_dir / "media" / "a.png"
    picture.write_bytes(PNG)
    digest = hashlib.sha256(PNG).hexdigest()
    for image in (base64.b64encode(PNG).decode(), str(picture), f"{image_server}/a.png"):
        assert client.send_image(ALICE, image, caption="look", wait=20, connection=redis_conn)["to"] == ALICE
        args = sent(redis_conn)[-1]["args"]
        assert args["image"] == {"bytes": len(PNG), "sha256": digest} and args["mimetype"] == "image/png"
        assert args["caption"] == "look"

    with pytest.raises(client.JobFailed, match="image: the URL cannot be used: the server answered HTTP 404") as caught:
        client.send_image(ALICE, f"{image_server}/missing.png", wait=20, connection=redis_conn)
    assert caught.value.job.get_status() == JobStatus.FAILED
    caught.value.job.refresh()
    assert caught.value.job.retries_left == 0  # permanent: not retried
    with pytest.raises(client.JobFailed, match="not a JPEG, PNG, GIF or WebP image"):
        client.send_image(ALICE, base64.b64encode(b"%PDF-1.7 not an image").decode(), wait=20, connection=redis_conn)


def test_a_sends_outcome_for_the_history_store_carries_its_result(start_worker, redis_conn):
    """The wa-worker records a send's outcome in the same step as rq's records: the record
    must carry the result the job returned (the message id the history store keys it by)."""
    start_worker()
    job = client.enqueue_send_text(ALICE, "hello", connection=redis_conn)
    assert wait_done(job) == JobStatus.FINISHED
    entries = redis_conn.xrange(keys.HISTORY_SENDS)
    [record] = [
        json.loads(fields[b"record"]) for _id, fields in entries if json.loads(fields[b"record"])["job_id"] == job.id
    ]
    assert record["status"] == "finished" and record["result"] == job.return_value()
    assert record["result"]["id"]


def test_a_retried_sends_history_outcome_says_retrying_until_its_last_attempt(start_worker, redis_conn):
    """Each attempt's end is recorded: the first of two as retrying (read before rq spends the
    retry), the last as failed."""
    from rq import Retry

    start_worker()
    job = client.enqueue_send_text("fail@s.whatsapp.net", "hello", retry=Retry(max=1), connection=redis_conn)
    assert wait_done(job, 30) == JobStatus.FAILED

    def statuses() -> list[str]:
        records = (json.loads(fields[b"record"]) for _id, fields in redis_conn.xrange(keys.HISTORY_SENDS))
        return [record["status"] for record in records if record["job_id"] == job.id]

    # The outcome is appended right after rq marks the job failed: it may come a moment later.
    wait_for(lambda: len(statuses()) >= 2, 10, what="the last attempt's outcome")
    assert statuses() == ["retrying", "failed"]
