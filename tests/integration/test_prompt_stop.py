"""Every worker stops on its first SIGTERM, idle or busy, at any moment, on a loaded machine.

rq's command listener used to wait up to 60 s per read, and redis-py joins it on stop: an idle
worker signalled at the wrong moment outlived its grace and was SIGKILLed. Each round here
signals a real worker at a random moment beside two CPU-bound processes, and counts the rounds
that needed a SIGKILL (target 0)."""

from __future__ import annotations

import random
import signal
import subprocess
import time

from rq.job import Job, JobStatus

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import ALICE, WaWorkerProcess
from tests.integration.webhook_harness import Processes, Receiver
from wagw import keys
from wagw.redisconn import SERIALIZER

ROUNDS = 6
GRACE = 8.0  # a stop that takes longer counts as one the supervisor would have killed


def stop_within_grace(proc: subprocess.Popen) -> tuple[bool, float]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        return False, GRACE
    assert code == 0, f"exit {code} on a graceful stop"
    return True, time.monotonic() - started


def test_wa_worker_stops_on_first_sigterm_at_random_moments(cpu_burners, settings_env, data_dir, redis_conn, wa_queue):
    rng = random.Random(19)
    killed, took = [], []
    for round_ in range(ROUNDS):
        worker = WaWorkerProcess(redis_conn, data_dir).start()
        busy = round_ % 2 == 1
        job = wa_queue.enqueue("workers.wa.send_text", to=ALICE, text=f"round {round_}") if busy else None
        time.sleep(rng.uniform(0.0, 1.5))  # the random moment, not a wait for a condition
        stopped, seconds = stop_within_grace(worker.proc)
        took.append(round(seconds, 2))
        if not stopped:
            killed.append((round_, worker.tail(30)))
        if job is not None:
            # Finished in hand, or never started: a graceful stop loses no job.
            status = Job.fetch(job.id, connection=redis_conn, serializer=SERIALIZER).get_status()
            assert status in (JobStatus.FINISHED, JobStatus.QUEUED), f"round {round_}: job left {status}"
            wa_queue.empty()
    assert not killed, f"{len(killed)} of {ROUNDS} stops needed SIGKILL (stop times {took}): {killed[0][1]}"


def test_webhook_worker_stops_on_first_sigterm_at_random_moments(cpu_burners, settings_env, data_dir, redis_conn):
    rng = random.Random(20)
    with Receiver() as receiver:
        settings_env.setenv("WAGW_WEBHOOK_URLS", receiver.url)
        settings_env.setenv("WAGW_WEBHOOK_SECRET", "t0p-secret-for-the-tests")
        procs = Processes(data_dir)
        killed, took = [], []
        try:
            for round_ in range(ROUNDS):
                name = f"webhook-worker-{round_}"
                proc = procs.start(name, "webhook-worker")
                wait_for(
                    lambda proc=proc: (
                        redis_conn.scard("rq:workers:" + keys.WEBHOOKS_QUEUE) > 0 or proc.poll() is not None
                    ),
                    20,
                    0.05,
                    "the webhook worker to register",
                )
                assert proc.poll() is None, (data_dir / f"{name}.log").read_text()
                time.sleep(rng.uniform(0.0, 1.5))  # deliberate: the signal lands at a random moment
                stopped, seconds = stop_within_grace(proc)
                procs.procs.pop(name)
                took.append(round(seconds, 2))
                if not stopped:
                    killed.append(round_)
                wait_for(
                    lambda: redis_conn.scard("rq:workers:" + keys.WEBHOOKS_QUEUE) == 0,
                    10,
                    0.05,
                    "the stopped worker to unregister",
                )
        finally:
            procs.stop_all()
        assert not killed, f"rounds {killed} of {ROUNDS} needed SIGKILL (stop times {took})"
