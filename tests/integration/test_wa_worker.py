"""`wagw wa-worker` as a real subprocess: real native hosts, real Go panics, real Redis."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from chaos.polling import Timeout, wait_for
from tests.integration.wa_worker_harness import ALICE, CRASH, DONE, HANG, sent, wait_done
from wagw import keys
from wagw.procs import pid_alive
from wagw.scheduler.reaper import StrandedJobs


# Tests --------------------------------------------------------------------------------------
def test_a_wa_job_runs_in_the_native_host_and_the_device_status_is_published(start_worker, wa_queue, redis_conn):
    worker = start_worker()
    job = wa_queue.enqueue("workers.wa.fetch_avatar", jid="+1 555 123 4567", preview=True)
    assert wait_done(job) == JobStatus.FINISHED
    assert job.return_value()["jid"] == ALICE and job.return_value()["type"] == "preview"
    [call] = sent(redis_conn)
    assert (call["role"], call["op"]) == ("worker-1", "fetch_avatar")
    assert call["args"] == {"jid": ALICE, "preview": True, "is_community": False}  # normalised before the host
    status = worker.status()
    assert status["connected"] == "1" and status["paired"] == "1" and status["state"] == "connected"
    assert status["jid"] == "15550001111:2@s.whatsapp.net" and status["host_pid"] == str(worker.host_pid())
    assert 0 < redis_conn.ttl(keys.DEVICE_STATUS.format(role="worker-1")) <= 10
    assert job.latest_result().worker_name == f"wa-worker-1.{worker.pid}"


def test_three_go_panics_fail_the_job_with_the_panic_text_then_a_fresh_host_serves(start_worker, wa_queue, redis_conn):
    # Poison targets apart (tests/integration/test_wa_quarantine.py): every attempt reaches the host.
    worker = start_worker(WAGW_POISON_CRASHES="10")
    first_host = worker.host_pid()
    job = wa_queue.enqueue("workers.wa.fetch_avatar", jid=CRASH, retry=Retry(max=2))
    assert wait_done(job, 30) == JobStatus.FAILED
    assert len(sent(redis_conn, "fetch_avatar")) == 3  # three attempts, three real Go panics
    job.refresh()
    assert job.retries_left == 0
    exc = job.latest_result().exc_string
    assert "HostCrashed: native host of slot 1" in exc
    assert "died of signal SIGABRT during fetch_avatar" in exc
    assert "panic: runtime error: invalid memory address or nil pointer dereference" in exc
    crashes = [json.loads(raw) for raw in redis_conn.lrange(keys.CRASHES, 0, -1)]
    assert len(crashes) == 3 and {c["exit"] for c in crashes} == {"signal SIGABRT"}
    assert all(c["panic"].startswith("panic: runtime error") and c["operation"] == "fetch_avatar" for c in crashes)
    assert not pid_alive(first_host)

    after = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
    assert wait_done(after) == JobStatus.FINISHED and after.return_value()["jid"] == ALICE
    assert worker.host_pid() not in (None, first_host)
    worker.assert_alive()  # the wa-worker itself never died


def test_a_hung_call_fails_at_the_job_timeout_and_the_next_job_succeeds(start_worker, wa_queue):
    worker = start_worker()
    hung_host = worker.host_pid()
    # No Retry (the default would retry the timeout after 2 s, see docs/jobs.md).
    job = wa_queue.enqueue("workers.wa.fetch_avatar", jid=HANG, job_timeout=3, meta={"wagw_defaults": False})
    assert wait_done(job, 15) == JobStatus.FAILED
    job.refresh()
    took = (job.ended_at - job.started_at).total_seconds()
    assert 3 <= took < 3 + 1.0, took
    assert "HostTimeout: fetch_avatar did not finish within the job timeout" in job.latest_result().exc_string
    assert not pid_alive(hung_host)

    after = wa_queue.enqueue("workers.wa.joined_groups")
    assert wait_done(after) == JobStatus.FINISHED and after.return_value()["groups"]


def test_a_job_enqueued_with_plain_rq_gets_its_defaults_and_documented_result(start_worker, redis_url, redis_conn):
    start_worker()
    enqueuer = textwrap.dedent(f"""
        import sys
        from redis import Redis
        from rq import Queue
        from rq.serializers import JSONSerializer
        redis = Redis.from_url({redis_url!r})
        job = Queue("wa", connection=redis, serializer=JSONSerializer).enqueue(
            "workers.wa.fetch_avatar", jid="15551234567@s.whatsapp.net")
        assert not [m for m in sys.modules if m.split(".")[0] in ("wagw", "workers")]
        print(job.id)
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGW_")}
    job_id = subprocess.run(
        [sys.executable, "-c", enqueuer], env=env, capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    job = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
    assert wait_done(job) == JobStatus.FINISHED
    result = job.return_value()
    assert set(result) == {"jid", "url", "id", "type", "direct_path"}
    assert result["jid"] == ALICE and result["type"] == "image" and result["url"].startswith("https://")
    job.refresh()
    assert job.timeout == 30 and job.retries_left == 2 and job.retry_intervals == [2, 2]  # docs/jobs.md


def test_explicit_timeout_and_retry_are_kept(start_worker, wa_queue):
    start_worker()
    job = wa_queue.enqueue("workers.wa.joined_groups", job_timeout=45, retry=Retry(max=4, interval=[1, 1, 1, 1]))
    assert wait_done(job) == JobStatus.FINISHED
    job.refresh()
    assert job.timeout == 45 and job.retries_left == 4
    plain = wa_queue.enqueue("workers.wa.joined_groups", meta={"wagw_defaults": False})
    assert wait_done(plain) == JobStatus.FINISHED
    plain.refresh()
    assert plain.timeout == 180 and plain.retries_left is None


CORRUPT_JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0junk" * 64).decode()
GROUP = "120363000000000001@g.us"


def test_malformed_arguments_fail_at_once_without_retry_or_host_restart(start_worker, wa_queue, redis_conn):
    worker = start_worker()
    cases = [
        ("fetch_avatar", {"jid": 15551234567}, "jid: Input should be a valid string"),
        ("fetch_avatar", {"jid": ALICE, "preview": "yes"}, "preview: Input should be a valid boolean"),
        ("fetch_avatar", {}, "jid: Field required"),
        ("fetch_avatar", {"jid": "not-a-jid@nowhere"}, "jid: 'not-a-jid@nowhere' is not a valid JID"),
        ("fetch_avatar", {"jid": ALICE, "size": 640}, "size: Extra inputs are not permitted"),
        ("send_text", {"to": ALICE, "text": "x" * 1_048_576}, "text: String should have at most 65536 characters"),
        ("send_text", {"to": ALICE}, "text: Field required"),
        ("send_text", {"to": "12", "text": "hi"}, "to: phone number '12' must have 7 to 15 digits"),
        ("send_text", {"to": ALICE, "text": ["hi"]}, "text: Input should be a valid string"),
        ("mark_read", {"chat": "120363000000000001@g.us", "ids": ["A1"]}, "sender is required when chat is a group"),
        # passes the magic-bytes check, does not decode (Pillow in neonize would raise OSError)
        ("send_image", {"to": ALICE, "image": CORRUPT_JPEG}, "image: the image does not decode"),
        ("send_text", {"to": GROUP, "text": "hi", "reply_to": "3EB0AA"}, "reply_to_sender (who sent the quoted"),
    ]
    for operation, kwargs, message in cases:
        assert_rejected(worker, wa_queue, redis_conn, operation, kwargs, message)


def assert_rejected(worker, wa_queue, redis_conn, operation, kwargs, message):
    host = worker.host_pid()
    job = wa_queue.enqueue(f"workers.wa.{operation}", kwargs=kwargs, retry=Retry(max=3))
    assert wait_done(job) == JobStatus.FAILED
    job.refresh()
    assert job.retries_left == 0 and len(job.results()) == 1  # one attempt, no retry
    exc = job.latest_result().exc_string
    assert f"InvalidArguments: invalid arguments for {operation}: " in exc
    assert message in exc
    assert sent(redis_conn) == []  # never reached the host
    assert worker.host_pid() == host and worker.status()["connected"] == "1"


def test_a_killed_wa_worker_leaves_no_started_job_behind(start_worker, wa_queue, redis_conn):
    worker = start_worker()
    host = worker.host_pid()
    job = wa_queue.enqueue("workers.wa.fetch_avatar", jid=HANG, job_timeout=60, retry=Retry(max=1, interval=30))
    wait_for(lambda: sent(redis_conn, "fetch_avatar"), 10, what="the hanging call to reach the host")
    assert job.get_status() == JobStatus.STARTED

    worker.proc.kill()  # SIGKILL: no cleanup of its own
    worker.proc.wait()
    wait_for(lambda: not pid_alive(host), 5, what="the host to die with its worker (PR_SET_PDEATHSIG)")

    replacement = start_worker()
    # Handed to its Retry at once (interval 30 s: scheduled, not run again here).
    wait_for(lambda: job.get_status() == JobStatus.SCHEDULED, 10, what="the orphaned job to be rescheduled")
    job.refresh()
    assert job.retries_left == 0
    assert not wa_queue.started_job_registry.get_job_ids()
    ok = wa_queue.enqueue("workers.wa.joined_groups")
    assert wait_done(ok) == JobStatus.FINISHED and ok.latest_result().worker_name == f"wa-worker-1.{replacement.pid}"


def test_sigterm_stops_the_worker_and_its_host(start_worker):
    worker = start_worker()
    host = worker.host_pid()
    started = time.monotonic()
    assert worker.stop() == 0
    assert time.monotonic() - started < 5
    wait_for(lambda: not pid_alive(host), 5, what="the host to exit")


def test_an_unpaired_slot_fails_jobs_with_the_pairing_hint(start_worker, wa_queue, redis_conn):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "worker-1", "unpaired")
    worker = start_worker(ready=False, WAGW_WA_CONNECT_WAIT="3")
    wait_for(lambda: worker.status().get("state") == "unpaired", 15, what="the slot to report not paired")
    assert worker.status()["paired"] == "0" and worker.status()["connected"] == "0"

    job = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE, meta={"wagw_defaults": False})
    assert wait_done(job, 10) == JobStatus.FAILED
    assert "SlotNotPaired: slot 1 is not paired: run `wagw pair --role worker-1`" in job.latest_result().exc_string
    assert sent(redis_conn) == []


def hosts_started(worker) -> int:
    return worker.log.read_text(errors="replace").count("started native host pid")


@pytest.mark.parametrize(
    ("state", "error", "fix"),
    [
        ("logged_out", "SlotLoggedOut", "logged out by the phone — run `wagw pair --role worker-1 --force`"),
        ("stream_replaced", "SlotReplaced", "another client connected with its keys — stop it"),
    ],
)
def test_a_logged_out_or_replaced_slot_fails_jobs_for_good_and_starts_no_host_until_paired_again(
    start_worker, wa_queue, redis_conn, state, error, fix
):
    """Retrying cannot help a device the phone removed, or whose keys another client uses: the
    wa-worker stays up, starts no host in a loop, fails each job at once without its Retry,
    naming the fix, and `wagw pair` brings the slot back without a restart."""
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "worker-1", state)  # the host's backend exits 81 / 82
    worker = start_worker(ready=False)  # the default connect wait: 15 s
    wait_for(lambda: worker.status().get("state") == state, 15, what=f"the slot to report {state}")
    assert worker.status()["connected"] == "0" and hosts_started(worker) == 1

    # For 4 s of jobs (the host backoff of 0.5, 1, 2 s would have started 3 more hosts).
    until, failed = time.monotonic() + 4, 0
    while time.monotonic() < until or failed < 3:
        job = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE, retry=Retry(max=3, interval=1))
        assert wait_done(job, 5) == JobStatus.FAILED  # at once, not after the 15 s connect wait
        assert f"workers.host_client.{error}: slot 1 (worker-1): {fix}" in job.latest_result().exc_string
        assert job.get_status(refresh=True) == JobStatus.FAILED  # failed for good, not scheduled for a retry
        failed += 1
    assert hosts_started(worker) == 1
    status = worker.status()
    assert status["state"] == state and status["host_pid"] == "" and status["worker_pid"] == str(worker.pid)
    assert sent(redis_conn) == []

    paired = subprocess.run(
        [sys.executable, "-m", "wagw", "pair", "--role", "worker-1", "--force"],
        env=worker.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert paired.returncode == 0, paired.stdout + paired.stderr
    job = wa_queue.enqueue("workers.wa.joined_groups")
    assert wait_done(job, 20) == JobStatus.FINISHED  # the job itself noticed the pairing
    assert hosts_started(worker) == 2
    worker.assert_alive()
    wait_for(lambda: worker.status().get("state") == "connected", 10, what="the slot to report connected")


def test_a_temporarily_banned_slot_fails_jobs_at_once_and_waits_the_long_pause(start_worker, wa_queue, redis_conn):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "worker-1", "temporary_ban")  # the host exits 83
    worker = start_worker(ready=False)
    wait_for(lambda: worker.status().get("state") == "temporary_ban", 15, what="the slot to report the ban")

    until, failed = time.monotonic() + 4, 0
    while time.monotonic() < until or failed < 3:
        job = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE, meta={"wagw_defaults": False})
        assert wait_done(job, 5) == JobStatus.FAILED  # at once, not after the 15 s connect wait
        exc_string = job.latest_result().exc_string
        assert (
            "workers.host_client.SlotBanned: slot 1 (worker-1): WhatsApp temporarily banned the account" in exc_string
        )
        assert re.search(r"its native host tries again in (8\d\d|900) s; slow down what apps send", exc_string)
        failed += 1
    assert hosts_started(worker) == 1
    status = wait_for(lambda: worker.status().get("retry_at") and worker.status(), 5, what="when the slot tries again")
    assert status["state"] == "temporary_ban" and 880 < float(status["retry_at"]) - time.time() <= 900
    assert sent(redis_conn) == []


def test_a_pickled_job_fails_and_the_worker_carries_on(start_worker, redis_conn):
    worker = start_worker()
    pickled = Queue(keys.WA_QUEUE, connection=redis_conn).enqueue("workers.wa.joined_groups")  # rq's default: pickle
    assert wait_done(pickled) == JobStatus.FAILED
    assert (
        "DeserializationError"
        in Job.fetch(pickled.id, connection=redis_conn, serializer=JSONSerializer).latest_result().exc_string
    )
    worker.assert_alive()
    assert sent(redis_conn) == []
    ok = Queue(keys.WA_QUEUE, connection=redis_conn, serializer=JSONSerializer).enqueue("workers.wa.joined_groups")
    assert wait_done(ok) == JobStatus.FINISHED


def test_sigterms_to_an_idle_worker_under_a_stream_of_jobs_lose_none(start_worker, redis_conn):
    """The first account's wa-worker serves `wa.default` and `wa`. A SIGTERM landing between
    a job being taken and started (rq stops an idle worker by raising from the handler)
    must leave the job where the rescue finds it: every job enqueued ends."""
    queues = [Queue(name, connection=redis_conn, serializer=JSONSerializer) for name in ("wa", "wa.default")]
    jobs: list[Job] = []
    streaming = threading.Event()

    def stream():
        while streaming.is_set():
            jobs.append(queues[len(jobs) % 2].enqueue("workers.wa.joined_groups"))
            time.sleep(0.005)

    for round_ in range(10):
        worker = start_worker()
        streaming.set()
        feeder = threading.Thread(target=stream)
        feeder.start()
        time.sleep(0.1 + 0.03 * round_)  # a different moment of the dequeue each round
        assert worker.stop() == 0
        streaming.clear()
        feeder.join()

    start_worker()
    rescuer = StrandedJobs(redis_conn, [q.name for q in queues])

    def all_ended() -> bool:
        rescuer.rescue()
        return all(job.get_status() in DONE for job in jobs)

    try:
        wait_for(all_ended, 60, 0.2, f"all {len(jobs)} jobs to end")
    except Timeout:
        stuck = [job for job in jobs if job.get_status() not in DONE]
        pytest.fail(f"{len(stuck)} of {len(jobs)} jobs never ended: {sorted({str(j.get_status()) for j in stuck})}")
    failed = [job for job in jobs if job.get_status() != JobStatus.FINISHED]
    assert not failed, [(job.id, job.get_status(), (job.latest_result() or job).exc_string) for job in failed[:3]]


def test_a_host_that_dies_between_jobs_is_replaced_within_seconds(start_worker, wa_queue):
    """An idle worker wakes every IDLE_LOOK_EVERY seconds to notice it (rq's idle wait is 20 s)."""
    worker = start_worker()
    assert wait_done(wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)) == JobStatus.FINISHED
    host = worker.host_pid()  # the worker has just gone back to waiting for jobs
    os.kill(host, signal.SIGKILL)
    began = time.monotonic()
    wait_for(
        lambda: worker.host_pid() not in (None, host) and worker.status().get("connected") == "1", 30, what="a new host"
    )
    assert time.monotonic() - began < 15  # 5 s wake, a forked host, its connect: not rq's 20 s
