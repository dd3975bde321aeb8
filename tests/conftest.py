"""Shared fixtures: a real embedded Redis per test run, settings, and `wagw run` daemons."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import WaWorkerProcess, child_pids
from wagw import keys
from wagw.procs import pid_alive
from wagw.supervisor.embedded_redis import start_standalone


def short_tempdir(prefix: str = "wagw-") -> Path:
    # Unix socket paths are capped at 107 bytes; pytest's tmp_path can be longer.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


@pytest.fixture(scope="session")
def redis_server():
    """The project's own embedded redis-server, on a unix socket, for this test run."""
    data_dir = short_tempdir("wagw-redis-")
    proc, server = start_standalone(data_dir)
    yield server
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except Exception:
        proc.kill()
        proc.wait()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server) -> str:
    return redis_server.url


@pytest.fixture
def redis_conn(redis_server) -> Redis:
    """A clean database for each test."""
    conn = Redis.from_url(redis_server.url)
    conn.flushall()
    yield conn
    conn.close()


@pytest.fixture
def data_dir():
    path = short_tempdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def settings_env(monkeypatch, data_dir, redis_url):
    """Environment for Settings pointing at the test Redis and a fresh data dir."""
    for key in list(os.environ):
        if key.startswith("WAGW_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("WAGW_DATA_DIR", str(data_dir))
    monkeypatch.setenv("WAGW_REDIS_URL", redis_url)
    monkeypatch.setenv("WAGW_BACKEND", "fake")
    return monkeypatch


@pytest.fixture
def settings(settings_env):
    from wagw.config import Settings

    return Settings(_env_file=None)


# What an e2e daemon runs with unless the test says otherwise: small, and quick to stop.
E2E_ENV = {"WAGW_BACKEND": "fake", "WAGW_WEBHOOK_WORKERS": "1", "WAGW_SHUTDOWN_GRACE": "5"}


@pytest.fixture
def receiver():
    """A webhook endpoint on loopback that keeps what it is sent (webhook_harness.Receiver)."""
    from tests.integration.webhook_harness import Receiver

    with Receiver() as rx:
        yield rx


@pytest.fixture
def log_lines():
    """Every line logged while the test runs, as text."""
    from loguru import logger

    lines: list[str] = []
    handler = logger.add(lambda message: lines.append(str(message)), level="DEBUG")
    yield lines
    logger.remove(handler)


@pytest.fixture
def log_records():
    """Every line logged while the test runs, as loguru records (level, extra, message)."""
    from loguru import logger

    records: list[dict] = []
    handler = logger.add(lambda message: records.append(message.record), level="DEBUG")
    yield records
    logger.remove(handler)


@pytest.fixture
def cpu_burners():
    """Two CPU-bound processes for the test's duration: what runs beside it on a loaded machine."""
    burners = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(2)]
    yield burners
    for burner in burners:
        burner.kill()
        burner.wait(timeout=10)


@pytest.fixture
def daemon_factory():
    """Make `wagw run` subprocesses (fake backend, own data dir); all are killed at teardown."""
    from chaos.daemon import Daemon

    made: list[Daemon] = []
    dirs: list[Path] = []

    def make(
        env: dict[str, str] | None = None, data_dir: Path | None = None, run_accounts: list[str] | None = None
    ) -> Daemon:
        if data_dir is None:
            data_dir = short_tempdir("wagw-e2e-")
            dirs.append(data_dir)
        daemon = Daemon(data_dir, {**E2E_ENV, **(env or {})}, run_accounts)
        made.append(daemon)
        return daemon

    yield make
    for daemon in made:
        daemon.kill_tree()
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)


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
