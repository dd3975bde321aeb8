"""The device and pairing routes through `wagw run` with the API (fake backend), as a browser
calls them: an account added by POST /devices, its QR code from /app/login (JSON and PNG),
the simulated phone scanning it, /app/status connected; reconnect, an explicit logout, a
pairing code, and DELETE /devices stopping the account's processes. One daemon for the module."""

from __future__ import annotations

import httpx
import pytest

from chaos.polling import wait_for
from tests.e2e.conftest import API_LOGIN, one_api_daemon
from tests.e2e.test_accounts_e2e import status_json
from wagw.procs import pid_alive

pytestmark = pytest.mark.e2e
SHOP = {"X-Device-Id": "shop"}


@pytest.fixture(scope="module")
def api():
    for daemon, base in one_api_daemon("wagw-e2e-devices-"):
        with httpx.Client(base_url=base, auth=API_LOGIN, timeout=60) as client:
            yield daemon, client


def states(daemon) -> dict[str, str]:
    return {p["name"]: p["state"] for p in (daemon.snapshot() or {"processes": []})["processes"]}


def status(client) -> dict:
    answer = client.get("/app/status", headers=SHOP)
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def test_pair_an_added_account_from_the_browser_then_log_it_out_and_remove_it(api):
    daemon, client = api
    redis = daemon.redis
    redis.hset("wagw:fake:device-state", "shop/session", "unpaired")  # a phone not linked yet

    added = client.post("/devices", json={"device_id": "shop"})
    assert added.status_code == 200, added.text
    assert added.json()["results"]["id"] == "shop" and added.json()["message"] == "Device added"
    wait_for(lambda: states(daemon).get("shop/wa-worker-1") == "running", 30, 0.1, "shop's wa-worker")
    wait_for(lambda: states(daemon).get("shop/session") == "fatal", 30, 0.1, "shop's session to wait for pairing")
    listed = {(p["name"], p["account"]) for p in status_json(daemon)["processes"]}
    assert {("shop/session", "shop"), ("shop/wa-worker-1", "shop")} <= listed  # `wagw status --json` shows them
    assert {"id": "shop"}.items() <= next(
        d for d in client.get("/devices").json()["results"] if d["id"] == "shop"
    ).items()
    before = status(client)
    assert before["is_logged_in"] is False and before["is_connected"] is False and before["device_id"] == "shop"

    login = client.get("/app/login", headers=SHOP)
    assert login.status_code == 200, login.text
    shown = login.json()["results"]
    assert shown["device_id"] == "shop" and shown["role"] == "shop/session"
    assert shown["qr_code"].startswith("2@fake-") and 0 < shown["qr_duration"] <= 60
    assert shown["qr_link"].startswith(str(client.base_url)) and shown["qr_link"].endswith(".png")
    png = client.get(shown["qr_link"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert shown["qr_code"] not in daemon.log_text()  # a QR code links a device: never in the log
    again = client.get("/devices/shop/login").json()["results"]  # the same pairing, not a second one
    assert again["qr_code"] == shown["qr_code"]

    redis.rpush("wagw:fake:scans", shown["qr_code"])  # the phone scans it
    wait_for(lambda: status(client)["is_connected"], 30, 0.2, "shop's session to connect once paired")
    paired = status(client)
    assert paired["is_logged_in"] is True and paired["jid"].endswith("@s.whatsapp.net")
    assert client.get(shown["qr_link"]).status_code == 404  # gone with its pairing
    assert client.get("/app/login", headers=SHOP).json()["code"] == "ALREADY_LOGGED_IN"

    session = daemon.child_pid("shop/session")
    reconnect = client.get("/app/reconnect", headers=SHOP)
    assert reconnect.status_code == 200 and reconnect.json()["message"] == "Reconnect success"
    wait_for(lambda: daemon.child_pid("shop/session") not in (None, session), 30, 0.1, "a new session process")
    wait_for(lambda: status(client)["is_connected"], 30, 0.2, "the session to connect again")

    logout = client.get("/app/logout", headers=SHOP)
    assert logout.status_code == 200 and logout.json()["results"] == {"device_id": "shop"}
    wait_for(lambda: not status(client)["is_logged_in"], 30, 0.2, "shop to be logged out")
    log = daemon.log_text()
    assert "logout of account shop asked for by user e2e" in log
    assert "shop/session: logged out of WhatsApp" in log and "shop/worker-1: logged out of WhatsApp" in log

    code = client.post("/devices/shop/login/code", params={"phone": "+1 555 000 1234"})
    assert code.status_code == 200, code.text
    pair_code = code.json()["results"]["pair_code"]
    assert len(pair_code) == 9 and pair_code[4] == "-" and pair_code not in daemon.log_text()
    redis.rpush("wagw:fake:scans", pair_code)  # typed on the phone
    wait_for(lambda: status(client)["is_connected"], 30, 0.2, "shop's session, paired by code")
    assert client.get("/devices/shop/status").json()["results"]["is_logged_in"] is True

    pids = [daemon.child_pid("shop/session"), daemon.child_pid("shop/wa-worker-1")]
    removed = client.delete("/devices/shop")
    assert removed.status_code == 200 and removed.json()["message"] == "Device removed"
    wait_for(lambda: "shop/session" not in states(daemon), 30, 0.1, "shop's processes to leave the table")
    wait_for(lambda: not any(pid and pid_alive(pid) for pid in pids), 15, 0.1, "shop's processes to end")
    assert [d["id"] for d in client.get("/devices").json()["results"]] == ["default"]
    assert not [p for p in status_json(daemon)["processes"] if p["account"] == "shop"]
    assert client.get("/app/status", headers=SHOP).json()["code"] == "DEVICE_NOT_FOUND"
