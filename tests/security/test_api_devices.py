"""The device and pairing routes' trust boundary: an account's token pairs, logs out,
reconnects and sees its own account only, and never adds or removes accounts; and what anyone
with Redis access writes as a device request or a published pairing is checked before the
supervisor acts on it or the API shows it (wagw.devicecontrol). Real Redis, the app in-process."""

from __future__ import annotations

import json
import time

import pytest

from tests.security.test_api_boundary import LOGIN, basic, make_api  # noqa: F401 (a fixture)
from wagw import devicecontrol, keys
from wagw.api import tokens
from wagw.supervisor.devicerequests import DeviceRequests

TWO = {"WAGW_ACCOUNTS": "sales,support"}


def requests_of(redis_conn, account: str) -> list[dict]:
    return [json.loads(raw) for raw in redis_conn.lrange(keys.DEVICE_REQUESTS.format(account=account), 0, -1)]


def test_a_token_acts_on_its_own_account_only(make_api, redis_conn):  # noqa: F811
    api = make_api(**TWO)
    sales = {"Authorization": f"Bearer {tokens.issue(redis_conn, 'sales')}"}
    other = {**sales, "X-Device-Id": "support"}
    for method, path, headers in (
        ("GET", "/app/login", other),
        ("GET", "/app/login-with-code?phone=15551234567", other),
        ("GET", "/app/logout", other),
        ("GET", "/app/reconnect", other),
        ("GET", "/app/status", other),
        ("GET", "/devices/support", sales),
        ("GET", "/devices/support/login", sales),
        ("POST", "/devices/support/login/code?phone=15551234567", sales),
        ("POST", "/devices/support/logout", sales),
        ("POST", "/devices/support/reconnect", sales),
        ("GET", "/devices/support/status", sales),
    ):
        answer = api.request(method, path, headers=headers)
        assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN", (method, path, answer.text)
    assert requests_of(redis_conn, "support") == []
    # Its own account: a logout goes to the supervisor that runs it, saying who asked.
    assert api.get("/app/logout", headers=sales).status_code == 200
    [logout] = requests_of(redis_conn, "sales")
    assert logout["action"] == "logout" and logout["account"] == "sales"

    # It sees its own account only, and cannot change the list of accounts.
    assert [d["id"] for d in api.get("/devices", headers=sales).json()["results"]] == ["sales"]
    assert [d["device"] for d in api.get("/app/devices", headers=sales).json()["results"]] == ["sales"]
    added = api.post("/devices", json={"device_id": "mine"}, headers=sales)
    assert added.status_code == 403 and "basic auth" in added.json()["message"]
    assert api.delete("/devices/support", headers=sales).status_code == 403
    assert api.delete("/devices/sales", headers=sales).status_code == 403
    operator = basic(*LOGIN)
    assert [d["id"] for d in api.get("/devices", headers=operator).json()["results"]] == ["sales", "support"]
    # A webhook from the API would let a caller choose where signed bodies go: refused.
    hook = api.post("/devices", json={"device_id": "x", "webhook_url": "https://evil.example/"}, headers=operator)
    assert hook.status_code == 400 and "WEBHOOK_URLS" in hook.json()["message"]
    bad = api.post("/devices", json={"device_id": "../../etc"}, headers=operator)
    assert bad.status_code == 400 and "not an account name" in bad.json()["message"]
    again = api.post("/devices", json={"device_id": "support"}, headers=operator)
    assert again.status_code == 409 and again.json()["code"] == "DEVICE_EXISTS", again.text

    # Another account's QR code is not there for it.
    pairing_id = "ab" * 16
    devicecontrol.publish(
        redis_conn, "support/session", pairing_id, devicecontrol.QR, qr="2@secret-qr", expires=time.time() + 60
    )
    path = f"/statics/images/qrcode/scan-qr-{pairing_id}.png"
    support = {"Authorization": f"Bearer {tokens.issue(redis_conn, 'support')}"}
    assert api.get(path, headers=sales).status_code == 404
    shown = api.get(path, headers=support)
    assert shown.status_code == 200 and shown.content[:4] == b"\x89PNG" and shown.headers["cache-control"] == "no-store"
    assert api.get("/statics/images/qrcode/scan-qr-..%2F..%2Fx.png", headers=support).status_code == 404


GOOD = {"id": "ab" * 16, "action": "logout", "account": "sales", "role": None, "phone": None}


@pytest.mark.parametrize(
    "forged",
    [
        "not json",
        [],
        {**GOOD, "action": "pair", "role": "session --force"},
        {**GOOD, "action": "pair", "role": "../../session"},
        {**GOOD, "action": "pair", "role": "session", "phone": "1 --force"},
        {**GOOD, "id": "x"},
        {**GOOD, "action": "rm -rf"},
        {**GOOD, "role": "session"},
        {**GOOD, "at": 1.0},
        {**GOOD, "account": "support"},
        {**GOOD, "extra": 1},
        {**GOOD, "action": "pair", "role": "support/session"},
        {**GOOD, "action": "pair", "role": "sales/worker-0"},
        {**GOOD, "action": "pair", "role": "sales/session", "phone": "0155512345"},
    ],
    ids=[
        "text",
        "list",
        "argv in role",
        "path in role",
        "argv in phone",
        "bad id",
        "bad action",
        "role on logout",
        "stale",
        "other account",
        "extra field",
        "another account's role",
        "no such slot",
        "national phone",
    ],
)
def test_a_forged_device_request_is_dropped_never_acted_on(forged, redis_conn):
    """Written straight into a running account's list: dropped and counted, no process started."""
    raw = json.dumps({"at": time.time(), **forged}) if isinstance(forged, dict) else json.dumps(forged)
    if forged == "not json":
        raw = forged
    started: list[list[str]] = []
    handler = DeviceRequests(redis_conn, {}, 1.0, spawn=lambda argv, env: started.append(argv))
    redis_conn.rpush(keys.DEVICE_REQUESTS.format(account="sales"), raw)
    requests, dropped = devicecontrol.take(redis_conn, "sales")
    assert (requests, dropped) == ([], 1)
    assert devicecontrol.Request.decode(json.dumps({**GOOD, "at": time.time()})) is not None  # the genuine one
    redis_conn.rpush(keys.DEVICE_REQUESTS.format(account="sales"), raw)
    handler.step(["sales"], [])
    assert started == [] and redis_conn.llen(keys.DEVICE_REQUESTS.format(account="sales")) == 0


def test_a_pairing_request_for_a_role_the_daemon_does_not_run_starts_nothing(redis_conn):
    started: list[list[str]] = []
    handler = DeviceRequests(redis_conn, {}, 1.0, spawn=lambda argv, env: started.append(argv))
    request = devicecontrol.Request.new(devicecontrol.PAIR, "sales", "sales/worker-3", None)
    redis_conn.rpush(keys.DEVICE_REQUESTS.format(account="sales"), request.encode())
    handler.step(["sales"], [])  # no child holds sales/worker-3
    assert started == []


def test_a_published_pairing_that_wagw_did_not_write_is_not_shown(redis_conn):
    for fields in ({"id": "x", "state": "qr", "qr": "q"}, {"id": "ab" * 16, "state": "hacked"}, {}):
        assert devicecontrol.parse_pairing(fields) is None
    # An end that is no time (the API counts the QR code's seconds from it: nan was a 500).
    for expires in ("nan", "inf", "-inf", "soon", "1e400"):
        assert devicecontrol.parse_pairing({"id": "ab" * 16, "state": "qr", "qr": "q", "expires": expires}) is None
    # A code is shown only in the state it belongs to.
    shown = devicecontrol.parse_pairing({"id": "ab" * 16, "state": "failed", "qr": "2@left-over", "code": "ABCD-1234"})
    assert shown is not None and shown["qr"] is None and shown["code"] is None


def test_a_forged_pairing_time_lists_the_device_without_one(make_api, redis_conn):  # noqa: F811
    """wagw pair writes when a role was paired; whatever else is there shows no time, never a 500."""
    api = make_api(**TWO)
    operator = basic(*LOGIN)
    for forged in ("inf", "1e300", "-1e300", "nan", "soon"):
        redis_conn.hset(keys.DEVICE_PAIRED_AT, "sales/session", forged)
        listed = api.get("/devices", headers=operator)
        assert listed.status_code == 200, (forged, listed.text)
        assert [d["created_at"] for d in listed.json()["results"]] == [None, None]
