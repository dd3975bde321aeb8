"""go-whatsapp-web-multidevice's history reads through wagw's API keep to the request's
account: one account's chats, messages, downloads and message senders are not another's to
read, whatever the caller names."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from tests.history_events import message_event, store_events
from wagw.api import tokens

LOGIN = ("app", "correct-horse-battery")
BASIC = {"Authorization": "Basic " + base64.b64encode(":".join(LOGIN).encode()).decode()}
SALES_CHAT = "15551110001@s.whatsapp.net"
SUPPORT_CHAT = "15552220002@s.whatsapp.net"
SUPPORT_MESSAGE = "3EB0C127D7BACC83D6B2"


@pytest.fixture
def api(settings_env, redis_conn):
    from wagw.api.app import create_app
    from wagw.config import Settings

    settings_env.setenv("WAGW_API_BASIC_AUTH", ":".join(LOGIN))
    settings_env.setenv("WAGW_ACCOUNTS", "sales,support")
    settings = Settings(_env_file=None)
    store_events(
        settings,
        message_event("ev-s", "sales", "3EB0C127D7BACC83D6B1", SALES_CHAT, SALES_CHAT, "sales secret"),
        message_event("ev-t", "support", SUPPORT_MESSAGE, SUPPORT_CHAT, SUPPORT_CHAT, "support secret"),
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def test_one_accounts_history_is_not_anothers(api, redis_conn):
    sales = {**BASIC, "X-Device-Id": "sales"}
    chats = api.get("/chats", headers=sales).json()["results"]
    assert [chat["jid"] for chat in chats["data"]] == [SALES_CHAT] and chats["pagination"]["total"] == 1
    assert api.get(f"/chat/{SUPPORT_CHAT}/messages", headers=sales).status_code == 404
    download = api.get(f"/message/{SUPPORT_MESSAGE}/download", headers=sales)
    assert download.status_code == 404 and "support secret" not in download.text
    # a token is its account's only: naming the other account is refused, naming none is its own
    token = {"Authorization": f"Bearer {tokens.issue(redis_conn, 'sales')}"}
    assert api.get("/chats", headers={**token, "X-Device-Id": "support"}).status_code == 403
    assert api.get("/chats", params={"device_id": "support"}, headers=token).status_code == 403
    own = api.get("/chats", headers=token).json()["results"]["data"]
    assert [chat["jid"] for chat in own] == [SALES_CHAT]
    assert "support secret" not in api.get(f"/chat/{SALES_CHAT}/messages", headers=token).text
