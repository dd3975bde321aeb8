"""An app with only Redis access enqueues what it likes (findings 1, 2, 3 and 7 of the trust
issue): workers run only their own job paths, nothing calls a callback or unpickles what a
job names, and nothing a job carries reaches the log as content or as a forged line."""

from __future__ import annotations

import pickle
import re
import zlib

import pytest
from rq import Callback, Queue, Retry
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import ALICE, wait_done
from tests.integration.webhook_harness import Processes
from wagw import keys

PROBE = "tests.security.callback_probe"
FORGED = "2026-01-01 00:00:00.000 CRITICAL [supervisor] FORGED"


@pytest.fixture
def probe(tmp_path):
    marker = tmp_path / "probe"
    return marker


def _failure(job: Job) -> str:
    job.refresh()
    result = job.latest_result()
    return result.exc_string if result is not None else ""


def test_a_wa_worker_runs_no_function_but_its_own_jobs(start_worker, wa_queue, probe, tmp_path):
    worker = start_worker(WAGW_TEST_PROBE=str(probe))
    marker = tmp_path / "owned"
    attacks = [
        wa_queue.enqueue("os.system", f"touch {marker}", retry=Retry(max=2, interval=1)),
        wa_queue.enqueue("subprocess.getoutput", "id"),
        wa_queue.enqueue("os.getenv", "WAGW_WEBHOOK_SECRET"),
        wa_queue.enqueue(f"{PROBE}.called"),
        wa_queue.enqueue("workers.wa.host_client.HostClient.stop"),
        wa_queue.enqueue("workers.wa.OutcomeUnknown", "published for its name, not as a job"),
    ]
    for job in attacks:
        assert wait_done(job) == JobStatus.FAILED
        assert "RefusedJob: refused job" in _failure(job) and "this worker runs only workers.wa." in _failure(job)
        assert job.return_value() is None
    assert attacks[0].retries_left == 0  # refused for good, not retried
    assert not marker.exists() and not probe.exists()
    # The worker is untouched: same pid, and the next real job runs.
    ok = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
    assert wait_done(ok) == JobStatus.FINISHED and worker.proc.poll() is None


def test_a_job_naming_a_callback_fails_and_the_callback_is_never_imported(start_worker, wa_queue, probe):
    start_worker(WAGW_TEST_PROBE=str(probe))
    for option in ("on_success", "on_failure", "on_stopped"):
        job = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE, **{option: Callback(f"{PROBE}.called")})
        assert wait_done(job) == JobStatus.FAILED
        assert "a job may not name callbacks" in _failure(job)
    assert not probe.exists() and not probe.with_suffix(".called").exists()


def test_a_pickled_job_is_never_unpickled_by_a_worker(start_worker, wa_queue, redis_conn, tmp_path):
    worker = start_worker()
    marker = tmp_path / "unpickled"

    class RunsCode:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    job = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)  # queued while we rewrite it
    wa_queue.empty()
    payload = pickle.dumps(RunsCode())
    redis_conn.hset(job.key, mapping={"data": zlib.compress(payload), "meta": payload})
    wa_queue.push_job_id(job.id)
    wait_for(lambda: job.id not in wa_queue.get_job_ids(), 20, what="the worker to take the pickled job")
    ok = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
    assert wait_done(ok) == JobStatus.FINISHED and worker.proc.poll() is None
    assert not marker.exists()


def test_the_reaper_never_calls_a_callback_a_job_names(settings_env, data_dir, redis_conn, probe):
    """A delivery job parked in the started registry by a worker that never existed, naming a
    failure callback: the scheduler's reaper hands it to rq's abandoned-job handling, which
    would call the callback."""
    queue = Queue(keys.WEBHOOKS_QUEUE, connection=redis_conn, serializer=JSONSerializer)
    job = queue.enqueue("workers.webhooks.deliver", "e", "id", "{}", on_failure=Callback(f"{PROBE}.called"))
    queue.remove(job)
    execution = "exec1"
    redis_conn.zadd(StartedJobRegistry(queue=queue).key, {f"{job.id}:{execution}": 9999999999})
    redis_conn.hset(f"rq:execution:{job.id}:{execution}", mapping={"worker_name": "made-up-worker"})
    procs = Processes(data_dir, WAGW_TEST_PROBE=str(probe))
    try:
        procs.scheduler()
        wait_for(lambda: job.get_status(refresh=True) == JobStatus.FAILED, 20, what="the reaper to fail the job")
    finally:
        procs.stop_all()
    assert not probe.exists() and not probe.with_suffix(".called").exists()


def test_nothing_a_job_carries_reaches_the_log_as_content_or_as_a_forged_line(start_worker, wa_queue):
    worker = start_worker()
    sent = wa_queue.enqueue(
        "workers.wa.send_text", to="+15557654321", text="my private message body", description=f"send\n{FORGED}"
    )
    assert wait_done(sent) == JobStatus.FINISHED
    forged = wa_queue.enqueue(f"workers.wa.nothing\n{FORGED}\x1b[2K\u202e", description=f"x\n{FORGED}")
    assert wait_done(forged) == JobStatus.FAILED
    ok = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
    assert wait_done(ok) == JobStatus.FINISHED
    log = worker.log.read_text()
    assert "my private message body" not in log and "15557654321" not in log
    assert "\x1b" not in log and "\u202e" not in log  # a terminal escape or a bidi override arrives escaped
    record = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ")
    assert not [line for line in log.splitlines() if record.match(line) and "FORGED" in line]
    assert f"    {FORGED}\\x1b[2K\\u202e" in log  # it is there, escaped, as a continuation line


def test_ids_that_are_not_jobs_neither_stop_a_worker_nor_pile_up_nor_forge_what_operators_read(
    start_worker, wa_queue, redis_conn, data_dir, settings
):
    """`RPUSH rq:queue:wa "bad id!"` (the access enqueuing needs) once ended the wa-worker that
    took it, and the stranded-job rescue put it back for the next: a crash loop, with every
    job behind it stuck. Here an app floods the queue with such ids, some written to forge a
    log line or the status table, with the scheduler's rescue running."""
    from rich.console import Console

    from tests.integration.bad_ids import dead_letter_counts
    from wagw import deadletter
    from wagw.status import collect
    from wagw.status.table import render

    procs = Processes(data_dir)
    try:
        procs.scheduler()
        worker = start_worker()
        pid = worker.pid
        flood = [f"bad id {n}!".encode() for n in range(deadletter.KEEP + 150)]
        flood += [b"\xff" * 2_000_000, f"x\n{FORGED}\x1b[2K\u202e".encode(), b"[bold]owned[/bold]"]
        redis_conn.rpush(f"rq:queue:{keys.WA_QUEUE}", *flood)
        canary = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
        assert wait_done(canary, 90) == JobStatus.FINISHED
        wait_for(lambda: sum(dead_letter_counts(redis_conn).values()) == len(flood), 30, what="every id counted")
        assert worker.proc.poll() is None and worker.pid == pid  # never stopped, never restarted
        # Bounded: the newest KEEP entries, each a short record whatever the id's size.
        dead = keys.DEAD_LETTER.format(queue=keys.WA_QUEUE)
        assert redis_conn.llen(dead) == deadletter.KEEP
        assert max(len(raw) for raw in redis_conn.lrange(dead, 0, -1)) < 2_000
        assert redis_conn.llen(f"rq:queue:{keys.WA_QUEUE}") == 0
        assert redis_conn.llen(f"rq:queue:{keys.WA_QUEUE}:intermediate") == 0
    finally:
        procs.stop_all()

    log = worker.log.read_text()
    assert "\x1b" not in log and "\u202e" not in log
    assert not [line for line in log.splitlines() if line.startswith(FORGED.split(" CRITICAL")[0])]
    assert "x\\n" + FORGED + "\\x1b[2K\\xe2\\x80\\xae" in log  # the id, escaped, inside its own line

    report = collect(settings, redis_conn)
    assert report["dead_letter"]["count"] == deadletter.KEEP
    [big] = [entry for entry in report["dead_letter"]["recent"] if entry["bytes"] == 2_000_000]
    assert big["id"] == "\\xff" * 256 + "… (2000000 bytes)" and big["reason"] == "id_too_long"
    console = Console(record=True, width=400)
    render(report, console)
    shown = console.export_text()
    assert "[bold]owned[/bold]" in shown  # markup shown as text, not applied
    assert "\x1b" not in shown and "\\xff\\xff" in shown
