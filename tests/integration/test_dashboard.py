"""`wagw dashboard` as a real process against the test Redis, with real RQ workers running
JSON jobs, every page loaded in headless Chromium; screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from rq import Queue

from chaos.polling import wait_for
from wagw import keys
from wagw.exitcodes import ExitCode
from wagw.redisconn import SERIALIZER

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
    # Let the pages' XHR polling run before the DOM is dumped.
    "--virtual-time-budget=5000",
]
XSS = "<img src=x onerror=\"document.title='pwned'\">"

needs_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK), reason="chromium is not installed (apt-get install chromium; CI installs it)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_dashboard(*extra: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wagw", "dashboard", "--addr", f"127.0.0.1:{port}", *extra],
        env=env or os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, f"http://127.0.0.1:{port}"


def answers(url: str, **kwargs) -> bool:
    try:
        httpx.get(url, timeout=2, **kwargs)
        return True
    except httpx.TransportError:
        return False


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    return proc.returncode


@pytest.fixture
def busy_redis(settings_env, redis_conn, redis_url):
    """wa and webhook jobs in every state: finished, failed, scheduled, queued, and one
    started by a live JSON-serializer worker (the state that broke the workers page)."""
    wa = Queue(keys.WA_QUEUE, connection=redis_conn, serializer=SERIALIZER)
    hooks = Queue(keys.WEBHOOKS_QUEUE, connection=redis_conn, serializer=SERIALIZER)
    jobs = {
        "xss": wa.enqueue("builtins.str", XSS, description=f"workers.wa.user_info({XSS!r})"),
        "wa_failed": wa.enqueue(
            "json.loads", "{not json", description="workers.wa.fetch_avatar(jid='crash@s.whatsapp.net')"
        ),
        "hook_failed": hooks.enqueue("json.loads", "{", description="message 3EB0C127 -> http://127.0.0.1:9/hook"),
        "started": wa.enqueue("time.sleep", 120, description="workers.wa.send_text(to='15551234567', text='hi')"),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            from redis import Redis
            from rq import Queue, SimpleWorker
            from wagw.redisconn import SERIALIZER
            conn = Redis.from_url({redis_url!r})
            queues = [Queue(name, connection=conn, serializer=SERIALIZER) for name in ("webhooks", "wa")]
            SimpleWorker(queues, connection=conn, serializer=SERIALIZER, name="wa-worker-1").work()
        """),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: jobs["started"].id in wa.started_job_registry.get_job_ids(), timeout=20, what="a started job")
        assert wa.failed_job_registry.get_job_ids() == [jobs["wa_failed"].id]
        assert hooks.failed_job_registry.get_job_ids() == [jobs["hook_failed"].id]
        # The worker is busy now: these stay queued / scheduled.
        jobs["queued"] = wa.enqueue("workers.wa.send_text", to="15551234567", text="later")
        jobs["hook_queued"] = hooks.enqueue("workers.webhooks.deliver", "http://127.0.0.1:9/hook", "ev1", "{}")
        jobs["scheduled"] = hooks.enqueue_in(
            timedelta(hours=1), "workers.webhooks.deliver", "http://127.0.0.1:9/hook", "ev2", "{}"
        )
        yield jobs
    finally:
        worker.kill()
        worker.wait(timeout=10)


def render(url: str, name: str) -> str:
    """Load url in a fresh headless Chromium; save a screenshot; return the DOM after scripts ran."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"dashboard-{name}.png"
    shot.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="wagw-chromium-") as profile:
        result = subprocess.run(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.stat().st_size > 5000, f"empty screenshot for {url}"
    return result.stdout


def show_login() -> tuple[str, str]:
    """The generated login, as an operator reads it."""
    result = subprocess.run(
        [sys.executable, "-m", "wagw", "dashboard", "--show-login"],
        capture_output=True,
        text=True,
        timeout=30,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr
    user, password = re.fullmatch(r"user: (\S+)\npassword: (\S+)\n", result.stdout).groups()
    return user, password


@needs_chromium
@pytest.mark.timeout(150)
def test_every_page_renders_while_json_jobs_run(busy_redis):
    jobs = busy_redis
    proc, base = start_dashboard()
    try:
        wait_for(lambda: answers(base) or proc.poll() is not None, timeout=20, what="the dashboard to listen")
        assert proc.poll() is None, proc.stdout.read()
        user, password = show_login()
        assert httpx.get(base, timeout=5).status_code == 401  # no dashboard without a login
        login = (user, password)

        # The endpoint behind the workers page: rq-dashboard 0.9 answers 500 here.
        workers = httpx.get(f"{base}/0/data/workers.json", auth=login, timeout=5)
        assert workers.status_code == 200, workers.text[:500]
        (worker,) = workers.json()["workers"]
        assert worker["name"] == "wa-worker-1"
        assert worker["current_job"]["job_id"] == jobs["started"].id

        base = base.replace("http://", f"http://{user}:{password}@")  # Chromium logs in with the URL
        pages = {
            "queues": f"{base}/",
            "workers": f"{base}/0/view/workers",
            "wa-queued": f"{base}/0/view/jobs/wa/queued/8/asc/1",
            "wa-failed": f"{base}/0/view/jobs/wa/failed/8/asc/1",
            "webhooks-failed": f"{base}/0/view/jobs/webhooks/failed/8/asc/1",
            "webhooks-scheduled": f"{base}/0/view/jobs/webhooks/scheduled/8/asc/1",
            "failed-job": f"{base}/0/view/job/{jobs['wa_failed'].id}",
            "xss-job": f"{base}/0/view/job/{jobs['xss'].id}",
        }
        with ThreadPoolExecutor(max_workers=2) as pool:
            dom = dict(zip(pages, pool.map(render, pages.values(), pages.keys()), strict=False))

        for name, page in dom.items():
            assert "Internal Server Error" not in page and "Loading..." not in page, name

        assert re.search(r'/view/jobs/wa/failed/8/asc/1">\s*1\s*<', dom["queues"]), "wa failed count"
        assert re.search(r'/view/jobs/webhooks/failed/8/asc/1">\s*1\s*<', dom["queues"]), "webhooks failed count"
        assert re.search(r'/view/jobs/wa/started/8/asc/1">\s*1\s*<', dom["queues"]), "wa started count"
        assert re.search(r'/view/jobs/webhooks/scheduled/8/asc/1">\s*1\s*<', dom["queues"]), "scheduled count"

        assert "wa-worker-1" in dom["workers"]
        assert "time.sleep(120)" in dom["workers"]  # the running JSON job, read with the right serializer

        assert jobs["queued"].id in dom["wa-queued"]
        assert jobs["wa_failed"].id in dom["wa-failed"] and "JSONDecodeError" in dom["wa-failed"]
        assert jobs["hook_failed"].id in dom["webhooks-failed"] and "3EB0C127" in dom["webhooks-failed"]
        assert jobs["scheduled"].id in dom["webhooks-scheduled"]

        assert "JSONDecodeError" in dom["failed-job"] and "failed" in dom["failed-job"]
        assert "crash@s.whatsapp.net" in dom["failed-job"]

        # Text chosen by anyone on WhatsApp (here in a result and a description) is shown, not run.
        assert "&lt;img src=x" in dom["xss-job"]
        assert "<img src=" not in dom["xss-job"] and "pwned</title>" not in dom["xss-job"]
    finally:
        assert stop(proc) == 0


def test_refuses_a_public_address_without_credentials(settings_env):
    settings_env.setenv("WAGW_DASHBOARD_ADDR", "0.0.0.0:9181")
    result = subprocess.run(
        [sys.executable, "-m", "wagw", "dashboard"],
        capture_output=True,
        text=True,
        timeout=30,
        env=os.environ.copy(),
    )
    assert result.returncode == ExitCode.CONFIG
    output = result.stdout + result.stderr
    assert "WAGW_DASHBOARD_USER" in output and "not loopback" in output


@pytest.mark.timeout(60)
def test_basic_auth_and_state_changes_need_the_dashboards_own_requests(settings_env, redis_conn):
    settings_env.setenv("WAGW_DASHBOARD_USER", "ops")
    login = ("ops", "s3cret phrase")
    settings_env.setenv("WAGW_DASHBOARD_PASSWORD", login[1])
    wa = Queue(keys.WA_QUEUE, connection=redis_conn, serializer=SERIALIZER)
    failed = wa.enqueue("workers.wa.send_text", to="1555", text="x")
    wa.remove(failed)
    wa.failed_job_registry.add(failed, ttl=600, exc_string="boom")
    proc, base = start_dashboard()
    try:
        wait_for(lambda: answers(base) or proc.poll() is not None, timeout=20, what="the dashboard to listen")
        assert httpx.get(base, timeout=5).status_code == 401
        assert httpx.get(base, auth=("ops", "wrong"), timeout=5).status_code == 401
        assert httpx.get(base, auth=login, timeout=5).status_code == 200

        # A cross-site form or <img> carrying cached credentials cannot requeue or delete.
        assert httpx.get(f"{base}/requeue/wa", auth=login, timeout=5).status_code == 403
        assert httpx.post(f"{base}/job/{failed.id}/requeue", auth=login, timeout=5).status_code == 403
        assert wa.failed_job_registry.get_job_ids() == [failed.id]

        # The dashboard's own jQuery request does it, with the JSON serializer.
        ajax = {"X-Requested-With": "XMLHttpRequest"}
        response = httpx.post(f"{base}/job/{failed.id}/requeue", auth=login, headers=ajax, timeout=5)
        assert response.status_code == 200 and response.json() == {"status": "OK"}
        assert wa.failed_job_registry.get_job_ids() == [] and failed.id in wa.get_job_ids()

        assert httpx.get(f"{base}/0/view/job/no-such-job", auth=login, timeout=5).status_code == 404
    finally:
        assert stop(proc) == 0
    assert "s3cret" not in proc.stdout.read()  # never log secrets
