"""The HTTP API's call core against a real Redis and a real wa-worker (fake backend), the app
in-process: each route enqueues the same job an rq app would, and answers with its outcome."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from wagw import keys

ALICE = "15551234567@s.whatsapp.net"
LOGIN = ("app", "correct-horse-battery")
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{LOGIN[0]}:{LOGIN[1]}".encode()).decode()}


@pytest.fixture
def api(settings_env, redis_conn):
    from wagw.api.app import create_app
    from wagw.config import Settings

    settings_env.setenv("WAGW_API_BASIC_AUTH", f"{LOGIN[0]}:{LOGIN[1]}")
    settings_env.setenv("WAGW_API_WAIT", "20")
    app = create_app(Settings(_env_file=None))
    with TestClient(app, base_url="http://127.0.0.1", headers=AUTH) as client:
        yield client


def sent(redis_conn, op: str) -> list[dict]:
    records = [json.loads(raw) for raw in redis_conn.lrange(keys.FAKE_SENT, 0, -1)]
    return [r["args"] for r in records if r["op"] == op]


def test_a_call_waits_for_its_job_and_answers_its_result(api, start_worker, redis_conn):
    start_worker()
    answer = api.post("/wa/send_text", json={"to": "+1 555 123 4567", "text": "hello"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["code"] == "SUCCESS" and body["results"]["to"] == ALICE
    assert body["results"]["id"].startswith("3EB0")
    assert sent(redis_conn, "send_text")[-1]["text"] == "hello"


def test_bad_arguments_are_400_naming_the_argument_and_nothing_is_enqueued(api, redis_conn):
    answer = api.post("/wa/send_text", json={"to": ALICE, "text": ""})
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "VALIDATION_ERROR" and "text:" in body["message"]
    assert body["results"] == {"argument": "text"}
    # An rq option is not an argument: an app cannot pick the job id, its meta or its retry.
    for option in ("job_id", "meta", "retry", "at_front", "resend_on_unknown", "connection", "account"):
        answer = api.post("/wa/send_text", json={"to": ALICE, "text": "x", option: "x"})
        assert answer.status_code == 400 and answer.json()["results"] == {"argument": option}, answer.text
    assert api.post("/wa/send_text", content=b"[1]", headers={"content-type": "application/json"}).status_code == 400
    assert api.post("/wa/send_text", content=b"{nope", headers={"content-type": "application/json"}).status_code == 400
    assert redis_conn.llen("rq:queue:wa") == 0 and sent(redis_conn, "send_text") == []


def test_prefer_respond_async_answers_202_at_once_then_the_job_is_polled(api, start_worker, redis_conn):
    answer = api.post("/wa/fetch_avatar", json={"jid": ALICE}, headers={"Prefer": "respond-async"})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["results"]["job_id"]
    assert answer.headers["location"] == f"/jobs/{job_id}"
    # The first account's jobs go on queue wa, which its workers wait on.
    assert answer.json()["results"]["status"] == "pending" and redis_conn.llen("rq:queue:wa") == 1
    polled = api.get(f"/jobs/{job_id}")
    assert polled.status_code == 202 and polled.json()["code"] == "PENDING"
    start_worker()
    from chaos.polling import wait_for

    wait_for(lambda: api.get(f"/jobs/{job_id}").status_code == 200, 30, 0.1, "the job to finish")
    assert api.get(f"/jobs/{job_id}").json()["results"]["jid"] == ALICE
    assert api.get("/jobs/no-such-job").status_code == 404


def test_a_job_still_running_at_the_wait_answers_202_with_a_location(api, redis_conn):
    answer = api.post("/wa/fetch_avatar", json={"jid": ALICE}, headers={"Prefer": "wait=1"})
    assert answer.status_code == 202
    assert answer.headers["location"].startswith("/jobs/")


def test_no_account_named_with_several_and_an_unknown_one(settings_env, redis_conn):
    from wagw.api.app import create_app
    from wagw.config import Settings

    settings_env.setenv("WAGW_API_BASIC_AUTH", f"{LOGIN[0]}:{LOGIN[1]}")
    settings_env.setenv("WAGW_ACCOUNTS", "sales,support")
    with TestClient(create_app(Settings(_env_file=None)), base_url="http://127.0.0.1", headers=AUTH) as api:
        answer = api.post("/wa/contacts", json={}, headers={"Prefer": "respond-async"})
        assert answer.status_code == 400 and answer.json()["code"] == "DEVICE_ID_REQUIRED"
        answer = api.post("/wa/contacts?device_id=nobody", json={}, headers={"Prefer": "respond-async"})
        assert answer.status_code == 404 and answer.json()["code"] == "DEVICE_NOT_FOUND"
        answer = api.post("/wa/contacts", headers={"Prefer": "respond-async", "X-Device-Id": "support"})
        assert answer.status_code == 202
        job = answer.json()["results"]["job_id"]
        assert redis_conn.lrange("rq:queue:wa.support", 0, -1) == [job.encode()]
        redis_conn.hset(keys.DEVICE_JIDS, "sales/session", "15550001111:7@s.whatsapp.net")
        answer = api.post(
            "/wa/contacts", headers={"Prefer": "respond-async", "X-Device-Id": "15550001111@s.whatsapp.net"}
        )
        assert answer.status_code == 202
        assert redis_conn.lrange("rq:queue:wa", 0, -1) == [answer.json()["results"]["job_id"].encode()]  # the first


def test_an_idempotency_key_returns_the_first_job_and_other_arguments_are_422(api, redis_conn):
    headers = {"Prefer": "respond-async", "Idempotency-Key": "order-1234"}
    first = api.post("/wa/send_text", json={"to": ALICE, "text": "once"}, headers=headers)
    again = api.post("/wa/send_text", json={"to": ALICE, "text": "once"}, headers=headers)
    assert first.status_code == again.status_code == 202, again.text
    assert first.json()["results"]["job_id"] == again.json()["results"]["job_id"]
    assert redis_conn.llen("rq:queue:wa") == 1
    other = api.post("/wa/send_text", json={"to": ALICE, "text": "twice"}, headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_CONFLICT", other.text
    assert redis_conn.llen("rq:queue:wa") == 1
