"""The dashboard as a local user or a web page would attack it (findings 3 and 8 of the trust
issue): it never unpickles what is in Redis, it has no page without a login, and it answers
only to Host names that are its own."""

from __future__ import annotations

import os
import pickle
import stat
import subprocess
import sys
import time
import zlib

import httpx
import pytest
from rq import Queue

from chaos.polling import wait_for
from tests.integration.test_dashboard import answers, show_login, start_dashboard, stop
from wagw import keys
from wagw.config import MIN_DASHBOARD_PASSWORD_CHARS
from wagw.exitcodes import ExitCode
from wagw.hostcheck import host_allowed
from wagw.loginthrottle import LOGIN_FAILURES_PER_CLIENT, LOGIN_FAILURES_TOTAL
from wagw.redisconn import SERIALIZER


class _RunsCode:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def dashboard(settings_env):
    proc, base = start_dashboard()
    try:
        wait_for(lambda: answers(base) or proc.poll() is not None, timeout=20, what="the dashboard to listen")
        assert proc.poll() is None, proc.stdout.read()
        yield base
    finally:
        assert stop(proc) == 0


@pytest.mark.timeout(60)
def test_a_pickled_job_is_never_unpickled_by_the_job_view_or_delete(dashboard, redis_conn, tmp_path):
    marker = tmp_path / "pwned"
    job = Queue(keys.WA_QUEUE, connection=redis_conn, serializer=SERIALIZER).enqueue(
        "workers.wa.fetch_avatar", jid="15551234567"
    )
    payload = pickle.dumps(_RunsCode(str(marker)))
    redis_conn.hset(job.key, mapping={"meta": payload, "data": zlib.compress(payload)})
    login = show_login()
    view = httpx.get(f"{dashboard}/0/view/job/{job.id}", auth=login, timeout=10)
    delete = httpx.post(
        f"{dashboard}/job/{job.id}/delete", auth=login, timeout=10, headers={"X-Requested-With": "XMLHttpRequest"}
    )
    assert not marker.exists()
    assert view.status_code == 200 and delete.json() == {"status": "OK"}  # read as JSON, then deleted
    assert not redis_conn.exists(job.key)


@pytest.mark.timeout(60)
def test_there_is_no_page_without_the_login_even_on_loopback(dashboard, settings):
    for path in ("/", "/0/view/workers", "/0/data/workers.json", "/requeue/wa"):
        assert httpx.get(f"{dashboard}{path}", timeout=5).status_code == 401
    user, password = show_login()
    assert user == "wagw" and len(password) >= 24
    assert httpx.get(dashboard, auth=(user, password), timeout=5).status_code == 200
    assert httpx.get(dashboard, auth=(user, password + "x"), timeout=5).status_code == 401
    stored = settings.data_dir / "dashboard.password"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600 and stored.read_text().strip() == password


@pytest.mark.timeout(60)
def test_a_rebound_dns_name_reaches_nothing(dashboard):
    login = show_login()
    answer = httpx.get(dashboard, auth=login, headers={"Host": "attacker.example"}, timeout=5)
    assert answer.status_code == 421 and "wagw" not in answer.text.lower().replace("wagw_dashboard_hosts", "")
    assert httpx.get(dashboard, auth=login, headers={"Host": "localhost:8080"}, timeout=5).status_code == 200


def test_host_names_the_dashboard_answers_to():
    assert host_allowed("127.0.0.1:9181", []) and host_allowed("[::1]:9181", []) and host_allowed("localhost", [])
    assert host_allowed("203.0.113.5:9181", [])  # an address cannot be rebound
    assert not host_allowed("attacker.example:9181", [])
    assert host_allowed("Ops.Example:443", ["ops.example"])


def test_show_login_prints_the_configured_pair_when_there_is_one(settings_env):
    settings_env.setenv("WAGW_DASHBOARD_USER", "ops")
    settings_env.setenv("WAGW_DASHBOARD_PASSWORD", "a-long-operator-password")
    assert show_login() == ("ops", "a-long-operator-password")


LOGIN_WINDOW = 4.0  # seconds; the default is a minute


def _attempt(base: str, login: tuple[str, str], source: str = "127.0.0.1") -> httpx.Response:
    """One login from `source` (any 127.x address reaches the dashboard: a distinct client)."""
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=5) as client:
        return client.get(base, auth=login)


def _refused(response: httpx.Response) -> bool:
    retry_after = int(response.headers.get("Retry-After", "0"))
    return response.status_code == 429 and 1 <= retry_after <= LOGIN_WINDOW


@pytest.mark.timeout(90)
def test_guessing_the_password_is_throttled_per_client_and_in_total(settings_env):
    settings_env.setenv("WAGW_DASHBOARD_LOGIN_WINDOW", str(LOGIN_WINDOW))
    proc, base = start_dashboard()
    try:
        wait_for(lambda: answers(base) or proc.poll() is not None, timeout=20, what="the dashboard to listen")
        assert proc.poll() is None, proc.stdout.read()
        login = show_login()
        wrong = (login[0], "guess")

        # One client guessing: a few tries per window, every other one refused unchecked.
        started = time.monotonic()
        answers_ = [_attempt(base, wrong) for _ in range(60)]
        windows = 1 + (time.monotonic() - started) / LOGIN_WINDOW
        checked = [answer for answer in answers_ if answer.status_code == 401]
        assert 1 <= len(checked) <= LOGIN_FAILURES_PER_CLIENT * windows
        assert all(_refused(answer) for answer in answers_ if answer.status_code != 401)
        # Locked out, even the right password is refused, so a guess cannot tell. Judged right
        # after a refused guess: on a loaded machine the loop above can outlast the lockout.
        wait_for(
            lambda: _refused(_attempt(base, wrong)) and _refused(_attempt(base, login)),
            timeout=LOGIN_WINDOW * 3,
            what="the right password refused during a lockout",
        )
        assert _attempt(base, wrong, source="127.0.0.2").status_code == 401  # another client is not
        wait_for(lambda: _attempt(base, login).status_code == 200, timeout=LOGIN_WINDOW * 3, what="the lockout to end")

        # Many clients guessing: past the total budget every login is refused, from anywhere.
        # Judged the moment the total refuses a client still under its own limit: on a loaded
        # machine the loop can outlast a window, and the budget rightly refills.
        wait_for(lambda: _attempt(base, login, "127.0.0.2").status_code == 200, LOGIN_WINDOW * 3, what="a quiet window")
        refused_by_total = False
        checked_at: list[float] = []
        for client in range(1, LOGIN_FAILURES_TOTAL // LOGIN_FAILURES_PER_CLIENT + 3):
            own = 0
            for _ in range(LOGIN_FAILURES_PER_CLIENT):
                answer = _attempt(base, wrong, f"127.0.1.{client}")
                if answer.status_code == 401:
                    own += 1
                    checked_at.append(time.monotonic())
                    recent = [at for at in checked_at if at > checked_at[-1] - LOGIN_WINDOW]
                    assert len(recent) <= LOGIN_FAILURES_TOTAL, "more guesses checked in one window than the total"
                    continue
                assert _refused(answer) and own < LOGIN_FAILURES_PER_CLIENT
                # Spent, the budget refuses a new client too, until its oldest guesses age out
                # of the window (judged with a second's margin: a loaded machine is slow).
                # (Guesses of the first part may still be in the window: then it is not judged.)
                spent = len(checked_at) >= LOGIN_FAILURES_TOTAL
                spent_within = time.monotonic() - checked_at[-LOGIN_FAILURES_TOTAL] if spent else LOGIN_WINDOW
                correct = _attempt(base, login, "127.0.2.1")
                if spent_within < LOGIN_WINDOW - 1:
                    assert _refused(correct), "the total budget spent: a new client is refused"
                refused_by_total = True
                break
            if refused_by_total:
                break
        assert refused_by_total, "the total budget never refused anyone"
        wait_for(lambda: _attempt(base, login, "127.0.2.1").status_code == 200, LOGIN_WINDOW * 3, what="the end")
    finally:
        assert stop(proc) == 0
    output = proc.stdout.read()
    assert login[1] not in output and "guess" not in output
    assert "failed logins from 127.0.0.1" in output  # the operator sees the attack, once per lockout
    assert output.count("failed logins from 127.0.0.1") <= windows + 1  # a loaded machine spans more windows


def test_a_short_dashboard_password_stops_the_dashboard_naming_the_setting(settings_env):
    settings_env.setenv("WAGW_DASHBOARD_USER", "ops")
    settings_env.setenv("WAGW_DASHBOARD_PASSWORD", "hunter2")
    result = subprocess.run(
        [sys.executable, "-m", "wagw", "dashboard"], capture_output=True, text=True, timeout=30, env=os.environ.copy()
    )
    assert result.returncode == ExitCode.CONFIG
    assert result.stderr.strip().splitlines() == [
        f"wagw: invalid setting WAGW_DASHBOARD_PASSWORD: must be at least {MIN_DASHBOARD_PASSWORD_CHARS} characters "
        "(e.g. `openssl rand -base64 18`)"
    ]
    assert "hunter2" not in result.stdout + result.stderr
