"""The HTTP API's trust boundary (docs/security.md): every route but /health needs a login, a
token works for its own account only, guessing is throttled, uploads land under wagw's names
within the cap, the Host must name the API, nothing a caller sends reaches a response header,
and a public address without credentials refuses to start. Real Redis, the app in-process
(the exit code: a real `wagw api`)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from wagw.api import tokens

LOGIN = ("app", "correct-horse-battery")


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def make_api(settings_env, redis_conn, data_dir):
    from wagw.api.app import create_app
    from wagw.config import Settings

    clients = []

    def make(**env: str) -> TestClient:
        settings_env.setenv("WAGW_API_BASIC_AUTH", ":".join(LOGIN))
        settings_env.setenv("WAGW_MEDIA_DIR", str(data_dir / "media"))
        for name, value in env.items():
            settings_env.setenv(name, value)
        client = TestClient(create_app(Settings(_env_file=None)), base_url="http://127.0.0.1")
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_every_route_but_health_needs_a_login(make_api):
    api = make_api()
    paths = api.get("/openapi.json", headers=basic(*LOGIN)).json()["paths"]
    for path, methods in paths.items():
        for method in methods:
            url = path.replace("{job_id}", "x").replace("{", "").replace("}", "")
            answer = api.request(method.upper(), url)
            if path == "/health":
                assert answer.status_code == 200
                continue
            assert answer.status_code == 401, (method, path)
            assert answer.json()["code"] == "UNAUTHORIZED" and "WWW-Authenticate" in answer.headers
    for path in ("/docs", "/openapi.json", "/mcp", "/nowhere"):
        assert api.get(path).status_code == 401, path
    assert api.post("/wa/contacts", headers=basic(LOGIN[0], "wrong")).status_code == 401
    assert api.post("/wa/contacts", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_token_works_for_its_own_account_only(make_api, redis_conn):
    api = make_api(WAGW_ACCOUNTS="sales,support")
    sales = {"Authorization": f"Bearer {tokens.issue(redis_conn, 'sales')}"}
    support = {"Authorization": f"Bearer {tokens.issue(redis_conn, 'support')}"}
    async_ = {"Prefer": "respond-async"}
    mine = api.post("/wa/contacts", headers={**sales, **async_})  # its account without naming it
    assert mine.status_code == 202, mine.text
    assert redis_conn.llen("rq:queue:wa") == 1  # sales is the first account: its queue wa
    other = api.post("/wa/contacts", headers={**sales, **async_, "X-Device-Id": "support"})
    assert other.status_code == 403 and other.json()["code"] == "FORBIDDEN"
    assert api.post("/wa/contacts?device_id=support", headers={**sales, **async_}).status_code == 403
    assert redis_conn.llen("rq:queue:wa.support") == 0
    # Another account's job is not there for this token; its own is.
    job = mine.json()["results"]["job_id"]
    assert api.get(f"/jobs/{job}", headers=support).status_code == 404
    assert api.get(f"/jobs/{job}", headers=sales).status_code == 202
    # A token names its account in clear, but forging that part gains nothing.
    forged = "support." + sales["Authorization"].split(".", 1)[1]
    assert api.post("/wa/contacts", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    # Redis holds only the hash; a new token replaces the old one.
    stored = redis_conn.get("wagw:api-token:sales").decode()
    assert sales["Authorization"].split()[1] not in stored and len(stored) == 64
    tokens.issue(redis_conn, "sales")
    assert api.post("/wa/contacts", headers={**sales, **async_}).status_code == 401


def test_guessing_is_locked_out_even_with_the_right_password(make_api, log_lines):
    api = make_api(WAGW_API_LOGIN_WINDOW="300")
    for attempt in range(10):
        assert api.get("/jobs/x", headers=basic(LOGIN[0], f"guess-{attempt}")).status_code == 401
    locked = api.get("/jobs/x", headers=basic(*LOGIN))
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert locked.json()["code"] == "TOO_MANY_LOGINS"
    assert any("api: 10 failed logins from testclient" in line for line in log_lines)
    assert not any(LOGIN[1] in line or "guess-" in line for line in log_lines)


def test_an_upload_lands_under_wagws_name_and_the_cap_leaves_nothing(make_api, data_dir, redis_conn):
    api = make_api(WAGW_API_UPLOAD_MAX_BYTES="4096")
    media = data_dir / "media"
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    for name in ("../../../../tmp/evil.png", "/etc/passwd", "a\x00b.png", "..", "x" * 300):
        answer = api.post(
            "/wa/send_image",
            headers={**basic(*LOGIN), "Prefer": "respond-async"},
            data={"to": "15551234567"},
            files={"image": (name, png, "image/png")},
        )
        assert answer.status_code == 202, (name, answer.text)
    stored = sorted(media.iterdir())
    assert len(stored) == 5 and all(len(path.stem) == 64 and path.suffix == ".png" for path in stored)
    assert all(oct(path.stat().st_mode & 0o777) == "0o600" for path in stored)
    assert oct(media.stat().st_mode & 0o777) == "0o700"
    assert not os.path.exists("/tmp/evil.png")
    # Over the cap: 413, with or without a Content-Length, and no file (whole or partial) kept.
    big = bytes(5000)
    answer = api.post(
        "/wa/send_image",
        headers=basic(*LOGIN),
        data={"to": "15551234567"},
        files={"image": ("b.png", big, "image/png")},
    )
    assert answer.status_code == 413 and answer.json()["code"] in ("FILE_TOO_LARGE", "PAYLOAD_TOO_LARGE")

    def chunks():
        yield b'--b\r\nContent-Disposition: form-data; name="to"\r\n\r\n15551234567\r\n'
        yield b'--b\r\nContent-Disposition: form-data; name="image"; filename="c.png"\r\n\r\n'
        for _ in range(3000):
            yield bytes(1024)
        yield b"\r\n--b--\r\n"

    answer = api.post(
        "/wa/send_image", headers={**basic(*LOGIN), "Content-Type": "multipart/form-data; boundary=b"}, content=chunks()
    )
    assert answer.status_code == 413, answer.text
    assert sorted(media.iterdir()) == stored
    # A file where no file is taken is refused, and a JSON body past the largest job too.
    answer = api.post("/wa/send_text", headers=basic(*LOGIN), data={"to": "1"}, files={"text": ("t", b"x")})
    assert answer.status_code == 400 and sorted(media.iterdir()) == stored


def test_the_host_must_name_the_api(make_api):
    api = make_api(WAGW_API_HOSTS="wagw.internal")
    for host in ("evil.example", "127.0.0.1.evil.example", "localhost.evil.example:80"):
        answer = api.get("/health", headers={"Host": host})
        assert answer.status_code == 421 and answer.json()["code"] == "UNKNOWN_HOST", host
    for host in ("127.0.0.1:3000", "localhost", "[::1]:3000", "wagw.internal", "WAGW.internal:3000"):
        assert api.get("/health", headers={"Host": host}).status_code == 200, host


def test_nothing_a_caller_sends_reaches_a_response_header(make_api):
    api = make_api()
    hostile = "x\r\nSet-Cookie: pwned=1"
    answer = api.post(
        "/wa/contacts",
        params={"device_id": hostile},
        headers={**basic(*LOGIN), "Prefer": "respond-async", "Idempotency-Key": "k" * 200},
    )
    assert answer.status_code == 404 and "set-cookie" not in answer.headers
    assert answer.json()["results"]["device_id"] == hostile
    accepted = api.post("/wa/contacts", headers={**basic(*LOGIN), "Prefer": "respond-async; x=\r"[:-1]})
    assert accepted.status_code == 202
    assert set(accepted.headers["location"].removeprefix("/jobs/")) <= set("0123456789abcdef-")
    assert accepted.headers["x-content-type-options"] == "nosniff" and accepted.headers["x-frame-options"] == "DENY"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_public_address_without_credentials_refuses_to_start(settings_env, redis_conn, data_dir):
    env = dict(os.environ)
    env["WAGW_SETTINGS_FROM_PARENT"] = "1"
    env.pop("WAGW_API_BASIC_AUTH", None)
    run = subprocess.run(
        [sys.executable, "-m", "wagw", "api", "--addr", f"0.0.0.0:{free_port()}"],
        env=env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 78, output
    assert "WAGW_API_BASIC_AUTH" in output and "not loopback" in output


def test_an_unexpected_error_answers_500_with_the_envelope_and_logs_no_content(settings_env, redis_conn, log_lines):
    from wagw.api.app import AnsweredErrors, create_app
    from wagw.config import Settings

    settings_env.setenv("WAGW_API_BASIC_AUTH", ":".join(LOGIN))
    app = create_app(Settings(_env_file=None))

    async def broken():
        raise RuntimeError("the customer's message text")

    app.add_api_route("/broken", broken)
    with TestClient(AnsweredErrors(app), base_url="http://127.0.0.1", raise_server_exceptions=False) as api:
        answer = api.get("/broken", headers=basic(*LOGIN))
    assert answer.status_code == 500
    assert answer.json() == {
        "code": "INTERNAL_SERVER_ERROR",
        "message": "internal error (RuntimeError); see wagw's log",
        "results": None,
    }
    assert any("api: GET /broken failed: RuntimeError at test_api_boundary.py:" in line for line in log_lines)
    assert not any("customer's message" in line for line in log_lines)
