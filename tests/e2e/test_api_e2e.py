"""The HTTP API through `wagw run` (fake backend), over real HTTP as curl would call it: a
send, an uploaded image, a native crash's answer, 202 then a poll, `Prefer: respond-async`,
an account token, the open /health and the offline docs. One daemon for the module."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from chaos.polling import wait_for
from tests.conftest import E2E_ENV, short_tempdir

pytestmark = pytest.mark.e2e
ALICE = "15551234567@s.whatsapp.net"
LOGIN = ("e2e-app", "correct-horse-battery-staple")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def gateway():
    """(daemon, client) of one `wagw run` with its API on a loopback port."""
    from chaos.daemon import Daemon

    data_dir = short_tempdir("wagw-e2e-api-")
    (data_dir / "media").mkdir()
    port = free_port()
    env = {
        **E2E_ENV,
        "WAGW_MEDIA_DIR": str(data_dir / "media"),
        "WAGW_API_ADDR": f"127.0.0.1:{port}",
        "WAGW_API_BASIC_AUTH": ":".join(LOGIN),
    }
    daemon = Daemon(data_dir, env)
    try:
        daemon.start()
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=LOGIN, timeout=60)

        def answers() -> bool:
            daemon.check_alive()
            try:
                return client.get("/health").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(answers, 30, 0.1, "the API to answer /health")
        yield daemon, client
        client.close()
        assert daemon.stop() == 0
    finally:
        daemon.kill_tree()
        shutil.rmtree(data_dir, ignore_errors=True)


def sent(daemon, op: str) -> list[dict]:
    return [r["args"] for r in map(json.loads, daemon.redis.lrange("wagw:fake:sent", 0, -1)) if r["op"] == op]


def test_send_text_answers_the_jobs_result_and_reaches_the_backend(gateway):
    daemon, client = gateway
    answer = client.post("/wa/send_text", json={"to": "+1 555 123 4567", "text": "hello from curl"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["code"] == "SUCCESS" and body["results"]["to"] == ALICE and body["results"]["id"].startswith("3EB0")
    assert sent(daemon, "send_text")[-1]["text"] == "hello from curl"
    assert daemon.process("api")["state"] == "running"


def test_an_uploaded_image_is_stored_under_wagws_name_and_sent(gateway):
    import hashlib
    import io

    from PIL import Image

    daemon, client = gateway
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(buffer, "png")
    png = buffer.getvalue()
    answer = client.post(
        "/wa/send_image",
        data={"to": ALICE, "caption": "a picture", "view_once": "false"},
        files={"image": ("../../etc/evil name.png", png, "image/png")},
    )
    assert answer.status_code == 200, answer.text
    record = sent(daemon, "send_image")[-1]
    assert record["image"] == {"bytes": len(png), "sha256": hashlib.sha256(png).hexdigest()}
    assert record["caption"] == "a picture" and record["mimetype"] == "image/png"
    media = Path(daemon.env["WAGW_MEDIA_DIR"])
    stored = [path for path in media.iterdir() if path.read_bytes() == png]
    assert len(stored) == 1 and len(stored[0].stem) == 64 and stored[0].suffix == ".png", stored
    assert stat.S_IMODE(stored[0].stat().st_mode) == 0o600
    assert not [path for path in media.iterdir() if "evil" in path.name or path.name.endswith(".upload")]


def test_a_native_crash_answers_the_jobs_crash_outcome(gateway):
    daemon, client = gateway
    # A send whose host crashed after the hand-over: not sent again, "outcome unknown".
    answer = client.post("/wa/send_text", json={"to": "crash@s.whatsapp.net", "text": "boom"})
    assert answer.status_code == 502, answer.text
    body = answer.json()
    assert body["code"] == "OUTCOME_UNKNOWN" and "outcome unknown" in body["message"]
    assert body["results"]["crash"] == "outcome_unknown" and body["results"]["permanent"] is True
    assert body["results"]["error"] == "workers.wa.OutcomeUnknown"
    # A lookup is retried after its crash; the second crash poisons the target (WAGW_POISON_CRASHES).
    answer = client.post("/wa/fetch_avatar", json={"jid": "crash@s.whatsapp.net"})
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["code"] == "POISONED_TARGET" and body["results"]["crash"] == "poisoned_target"
    assert daemon.process("api")["restarts"] == 0


def test_a_job_still_running_at_the_wait_answers_202_then_its_location_gives_the_result(gateway):
    daemon, client = gateway
    answer = client.post("/wa/send_text", json={"to": ALICE, "text": "later"}, headers={"Prefer": "wait=0"})
    assert answer.status_code == 202, answer.text
    location = answer.headers["location"]
    assert location == f"/jobs/{answer.json()['results']['job_id']}"
    wait_for(lambda: client.get(location).status_code == 200, 30, 0.1, "the job's result at its Location")
    polled = client.get(location).json()
    assert polled["code"] == "SUCCESS" and polled["results"]["to"] == ALICE
    assert sent(daemon, "send_text")[-1]["text"] == "later"


def test_prefer_respond_async_answers_at_once(gateway):
    _daemon, client = gateway
    answer = client.post("/wa/fetch_avatar", json={"jid": ALICE}, headers={"Prefer": "respond-async"})
    assert answer.status_code == 202 and answer.json()["code"] == "PENDING"
    location = answer.headers["location"]
    wait_for(lambda: client.get(location).status_code == 200, 30, 0.1, "the avatar job to finish")
    assert client.get(location).json()["results"]["jid"] == ALICE


def test_an_account_token_logs_in_for_its_account_and_health_and_docs_are_served(gateway):
    daemon, client = gateway
    made = subprocess.run(
        [sys.executable, "-m", "wagw", "accounts", "token", "default"],
        env={**daemon.env, "WAGW_SETTINGS_FROM_PARENT": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("default.") and token not in daemon.log_text()
    with httpx.Client(base_url=client.base_url, timeout=60) as anonymous:
        assert anonymous.post("/wa/contacts", json={}).status_code == 401
        health = anonymous.get("/health")
        assert health.status_code == 200 and health.json()["results"]["redis"] is True
        by_token = anonymous.post("/wa/contacts", headers={"Authorization": f"Bearer {token}"})
        assert by_token.status_code == 200, by_token.text
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text and "cdn" not in docs.text.lower()
    assets = [part.split('"')[0] for part in docs.text.split('src="')[1:]]
    assert assets and all(client.get(asset).status_code == 200 for asset in assets if asset.startswith("/"))
    schema = client.get("/openapi.json").json()
    assert "/wa/send_text" in schema["paths"] and "SendTextArgs" in schema["components"]["schemas"]
    assert os.environ.get("WAGW_API_BASIC_AUTH") is None  # the test's own environment stays clean


def test_mcp_tools_send_through_the_same_jobs(gateway):
    """The official MCP client over streamable HTTP: the tools come from the operation table,
    a call runs the same job (and waits for it) as the HTTP route does."""
    import anyio
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    daemon, client = gateway
    url = str(client.base_url.join("/mcp"))

    async def session_calls() -> tuple[list[str], object, object]:
        async with (
            httpx2.AsyncClient(auth=LOGIN, timeout=60) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = [tool.name for tool in (await session.list_tools()).tools]
            sent_text = await session.call_tool(
                "whatsapp_send", {"action": "send_text", "arguments": {"to": ALICE, "text": "hello from mcp"}}
            )
            wrong = await session.call_tool("whatsapp_send", {"action": "send_text", "arguments": {"to": ALICE}})
            return tools, sent_text, wrong

    tools, sent_text, wrong = anyio.run(session_calls)
    assert {"whatsapp_send", "whatsapp_group", "whatsapp_profile", "whatsapp_job"} <= set(tools)
    assert not sent_text.is_error, sent_text
    assert sent_text.structured_content["status"] == "finished"
    assert sent_text.structured_content["result"]["to"] == ALICE
    assert sent(daemon, "send_text")[-1]["text"] == "hello from mcp"
    assert wrong.is_error and "text" in wrong.structured_content["message"]
    with httpx.Client(base_url=client.base_url, timeout=30) as anonymous:
        assert anonymous.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).status_code == 401
