"""`wagw api` as a process: it serves until SIGTERM, and a call waiting for its job then
answers 202 with the job id at once instead of holding the stop for WAGW_API_WAIT."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx

from chaos.polling import wait_for

LOGIN = ("app", "correct-horse-battery")


def test_sigterm_stops_it_gracefully_answering_a_waiting_call(settings_env, redis_conn, data_dir):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "WAGW_SETTINGS_FROM_PARENT": "1", "WAGW_API_BASIC_AUTH": ":".join(LOGIN)}
    env["WAGW_API_WAIT"] = "120"  # no worker runs: the call would wait this long
    proc = subprocess.Popen(
        [sys.executable, "-m", "wagw", "api", "--addr", f"127.0.0.1:{port}"],
        env=env,
        cwd=data_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=LOGIN, timeout=60)

        def up() -> bool:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                return client.get("/health").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 30, 0.1, "wagw api to answer")
        answers: list[httpx.Response] = []
        waiting = threading.Thread(target=lambda: answers.append(client.post("/wa/contacts", json={})))
        waiting.start()
        wait_for(lambda: redis_conn.llen("rq:queue:wa") == 1, 10, 0.05, "the call's job")
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        waiting.join(timeout=30)
        assert time.monotonic() - stopped_at < 20  # not the 120 s wait
        assert answers and answers[0].status_code == 202, answers
        assert answers[0].headers["location"].startswith("/jobs/")
        output = proc.stdout.read() if proc.stdout else ""
        assert "api listening on http://127.0.0.1:" in output and "api stopped" in output
        assert LOGIN[1] not in output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
