"""The dashboard as a local user or a web page would attack it (findings 3 and 8 of the trust
issue): it never unpickles what is in Redis, it has no page without a login, and it answers
only to Host names that are its own."""

from __future__ import annotations

import os
import pickle
import stat
import zlib

import httpx
import pytest
from rq import Queue

from chaos.polling import wait_for
from tests.integration.test_dashboard import answers, show_login, start_dashboard, stop
from wagw import keys
from wagw.hostcheck import host_allowed
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
