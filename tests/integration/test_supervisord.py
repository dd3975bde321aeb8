"""supervisor.conf, as shipped, under a real supervisord: every program runs against the test
Redis with the fake backend, a wa job kills its native host with a real Go panic, the job is
retried and fails with the panic text, and the session is untouched."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import xmlrpc.client
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue, Retry
from rq.job import JobStatus

from chaos.polling import wait_for
from wagw import keys
from wagw.procs import pid_alive
from wagw.redisconn import SERIALIZER

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "supervisor.conf"
WEBHOOKS_ONLY = ROOT / "deploy" / "supervisor-webhooks-only.conf"
CRASH_JID = "crash@s.whatsapp.net"
API_PASSWORD = "supervisord-api-password"

pytest.importorskip("supervisor", reason="the supervisor package is in the dev extra")
from supervisor.xmlrpc import SupervisorTransport  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Supervisord:
    """supervisord -n -c <conf>, driven over its XML-RPC unix socket."""

    def __init__(self, conf: Path, env: dict[str, str], data_dir: Path) -> None:
        self.log = data_dir / "supervisord.out"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-n", "-c", str(conf)],
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.socket = data_dir / "supervisor.sock"

    def rpc(self):
        # A fresh transport per call: one that failed (socket not there yet) stays unusable.
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def processes(self) -> dict[str, dict]:
        try:
            return {info["name"]: info for info in self.rpc().getAllProcessInfo()}
        except (OSError, http.client.HTTPException, xmlrpc.client.Error):
            return {}

    def all_running(self, expected: set[str]):
        infos = self.processes()
        if set(infos) == expected and all(info["statename"] == "RUNNING" for info in infos.values()):
            return infos
        return None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=45)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode


@pytest.fixture
def supervisord_env(settings_env, data_dir, redis_url) -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        WAGW_BIN=str(Path(sys.executable).with_name("wagw")),
        WAGW_DATA_DIR=str(data_dir),
        WAGW_REDIS_URL=redis_url,
        WAGW_BACKEND="fake",
        WAGW_WA_WORKERS="1",
        WAGW_WEBHOOK_WORKERS="1",
        WAGW_DASHBOARD_ADDR=f"127.0.0.1:{free_port()}",
        WAGW_METRICS_ADDR=f"127.0.0.1:{free_port()}",
        WAGW_API_ADDR=f"127.0.0.1:{free_port()}",
        WAGW_API_BASIC_AUTH=f"app:{API_PASSWORD}",
    )
    assert Path(env["WAGW_BIN"]).exists(), "the wagw console script is installed in the venv"
    return env


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def scrape(addr: str) -> dict[str, dict]:
    try:
        text = httpx.get(f"http://{addr}/metrics", timeout=2).text
    except httpx.TransportError:
        return {}
    samples: dict[str, dict] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


@pytest.mark.timeout(170)
def test_supervisor_conf_runs_everything_and_a_native_crash_stays_in_its_host(supervisord_env, data_dir, redis_conn):
    expected = {"scheduler", "history", "webhook-worker-1", "wa-worker-1", "session", "dashboard", "metrics", "api"}
    sup = Supervisord(CONF, supervisord_env, data_dir)
    try:
        before = wait_for(lambda: sup.all_running(expected), timeout=60, what="every program RUNNING")
        wait_for(
            lambda: redis_conn.hget(keys.DEVICE_STATUS.format(role="session"), "connected") == b"1",
            timeout=30,
            what="the session connected",
        )

        wa = Queue(keys.WA_QUEUE, connection=redis_conn, serializer=SERIALIZER)
        job = wa.enqueue("workers.wa.fetch_avatar", jid=CRASH_JID, retry=Retry(max=1, interval=1))

        def settled():
            job.refresh()
            return job.get_status() in (JobStatus.FAILED, JobStatus.FINISHED) and job.retries_left == 0

        wait_for(settled, timeout=90, what="the crashing job to be retried and then fail")
        assert job.get_status() == JobStatus.FAILED
        failure = job.latest_result().exc_string
        assert "panic:" in failure and "SIGABRT" in failure, failure[-2000:]

        crashes = [json.loads(raw) for raw in redis_conn.lrange(keys.CRASHES, 0, -1)]
        host_crashes = [c for c in crashes if c.get("operation") == "fetch_avatar"]
        # Two attempts (the first crashed and was retried), each killed a native host.
        assert len(host_crashes) == 2, crashes

        # The crash stayed in the native host: every program kept its pid, the session too.
        after = sup.all_running(expected)
        assert after is not None, sup.processes()
        assert {n: i["pid"] for n, i in after.items()} == {n: i["pid"] for n, i in before.items()}

        # ... and the session still turns inbound messages into events.
        redis_conn.rpush(
            keys.FAKE_INBOUND,
            json.dumps(
                {
                    "type": "message",
                    "id": "3EB0SUPERVISORD",
                    "chat": "15551234567@s.whatsapp.net",
                    "sender": "15551234567@s.whatsapp.net",
                    "push_name": "Alice",
                    "text": "still there?",
                    "timestamp": 1764412200,
                }
            ),
        )
        wait_for(lambda: redis_conn.xlen(keys.EVENTS_STREAM) >= 1, timeout=20, what="the event in the log")

        # The metrics program sees it all through Redis.
        samples = wait_for(lambda: scrape(supervisord_env["WAGW_METRICS_ADDR"]), timeout=20, what="metrics")
        assert samples["wagw_session_connected"][frozenset({("account", "default")})] == 1
        assert samples["wagw_queue_jobs"][frozenset({("queue", "wa"), ("state", "failed")})] == 1
        crashes_metric = samples.get("wagw_native_host_crashes_total", {})
        assert crashes_metric.get(frozenset({("operation", "fetch_avatar"), ("account", "default")})) == 2, (
            crashes_metric
        )
        assert samples["wagw_events_received_total"][frozenset({("event", "message"), ("account", "default")})] == 1
        # wa-workers add up job counts in memory and write them every couple of seconds.
        crashed_jobs = frozenset({("operation", "fetch_avatar"), ("outcome", "crashed"), ("account", "default")})
        wait_for(
            lambda: scrape(supervisord_env["WAGW_METRICS_ADDR"]).get("wagw_wa_jobs_total", {}).get(crashed_jobs) == 2,
            timeout=15,
            what="both crashed attempts counted in wagw_wa_jobs_total",
        )

        # The api program enqueues through the operation table; the wa-worker answers the send.
        api = f"http://{supervisord_env['WAGW_API_ADDR']}"
        wait_for(lambda: _answers(f"{api}/health"), timeout=30, what="the api program answering /health")
        reply = httpx.post(
            f"{api}/wa/send_text",
            json={"to": "+1 555 123 4567", "text": "from the api program"},
            auth=("app", API_PASSWORD),
            timeout=60,
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["results"]["to"] == "15551234567@s.whatsapp.net", reply.text
        assert reply.json()["results"]["id"], reply.text

        pids = [info["pid"] for info in after.values()]
    except BaseException:
        print(sup.output())
        raise
    finally:
        code = sup.stop()
    assert code == 0, sup.output()
    for pid in pids:
        wait_for(lambda pid=pid: not pid_alive(pid), timeout=10, what=f"pid {pid} gone after shutdown")


@pytest.mark.timeout(90)
def test_webhooks_only_variant_runs_just_webhook_workers(supervisord_env, data_dir):
    supervisord_env["WAGW_WEBHOOK_WORKERS"] = "2"
    sup = Supervisord(WEBHOOKS_ONLY, supervisord_env, data_dir)
    try:
        running = wait_for(
            lambda: sup.all_running({"webhook-worker-1", "webhook-worker-2"}),
            timeout=60,
            what="both webhook workers RUNNING",
        )
        pids = [info["pid"] for info in running.values()]
    except BaseException:
        print(sup.output())
        raise
    finally:
        code = sup.stop()
    assert code == 0, sup.output()
    for pid in pids:
        wait_for(lambda pid=pid: not pid_alive(pid), timeout=10, what=f"pid {pid} gone after shutdown")
