"""go-whatsapp-web-multidevice's routes in-process against a real Redis and wa-worker (fake
backend): what the e2e tier's literal requests do not reach: uploads of refused requests,
202 for a job still running, the worker's public-address check behind a URL field,
idempotent retries, and the chats and senders read from the history store."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from tests.history_events import message_event, store_events
from wagw import keys

PHONE = "6289685028129@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
MEMBER = "15557654321@s.whatsapp.net"
LOGIN = ("app", "correct-horse-battery")
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{LOGIN[0]}:{LOGIN[1]}".encode()).decode()}
JPEG = bytes.fromhex("ffd8ffe000104a464946") + b"\0" * 64  # starts like a JPEG: enough for the upload


def client_for(settings_env, **env: str):
    from wagw.api.app import create_app
    from wagw.config import Settings

    settings_env.setenv("WAGW_API_BASIC_AUTH", ":".join(LOGIN))
    settings_env.setenv("WAGW_API_WAIT", "20")
    for name, value in env.items():
        settings_env.setenv(name, value)
    settings = Settings(_env_file=None)
    return settings, TestClient(create_app(settings), base_url="http://127.0.0.1", headers=AUTH)


@pytest.fixture
def gowa(settings_env, redis_conn):
    settings, client = client_for(settings_env)
    with client:
        yield settings, client


def sent(redis_conn, op: str) -> list[dict]:
    return [r["args"] for r in map(json.loads, redis_conn.lrange(keys.FAKE_SENT, 0, -1)) if r["op"] == op]


def uploads(settings) -> list[str]:
    return sorted(path.name for path in settings.media_path.glob("*")) if settings.media_path.exists() else []


def test_a_refused_requests_upload_is_removed_and_a_queued_job_answers_202(gowa, redis_conn, wa_queue):
    settings, client = gowa
    image = {"image": ("cat.jpg", JPEG, "image/jpeg")}
    answer = client.post("/send/image", data={"caption": "no phone"}, files=image)
    assert answer.status_code == 400 and answer.json()["message"] == "phone: cannot be blank."
    answer = client.post("/send/image", data={"phone": "0812345"}, files=image)  # refused by the job's checks
    assert answer.status_code == 400 and answer.json()["code"] == "VALIDATION_ERROR", answer.text
    assert answer.json()["message"].startswith("phone: ") and "international format" in answer.json()["message"]
    assert uploads(settings) == [] and len(wa_queue) == 0
    # no worker runs: the job is still queued when asked to answer at once
    answer = client.post("/send/message", json={"phone": PHONE, "message": "x"}, headers={"Prefer": "respond-async"})
    assert answer.status_code == 202 and answer.json()["code"] == "PENDING"
    assert answer.headers["location"] == f"/jobs/{answer.json()['results']['job_id']}"
    assert client.get(answer.headers["location"]).status_code == 202


def test_url_fields_meet_the_workers_address_check_and_retries_with_a_key_send_once(gowa, start_worker, redis_conn):
    _, client = gowa
    start_worker()
    answer = client.post("/send/image", json={"phone": PHONE, "image_url": "http://127.0.0.1:9/cat.jpg"})
    body = answer.json()
    assert answer.status_code == 400 and body["code"] == "VALIDATION_ERROR", answer.text
    assert body["message"].startswith("image_url: ") and "not a public address" in body["message"]
    assert body["results"]["error"].endswith("InvalidArguments")
    assert sent(redis_conn, "send_image") == []

    body = {"phone": PHONE, "message": "your code is 1234"}
    headers = {"Idempotency-Key": "order-42"}
    first = client.post("/send/message", json=body, headers=headers)
    again = client.post("/send/message", json=body, headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json()["results"]["message_id"] == again.json()["results"]["message_id"]
    other = client.post("/send/message", json={**body, "message": "other"}, headers=headers)
    assert other.status_code >= 400 and "idempotency key conflict" in other.json()["message"], other.text
    assert [r["text"] for r in sent(redis_conn, "send_text")] == ["your code is 1234"]


def test_chats_messages_and_senders_come_from_the_history_store(gowa, data_dir, start_worker, redis_conn):
    settings, client = gowa
    answer = client.get("/chats")
    assert answer.status_code == 503 and answer.json()["code"] == "HISTORY_NOT_READY"
    assert str(data_dir) not in answer.text  # no server path in an answer

    store_events(
        settings,
        message_event("ev-1", "default", "3EB0C127D7BACC83D6A1", PHONE, PHONE, "hi"),
        message_event("ev-2", "default", "3EB0C127D7BACC83D6A2", GROUP, MEMBER, "hello"),
    )

    chats = client.get("/chats", params={"limit": "10"}).json()
    assert chats["code"] == "SUCCESS" and chats["results"]["pagination"] == {"limit": 10, "offset": 0, "total": 2}
    assert {chat["jid"] for chat in chats["results"]["data"]} == {PHONE, GROUP}
    assert client.get("/chats", params={"archived": "true"}).json()["results"]["data"] == []
    found = client.get("/chat/6289685028129/messages").json()  # a bare number, as that API takes it
    assert found["code"] == "SUCCESS", found
    message = found["results"]["data"][0]
    assert (message["id"], message["content"], message["is_from_me"]) == ("3EB0C127D7BACC83D6A1", "hi", False)
    assert found["results"]["chat_info"]["jid"] == PHONE
    missing = client.get("/chat/15557654321@s.whatsapp.net/messages")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    assert client.get("/chat/x/messages", params={"start_time": "soon"}).status_code == 400

    # a reaction in a group names no sender: the stored message's, as that API takes it from its store
    start_worker()
    answer = client.post("/message/3EB0C127D7BACC83D6A2/reaction", json={"phone": GROUP, "emoji": "👍"})
    assert answer.status_code == 200, answer.text
    assert sent(redis_conn, "react")[-1]["sender"] == MEMBER
    answer = client.post(
        "/send/message", json={"phone": GROUP, "message": "yes", "reply_message_id": "3EB0C127D7BACC83D6A2"}
    )
    assert answer.status_code == 200, answer.text
    reply = sent(redis_conn, "send_text")[-1]
    assert (reply["reply_to"], reply["reply_to_sender"], reply["reply_to_text"]) == (
        "3EB0C127D7BACC83D6A2",
        MEMBER,
        "hello",
    )
