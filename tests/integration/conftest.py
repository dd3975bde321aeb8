"""Fixtures of the integration tier that several modules share."""

from __future__ import annotations

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import WaWorkerProcess, child_pids
from wagw import keys
from wagw.procs import pid_alive


@pytest.fixture
def start_worker(settings_env, data_dir, redis_conn):
    """Start wa-workers (env overrides on top of the test settings); all stopped at teardown."""
    made: list[WaWorkerProcess] = []

    def start(slot: int = 1, ready: bool = True, **env: str) -> WaWorkerProcess:
        worker = WaWorkerProcess(redis_conn, data_dir, slot, env)
        made.append(worker)
        return worker.start(ready)

    yield start
    for worker in made:
        hosts = child_pids(worker.pid) if worker.proc.poll() is None else []
        worker.stop()
        for pid in hosts:
            wait_for(lambda pid=pid: not pid_alive(pid), 5, what=f"host {pid} to exit with its worker")
        print(f"--- {worker.log.name} ---\n{worker.tail(200)}")


@pytest.fixture
def wa_queue(redis_conn) -> Queue:
    return Queue(keys.WA_QUEUE, connection=redis_conn, serializer=JSONSerializer)
