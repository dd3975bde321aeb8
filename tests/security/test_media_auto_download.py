"""WAGW_MEDIA_AUTO_DOWNLOAD cannot be turned against wagw by an app with only Redis access.

A delivery that follows a download job puts what that job returned into a body the webhook
worker signs. wa-workers hold no webhook secret, so their results carry no authority: the
attacker here rewrites the download job (a finished status and a result of its choosing, a
job of another function, a pickle), or copies a sealed delivery and points it at another job.
A real `wagw webhook-worker` and `wagw scheduler` run the deliveries. The worker must never
put a path outside WAGW_MEDIA_DIR, or a file other than the event's own, into a signed body,
never read a job the session did not name, never unpickle, and still deliver the event once
(with `download_error`) when the download's record is a forgery.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import zlib

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.results import Result

from chaos.polling import wait_for
from tests.integration.webhook_harness import Processes, Receiver
from wagw import accounts
from wagw.config import Settings
from wagw.redisconn import SERIALIZER
from wagw.session.sink import EventSink
from wagw.webhooks.signing import verify_hub_signature
from wagw.whatsapp import fake_inbound

SECRET = "the-real-webhook-secret-0123"
ME = "15550001111@s.whatsapp.net"
ALICE = "15551234567@s.whatsapp.net"


@pytest.fixture
def settings(settings_env, receiver) -> Settings:
    settings_env.setenv("WAGW_WEBHOOK_URLS", receiver.url)
    settings_env.setenv("WAGW_WEBHOOK_SECRET", SECRET)
    settings_env.setenv("WAGW_MEDIA_AUTO_DOWNLOAD", "true")
    return Settings(_env_file=None)


@pytest.fixture
def procs(data_dir, settings):
    made = Processes(data_dir, WAGW_LOG_LEVEL="DEBUG")
    yield made
    made.stop_all()
    print(made.logs())


def store(conn: Redis, settings: Settings, message_id: str) -> tuple[str, dict]:
    """The session stores a media event (no wa-worker runs: the download stays queued)."""
    event = fake_inbound.to_event(
        {"type": "message", "id": message_id, "sender": ALICE, "media": {"kind": "image", "mimetype": "image/jpeg"}}
    )
    assert event is not None
    EventSink(settings, conn, lambda: ME, account=accounts.find(settings, None))(event)
    for _id, fields in conn.xrange("wagw:events"):
        payload = json.loads(fields[b"event"])["payload"]
        if payload["id"] == message_id:
            return fields[b"download"].decode(), payload
    raise AssertionError("not stored")


def forge_finished(conn: Redis, job_id: str, value: object) -> None:
    """What an attacker writes with rq's own API: the job finished, with its own result."""
    job = Job.fetch(job_id, connection=conn, serializer=SERIALIZER)
    with conn.pipeline() as pipe:
        job.set_status(JobStatus.FINISHED, pipeline=pipe)
        pipe.lrem(f"rq:queue:{job.origin}", 0, job_id)
        Result.create(job, Result.Type.SUCCESSFUL, 600, return_value=value, pipeline=pipe)
        pipe.execute()


def forge_failed(conn: Redis, job_id: str, exc_string: str, status: JobStatus = JobStatus.FAILED) -> None:
    """What an attacker writes with rq's own API: the job ended, with a failure text of its own."""
    job = Job.fetch(job_id, connection=conn, serializer=SERIALIZER)
    with conn.pipeline() as pipe:
        job.set_status(status, pipeline=pipe)
        pipe.lrem(f"rq:queue:{job.origin}", 0, job_id)
        Result.create_failure(job, 600, exc_string=exc_string, pipeline=pipe)
        pipe.execute()


def delivered(conn: Redis, receiver: Receiver, message_id: str) -> dict:
    def bodies():
        return [json.loads(r.body) for r in receiver.snapshot() if json.loads(r.body)["payload"]["id"] == message_id]

    wait_for(bodies, 20, 0.05, f"{message_id} delivered")
    queue = Queue("webhooks", connection=conn, serializer=SERIALIZER)
    wait_for(
        lambda: (
            queue.count == 0
            and not ScheduledJobRegistry(queue=queue).count
            and not StartedJobRegistry(queue=queue).count
        ),
        20,
        0.1,
        "the webhook queue to settle",
    )
    [body] = bodies()
    for request in receiver.snapshot():
        assert verify_hub_signature(SECRET.encode(), request.body, request.headers["x-hub-signature-256"])
    return body["payload"]


def test_a_forged_result_never_puts_a_foreign_path_into_a_signed_body(settings, procs, receiver, redis_conn):
    media_dir = settings.media_path
    digest = "ab" * 32  # content-addressed looking, but not this event's file
    forged = {
        "3EBSEC000001": lambda own: {"path": "/etc/passwd", "sha256": digest},
        "3EBSEC000002": lambda own: {"path": f"/etc/{digest}.jpg", "sha256": digest},
        "3EBSEC000003": lambda own: {"path": f"{media_dir}/../../etc/{own}.jpg", "sha256": own},
        "3EBSEC000004": lambda own: {"path": f"{media_dir}/{digest}.jpg", "sha256": digest},  # another file there
        "3EBSEC000005": lambda own: f"/etc/{own}.jpg",
    }
    for message_id, value in forged.items():
        download, payload = store(redis_conn, settings, message_id)
        forge_finished(redis_conn, download, value(base64.b64decode(payload["media"]["file_sha256"]).hex()))
    procs.scheduler()
    procs.worker(1)
    for message_id in forged:
        payload = delivered(redis_conn, receiver, message_id)
        assert "the download's result was refused" in payload["download_error"], payload
        assert isinstance(payload["image"], dict) and payload["image"]["url"].startswith("https://mmg.whatsapp.net/")
        text = json.dumps(payload)
        assert "/etc/" not in text and "path" not in payload["image"]


def test_a_job_of_another_kind_or_a_pickle_in_its_place_is_not_used(settings, procs, receiver, redis_conn, data_dir):
    # The download job replaced by a finished job of another function, with a path-like result.
    swapped, _ = store(redis_conn, settings, "3EBSEC000011")
    redis_conn.hset(
        f"rq:job:{swapped}", "data", zlib.compress(SERIALIZER.dumps(("workers.wa.user_info", None, [], {})))
    )
    forge_finished(redis_conn, swapped, {"path": "/etc/passwd", "sha256": "ab" * 32})
    # The download job's data replaced by a pickle that would leave a marker if ever loaded.
    pickled, _ = store(redis_conn, settings, "3EBSEC000012")
    marker = data_dir / "unpickled"
    redis_conn.hset(f"rq:job:{pickled}", "data", zlib.compress(pickle.dumps(Trap(str(marker)))))
    redis_conn.hset(f"rq:job:{pickled}", "status", "finished")
    procs.scheduler()
    procs.worker(1)
    first = delivered(redis_conn, receiver, "3EBSEC000011")
    assert "not this event's download_media" in first["download_error"] and "/etc/" not in json.dumps(first)
    second = delivered(redis_conn, receiver, "3EBSEC000012")
    assert "unreadable" in second["download_error"] or "not this event's" in second["download_error"]
    assert not marker.exists()


class Trap:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_a_sealed_delivery_cannot_be_pointed_at_another_job(settings, procs, receiver, redis_conn):
    own, _ = store(redis_conn, settings, "3EBSEC000021")
    other, _ = store(redis_conn, settings, "3EBSEC000022")
    forge_finished(redis_conn, other, {"path": "/etc/passwd", "sha256": "ab" * 32})
    queue = Queue("webhooks", connection=redis_conn, serializer=SERIALIZER)
    originals = [Job.fetch(i, connection=redis_conn, serializer=SERIALIZER) for i in queue.job_ids]
    [sealed] = [job for job in originals if job.args[4] == own]
    endpoint_id, event_id, body, seal, _download = sealed.args
    queue.empty()  # only the attacker's copies run
    copies = [
        queue.enqueue("workers.webhooks.deliver", args=(endpoint_id, event_id, body, seal, other)),
        queue.enqueue("workers.webhooks.deliver", args=(endpoint_id, event_id, body, seal)),
        queue.enqueue("workers.webhooks.deliver", args=(endpoint_id, event_id, body, seal, "rq:job:" + own)),
        queue.enqueue("workers.webhooks.deliver", args=(endpoint_id, event_id, body, "0" * 32, other)),
    ]
    procs.worker(1)
    for job in copies:
        wait_for(lambda job=job: job.get_status(refresh=True) == JobStatus.FAILED, 20, 0.05, "the copy refused")
        failure = job.latest_result().exc_string
        assert "does not match its arguments" in failure and "not retrying" in failure, failure
    assert receiver.snapshot() == []


SCAM = "URGENT: your account is suspended, call +1 555 0100"


def test_a_rewritten_failure_never_puts_its_text_into_a_signed_body(settings, procs, receiver, redis_conn):
    """download_error is one of the texts wagw writes, chosen by the kind of failure; nothing
    of what the failed job says is copied."""
    rewritten = {
        "3EBSEC000031": (SCAM, JobStatus.FAILED),
        "3EBSEC000032": (
            f"Traceback (most recent call last):\nworkers.host_client.HostCrashed: {SCAM}",
            JobStatus.FAILED,
        ),
        "3EBSEC000033": (
            f"workers.validation.InvalidArguments: {SCAM} (download failed with status code 410)",
            JobStatus.FAILED,
        ),
        "3EBSEC000034": (f"wagw.backends.base.BackendError: {SCAM}", JobStatus.STOPPED),
        "3EBSEC000035": (f"{SCAM}\nMoved to FailedJobRegistry, due to AbandonedJobError", JobStatus.CANCELED),
    }
    for message_id, (exc_string, status) in rewritten.items():
        download, _ = store(redis_conn, settings, message_id)
        forge_failed(redis_conn, download, exc_string, status)
    procs.scheduler()
    procs.worker(1)
    errors = {}
    for message_id in rewritten:
        payload = delivered(redis_conn, receiver, message_id)
        assert isinstance(payload["image"], dict) and payload["image"]["url"].startswith("https://mmg.whatsapp.net/")
        text = json.dumps(payload)
        for word in ("URGENT", "suspended", "555 0100", "call"):
            assert word not in text, (message_id, payload["download_error"])
        errors[message_id] = payload["download_error"]
    assert "HostCrashed" in errors["3EBSEC000032"]  # the kind of failure is still told
    assert "no longer on WhatsApp's servers" in errors["3EBSEC000033"]


def test_a_result_whose_extension_is_not_the_events_mimetypes_is_refused(settings, procs, receiver, redis_conn):
    """The event is an image/jpeg: download_media names it <sha256>.jpg. A result naming the
    event's own file with another extension (an .exe, or another media type's) is not used."""
    media_dir = settings.media_path
    forged = {"3EBSEC000041": "exe", "3EBSEC000042": "png", "3EBSEC000043": "bin"}
    for message_id, ext in forged.items():
        download, payload = store(redis_conn, settings, message_id)
        own = base64.b64decode(payload["media"]["file_sha256"]).hex()
        forge_finished(redis_conn, download, {"path": f"{media_dir}/{own}.{ext}", "sha256": own})
    # The genuine name passes: the check refuses only what download_media would not write.
    genuine, payload = store(redis_conn, settings, "3EBSEC000044")
    own = base64.b64decode(payload["media"]["file_sha256"]).hex()
    forge_finished(redis_conn, genuine, {"path": f"{media_dir}/{own}.jpg", "sha256": own})
    procs.scheduler()
    procs.worker(1)
    for message_id, ext in forged.items():
        got = delivered(redis_conn, receiver, message_id)
        assert "the download's result was refused" in got["download_error"], got
        assert isinstance(got["image"], dict) and f".{ext}" not in json.dumps(got)
    assert delivered(redis_conn, receiver, "3EBSEC000044")["image"] == f"{media_dir}/{own}.jpg"
