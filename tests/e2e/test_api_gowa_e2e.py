"""A go-whatsapp-web-multidevice client against `wagw run` (fake backend, API on loopback):
each request is written as that API's docs/openapi.yaml (v9.2.0) shows it (its paths, field
names, JSON or multipart bodies and example values), and each answer is checked field by
field against the response schema it documents there. What reached the fake is checked too.
One daemon for the module."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from chaos.polling import wait_for
from tests.e2e.conftest import API_LOGIN, free_port, one_api_daemon

pytestmark = pytest.mark.e2e
MESSAGE_ID = "3EB089B9D6ADD58153C561"  # the example message id of its docs
# Its examples' numbers; 62819273192397132 (17 digits, in its update/read examples) is no
# phone number, so those two use this one, and its 16-digit participant examples these.
PHONE = "6289685024051@s.whatsapp.net"
PARTICIPANTS = ["6281924129471", "6282924129472"]


def jpeg_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buffer, "jpeg")
    return buffer.getvalue()


JPEG = jpeg_bytes()
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


class _Files(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(JPEG)))
        self.end_headers()
        self.wfile.write(JPEG)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def files():
    """An http server on loopback serving JPEG at any path (the daemon fetches private
    addresses here: WAGW_FETCH_PRIVATE)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


WEBHOOK_SECRET = "e2e-node-example-secret"
NODE_EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "node" / "gowa-client.mjs"


@pytest.fixture(scope="module")
def node_port() -> int:
    """Where the Node.js example of the docs listens for webhooks."""
    return free_port()


@pytest.fixture(scope="module")
def gowa(node_port):
    env = {
        "WAGW_FETCH_PRIVATE": "true",
        "WAGW_API_WAIT": "30",
        "WAGW_WEBHOOK_URLS": f"http://127.0.0.1:{node_port}/webhook",
        "WAGW_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WAGW_WEBHOOK_EVENTS": "message",
    }
    for daemon, base in one_api_daemon("wagw-e2e-gowa-", media_dir=True, extra_env=env):
        with httpx.Client(base_url=base, auth=API_LOGIN, timeout=60) as client:
            yield daemon, client


def sent(daemon, op: str) -> list[dict]:
    records = [json.loads(raw) for raw in daemon.redis.lrange("wagw:fake:sent", 0, -1)]
    return [r["args"] for r in records if r["op"] == op]


def envelope(answer: httpx.Response, status: int = 200, code: str = "SUCCESS") -> dict:
    """The body after checking its status and the envelope every answer of that API has."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"code", "message", "results"}, body
    assert body["code"] == code and isinstance(body["message"], str) and body["message"], body
    return body


def send_response(answer: httpx.Response, started: str) -> dict:
    """SendResponse: results {message_id, status}; the message is the status, as there."""
    results = envelope(answer)["results"]
    assert set(results) == {"message_id", "status"}, results
    assert results["message_id"].startswith("3EB0"), results
    assert results["status"].startswith(started) and "(server timestamp: " in results["status"], results
    assert answer.json()["message"] == results["status"]
    return results


def test_send_message(gowa):
    daemon, client = gowa
    answer = client.post(
        "/send/message",
        json={
            "phone": "6289685028129@s.whatsapp.net",
            "message": "selamat malam",
            "reply_message_id": MESSAGE_ID,
            "is_forwarded": False,
            "duration": 86400,
        },
    )
    send_response(answer, "Message sent to 6289685028129@s.whatsapp.net")
    record = sent(daemon, "send_text")[-1]
    assert (record["to"], record["text"], record["reply_to"]) == (
        "6289685028129@s.whatsapp.net",
        "selamat malam",
        MESSAGE_ID,
    )
    # its validation error: 400 VALIDATION_ERROR naming the field as it names it
    body = envelope(client.post("/send/message", json={"phone": "6289685028129"}), 400, "VALIDATION_ERROR")
    assert body["message"].startswith("message:")
    # the device: an unknown X-Device-Id is its DEVICE_NOT_FOUND (404) with results.device_id
    answer = client.post("/send/message", json={"phone": PHONE, "message": "x"}, headers={"X-Device-Id": "nosuch"})
    assert envelope(answer, 404, "DEVICE_NOT_FOUND")["results"] == {"device_id": "nosuch"}


def test_send_image_by_upload_and_by_url(gowa, files):
    daemon, client = gowa
    form = {"phone": "6289685028129@s.whatsapp.net", "caption": "selamat malam", "view_once": "false"}
    answer = client.post(
        "/send/image", data={**form, "compress": "false"}, files={"image": ("cat.jpg", JPEG, "image/jpeg")}
    )
    send_response(answer, "Message sent to 6289685028129@s.whatsapp.net")
    record = sent(daemon, "send_image")[-1]
    assert record["image"] == {"bytes": len(JPEG), "sha256": hashlib.sha256(JPEG).hexdigest()}
    assert (record["caption"], record["view_once"], record["mimetype"]) == ("selamat malam", False, "image/jpeg")

    answer = client.post("/send/image", data={**form, "view_once": "true", "image_url": f"{files}/image.jpg"})
    send_response(answer, "Message sent to")
    record = sent(daemon, "send_image")[-1]
    assert record["view_once"] is True and record["image"]["sha256"] == hashlib.sha256(JPEG).hexdigest()
    # neither a file nor a URL: its validation error
    body = envelope(client.post("/send/image", data=form), 400, "VALIDATION_ERROR")
    assert "image" in body["message"] and "image_url" in body["message"]


def test_send_file(gowa):
    daemon, client = gowa
    answer = client.post(
        "/send/file",
        data={"phone": "6289685028129@s.whatsapp.net", "caption": "selamat malam"},
        files={"file": ("report.pdf", PDF, "application/pdf")},
    )
    send_response(answer, "Document sent to 6289685028129@s.whatsapp.net")
    assert sent(daemon, "send_file")[-1] == {
        "to": "6289685028129@s.whatsapp.net",
        "file": {"bytes": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest()},
        "filename": "report.pdf",
        "caption": "selamat malam",
        "mimetype": "application/pdf",
    }


def test_send_location_contact_link_and_poll(gowa):
    daemon, client = gowa
    answer = client.post("/send/location", json={"phone": PHONE, "latitude": "-7.797068", "longitude": "110.370529"})
    send_response(answer, f"Send location success {PHONE}")
    location = sent(daemon, "send_location")[-1]
    assert (location["to"], location["latitude"], location["longitude"]) == (PHONE, -7.797068, 110.370529)

    answer = client.post(
        "/send/contact", json={"phone": PHONE, "contact_name": "Aldino Kemal", "contact_phone": "6289685024992"}
    )
    send_response(answer, f"Contact sent to {PHONE}")
    contact = sent(daemon, "send_contact")[-1]
    assert contact["to"] == PHONE and contact["name"] == "Aldino Kemal"

    answer = client.post(
        "/send/link", json={"phone": PHONE, "link": "https://google.com", "caption": "Halo ini contoh caption"}
    )
    send_response(answer, f"Link sent to {PHONE}")
    assert sent(daemon, "send_link")[-1] == {
        "to": PHONE,
        "url": "https://google.com",
        "caption": "Halo ini contoh caption",
    }

    poll = {
        "phone": "6289685024421@s.whatsapp.net",
        "question": "Siapa Nama Avatar The Last Air Bender?",
        "options": ["Zuko", "Aang", "Katara"],
        "max_answer": 2,
    }
    send_response(client.post("/send/poll", json=poll), "Send poll success 6289685024421@s.whatsapp.net")
    record = sent(daemon, "send_poll")[-1]
    assert (record["question"], record["options"], record["max_answers"]) == (
        poll["question"],
        poll["options"],
        2,
    )


def test_react_revoke_edit_and_mark_read(gowa):
    daemon, client = gowa
    answer = client.post(f"/message/{MESSAGE_ID}/reaction", json={"phone": PHONE, "emoji": "🙏"})
    send_response(answer, f"Reaction sent to {PHONE}")
    react = sent(daemon, "react")[-1]
    assert (react["chat"], react["message_id"], react["emoji"]) == (PHONE, MESSAGE_ID, "🙏")

    send_response(client.post(f"/message/{MESSAGE_ID}/revoke", json={"phone": PHONE}), f"Revoke success {PHONE}")
    revoke = sent(daemon, "revoke")[-1]
    assert (revoke["chat"], revoke["message_id"]) == (PHONE, MESSAGE_ID)

    answer = client.post(f"/message/{MESSAGE_ID}/update", json={"phone": PHONE, "message": "Hello World"})
    send_response(answer, f"Update message success {PHONE}")
    edit = sent(daemon, "edit_message")[-1]
    assert (edit["chat"], edit["message_id"], edit["text"]) == (PHONE, MESSAGE_ID, "Hello World")

    results = envelope(client.post(f"/message/{MESSAGE_ID}/read", json={"phone": PHONE}))["results"]
    assert results == {"message_id": MESSAGE_ID, "status": f"Mark as read success {MESSAGE_ID}"}
    read = sent(daemon, "mark_read")[-1]
    assert (read["chat"], read["ids"]) == (PHONE, [MESSAGE_ID])


def test_user_info_avatar_and_check(gowa):
    _, client = gowa
    body = envelope(client.get("/user/info", params={"phone": "6289685028129@s.whatsapp.net"}))
    results = body["results"]
    # UserInfoResponse: verified_name, status, picture_id, devices[{User, Agent, Device, Server, AD}]
    for key, kind in (("verified_name", str), ("status", str), ("picture_id", str), ("devices", list)):
        assert isinstance(results[key], kind), results
    assert results["devices"] and set(results["devices"][0]) == {"User", "Agent", "Device", "Server", "AD"}
    assert results["devices"][0]["User"] == "6289685028129" and results["devices"][0]["Server"] == "s.whatsapp.net"
    assert results["data"][0]["status"] == results["status"]  # as that server answers it, too

    answer = client.get(
        "/user/avatar", params={"phone": "6289685028129@s.whatsapp.net", "is_preview": "true", "is_community": "false"}
    )
    avatar = envelope(answer)["results"]
    assert set(avatar) == {"url", "id", "type"} and avatar["url"].startswith("https://") and avatar["id"], avatar

    assert envelope(client.get("/user/check", params={"phone": "628912344551"}))["results"] == {"is_on_whatsapp": True}
    assert envelope(client.get("/user/check", params={"phone": "628912340000"}))["results"] == {"is_on_whatsapp": False}


def test_groups(gowa):
    daemon, client = gowa
    info = envelope(client.get("/group/info", params={"group_id": "120363025982934543@g.us"}))
    assert info["results"]["JID"] == "120363025982934543@g.us" and isinstance(info["results"]["Participants"], list)

    created = envelope(client.post("/group", json={"title": "Example Group Title", "participants": PARTICIPANTS}))
    group_id = created["results"]["group_id"]
    assert set(created["results"]) == {"group_id"} and group_id.endswith("@g.us")
    assert created["message"] == f"Success created group with id {group_id}"
    assert sent(daemon, "create_group")[-1]["name"] == "Example Group Title"

    listed = envelope(client.get("/group/participants", params={"group_id": "120363024512399999@g.us"}))["results"]
    assert set(listed) == {"group_id", "name", "participants"} and listed["group_id"] == "120363024512399999@g.us"
    for item in listed["participants"]:
        assert (
            {"jid", "phone_number", "is_admin", "is_super_admin"}
            <= set(item)
            <= {
                "jid",
                "phone_number",
                "lid",
                "display_name",
                "is_admin",
                "is_super_admin",
            }
        )

    answer = client.post(
        "/group/participants", json={"group_id": "1203632782168851111@g.us", "participants": PARTICIPANTS}
    )
    changes = envelope(answer)["results"]
    assert [set(change) for change in changes] == [{"participant", "status", "message"}] * len(changes)
    assert {change["status"] for change in changes} <= {"success", "error"} and changes
    assert sent(daemon, "group_participants")[-1]["action"] == "add"

    left = envelope(client.post("/group/leave", json={"group_id": "120363024512399999@g.us"}))
    assert left["message"] == "Success leave group" and left["results"] is None
    assert sent(daemon, "leave_group")[-1] == {"jid": "120363024512399999@g.us"}


def test_download_finds_the_message_in_the_history_store(gowa):
    daemon, client = gowa
    message_id = "3EB0D0A1B2C3D4E5F601"
    inbound = {
        "type": "message",
        "id": message_id,
        "chat": "15551234567@s.whatsapp.net",
        "sender": "15551234567@s.whatsapp.net",
        "push_name": "Alice",
        "timestamp": int(time.time()),
        "media": {"kind": "image", "mimetype": "image/jpeg", "caption": "look"},
    }
    daemon.redis.rpush("wagw:fake:inbound", json.dumps(inbound))
    path, params = f"/message/{message_id}/download", {"phone": "15551234567@s.whatsapp.net"}
    answers: list[httpx.Response] = []
    wait_for(
        lambda: answers.append(client.get(path, params=params)) or answers[-1].status_code not in (404, 503),
        30,
        0.2,
        "the history store to have the message",
    )
    results = envelope(answers[-1])["results"]
    assert set(results) == {"message_id", "status", "media_type", "filename", "file_path", "file_size"}, results
    assert (results["message_id"], results["media_type"]) == (message_id, "image")
    assert results["status"] == f"Media downloaded successfully to {results['file_path']}"
    assert Path(results["file_path"]).stat().st_size == results["file_size"] > 0
    assert results["filename"] == Path(results["file_path"]).name
    missing = client.get("/message/3EB0FFFFFFFFFFFFFFFF/download", params=params)
    assert envelope(missing, 404, "NOT_FOUND")["results"] == {"message_id": "3EB0FFFFFFFFFFFFFFFF"}


def test_what_wagw_does_not_have_is_501_saying_what_to_use_instead(gowa):
    daemon, client = gowa
    before = daemon.redis.llen("wagw:fake:sent")
    body = envelope(client.post("/user/pushname", json={"push_name": "John Doe"}), 501, "NOT_IMPLEMENTED")
    assert "push name" in body["message"] and "Instead:" in body["message"]
    assert body["results"]["operation"] == "userChangePushName"
    body = envelope(client.get("/chatwoot/configs"), 501, "NOT_IMPLEMENTED")
    assert "Chatwoot" in body["message"]
    assert daemon.redis.llen("wagw:fake:sent") == before


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_node_example_sends_and_receives_a_verified_webhook(gowa, node_port):
    """docs/examples/node/gowa-client.mjs as the docs run it: it sends through the API and
    prints the webhook it receives once X-Hub-Signature-256 checks out."""
    daemon, client = gowa
    env = {
        "WAGW_URL": str(client.base_url).rstrip("/"),
        "WAGW_LOGIN": ":".join(API_LOGIN),
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PORT": str(node_port),
        "SEND_TO": "15551234567",
        "PATH": os.environ.get("PATH", ""),
    }
    node = subprocess.Popen(["node", str(NODE_EXAMPLE)], env=env, stdout=subprocess.PIPE, text=True)
    lines: list[dict] = []
    reader = threading.Thread(target=lambda: lines.extend(json.loads(line) for line in node.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("sent" in line for line in lines), 30, 0.1, "the example to send")
        sent_line = next(line for line in lines if "sent" in line)
        assert sent_line["sent"].startswith("3EB0") and sent_line["status"].startswith("Message sent to 15551234567")
        assert sent(daemon, "send_text")[-1]["text"] == "hello from Node"
        event_id = "3EB0C127D7BACC83D6A1"
        inbound = {
            "type": "message",
            "id": event_id,
            "chat": "15551234567@s.whatsapp.net",
            "sender": "15551234567@s.whatsapp.net",
            "push_name": "Alice",
            "text": "hi Node",
            "timestamp": int(time.time()),
        }
        daemon.redis.rpush("wagw:fake:inbound", json.dumps(inbound))
        wait_for(lambda: any(line.get("body") == "hi Node" for line in lines), 30, 0.1, "the verified webhook")
        received = next(line for line in lines if line.get("body") == "hi Node")
        assert received["received"] == "message" and received["from"] == "15551234567@s.whatsapp.net"
    finally:
        node.terminate()
        node.wait(10)
