"""How many times a wa job goes to Redis and back: at hundreds of jobs a second each round trip
is a measurable part of the wa-worker's throughput (bench/README.md)."""

from __future__ import annotations

import time

from rq import Retry, Worker

from tests.integration.wa_worker_harness import ALICE
from wagw import keys

JOBS = 100
# The wa-worker and its native host, per fetch_avatar job, counted as the reads Redis serves
# (one per round trip, a pipeline being one). 7 now (the host's record of the fake call is
# one); it was 18 before the worker pipelined its defaults, size checks and taker record, and
# 14 before its execution record and its defaults joined the MULTI that starts the job (its
# size read with its take) and rq's success bookkeeping became one script with the state
# and the suspension check that follow it.
MAX_READS_PER_JOB = 8.5


def run_jobs(wa_queue, redis_conn, count: int, ids: list[str] | None = None) -> int:
    """Enqueue `count` jobs as wagw.client does, wait for them; the reads this test made itself
    (their ids appended to `ids`)."""
    jobs = [
        wa_queue.prepare_data(
            "workers.wa.fetch_avatar",
            kwargs={"jid": ALICE},
            timeout=30,
            retry=Retry(max=2, interval=[2, 2]),
            meta={"wagw_defaults": False},
        )
        for _ in range(count)
    ]
    with redis_conn.pipeline() as pipe:
        enqueued = wa_queue.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()
    if ids is not None:
        ids += [job.id for job in enqueued]
    reads = 1
    deadline = time.monotonic() + 60
    finished = f"rq:finished:{keys.WA_QUEUE}"
    while redis_conn.zcard(finished) < count:
        reads += 1
        assert time.monotonic() < deadline, f"{redis_conn.zcard(finished)} of {count} jobs finished in 60 s"
        time.sleep(0.2)  # polls are reads too: few of them
    redis_conn.delete(finished)
    return reads + 2


def test_a_wa_job_costs_at_most_eight_round_trips(start_worker, wa_queue, redis_conn):
    start_worker()
    run_jobs(wa_queue, redis_conn, 10)  # warm: the host connected, the quarantine read cached
    before = redis_conn.info("stats")["total_reads_processed"]
    own = run_jobs(wa_queue, redis_conn, JOBS)
    after = redis_conn.info("stats")["total_reads_processed"]
    per_job = (after - before - own - 1) / JOBS
    assert per_job <= MAX_READS_PER_JOB, f"{per_job:.2f} reads per job"


def test_a_wa_job_logs_one_line(start_worker, wa_queue, redis_conn):
    """rq logs several INFO lines per job (taken, "Job OK", completed): at hundreds of jobs a
    second that is most of the log stream. The wa-worker keeps one."""
    worker = start_worker()
    ids: list[str] = []
    run_jobs(wa_queue, redis_conn, 5, ids)
    lines = worker.log.read_text(errors="replace").splitlines()
    for job_id in ids:
        naming = [line for line in lines if job_id in line]
        assert len(naming) == 1 and "Successfully completed" in naming[0], "\n".join(naming)


def test_after_its_jobs_the_worker_reads_as_rq_would_show_it(start_worker, wa_queue, redis_conn):
    """rq-dashboard's view of the worker: idle, no current job, its jobs counted and timed."""
    start_worker()
    run_jobs(wa_queue, redis_conn, 5)
    deadline = time.monotonic() + 30
    while True:
        [worker] = Worker.all(queue=wa_queue)
        seen = (worker.get_state(), worker.get_current_job_id(), worker.successful_job_count)
        if seen == ("idle", None, 5) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert seen == ("idle", None, 5)
    assert worker.total_working_time > 0
