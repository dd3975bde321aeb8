"""The go-whatsapp-web-multidevice table (wagw.api.gowa.table): every operation of that API's
docs/openapi.yaml v9.2.0 exactly once, each row consistent with wagw's operation table, the
routes generated from it, and docs/api-gowa.md and docs/api-gowa.json generated from it."""

from __future__ import annotations

import json

import pytest

from wagw import operations
from wagw.api.gowa import docs
from wagw.api.gowa.results import SHAPES
from wagw.api.gowa.table import BY_KEY, ROWS, counts

# (method, path, operationId) of every operation in that API's docs/openapi.yaml at v9.2.0.
GOWA_V9_2_0 = [
    ("GET", "/health", "health"),
    ("GET", "/app/login", "appLogin"),
    ("GET", "/app/login-with-code", "appLoginWithCode"),
    ("GET", "/app/passkey", "appPasskeyStatus"),
    ("POST", "/app/passkey/response", "appPasskeyResponse"),
    ("POST", "/app/passkey/confirm", "appPasskeyConfirm"),
    ("GET", "/app/logout", "appLogout"),
    ("GET", "/app/reconnect", "appReconnect"),
    ("GET", "/app/devices", "appDevices"),
    ("GET", "/app/status", "appStatus"),
    ("GET", "/app/info", "appInfo"),
    ("GET", "/devices", "listDevices"),
    ("POST", "/devices", "addDevice"),
    ("GET", "/devices/{device_id}", "getDevice"),
    ("DELETE", "/devices/{device_id}", "removeDevice"),
    ("GET", "/devices/{device_id}/login", "loginDevice"),
    ("POST", "/devices/{device_id}/login/code", "loginDeviceWithCode"),
    ("POST", "/devices/{device_id}/logout", "logoutDevice"),
    ("POST", "/devices/{device_id}/reconnect", "reconnectDevice"),
    ("GET", "/devices/{device_id}/status", "getDeviceStatus"),
    ("GET", "/devices/{device_id}/webhook", "getDeviceWebhook"),
    ("PATCH", "/devices/{device_id}/webhook", "updateDeviceWebhook"),
    ("GET", "/user/info", "userInfo"),
    ("GET", "/user/avatar", "userAvatar"),
    ("POST", "/user/avatar", "userChangeAvatar"),
    ("POST", "/user/pushname", "userChangePushName"),
    ("GET", "/user/my/privacy", "userMyPrivacy"),
    ("GET", "/user/my/groups", "userMyGroups"),
    ("GET", "/user/my/newsletters", "userMyNewsletter"),
    ("GET", "/user/my/contacts", "userMyContacts"),
    ("GET", "/user/check", "userCheck"),
    ("GET", "/user/business-profile", "userBusinessProfile"),
    ("POST", "/send/message", "sendMessage"),
    ("POST", "/send/image", "sendImage"),
    ("POST", "/send/audio", "sendAudio"),
    ("POST", "/send/file", "sendFile"),
    ("POST", "/send/sticker", "sendSticker"),
    ("POST", "/send/video", "sendVideo"),
    ("POST", "/send/contact", "sendContact"),
    ("POST", "/send/link", "sendLink"),
    ("POST", "/send/location", "sendLocation"),
    ("POST", "/send/poll", "sendPoll"),
    ("POST", "/send/presence", "sendPresence"),
    ("POST", "/send/chat-presence", "sendChatPresence"),
    ("POST", "/message/{message_id}/revoke", "revokeMessage"),
    ("POST", "/message/{message_id}/delete", "deleteMessage"),
    ("POST", "/message/{message_id}/reaction", "reactMessage"),
    ("POST", "/message/{message_id}/update", "updateMessage"),
    ("POST", "/message/{message_id}/read", "readMessage"),
    ("POST", "/message/{message_id}/star", "starMessage"),
    ("POST", "/message/{message_id}/unstar", "unstarMessage"),
    ("POST", "/message/{message_id}/forward", "forwardMessage"),
    ("GET", "/message/{message_id}/download", "downloadMessageMedia"),
    ("POST", "/call/reject", "rejectCall"),
    ("GET", "/chats", "listChats"),
    ("GET", "/chat/{chat_jid}/messages", "getChatMessages"),
    ("POST", "/chat/{chat_jid}/pin", "pinChat"),
    ("POST", "/chat/{chat_jid}/disappearing", "setDisappearingTimer"),
    ("POST", "/chat/{chat_jid}/archive", "archiveChat"),
    ("GET", "/group/info", "groupInfo"),
    ("POST", "/group", "createGroup"),
    ("GET", "/group/participants", "getGroupParticipants"),
    ("POST", "/group/participants", "addParticipantToGroup"),
    ("GET", "/group/participants/export", "exportGroupParticipants"),
    ("POST", "/group/participants/remove", "removeParticipantFromGroup"),
    ("POST", "/group/participants/promote", "promoteParticipantToAdmin"),
    ("POST", "/group/participants/demote", "demoteParticipantToMember"),
    ("POST", "/group/join-with-link", "joinGroupWithLink"),
    ("GET", "/group/info-from-link", "getGroupInfoFromLink"),
    ("GET", "/group/participant-requests", "getGroupParticipantRequests"),
    ("POST", "/group/participant-requests/approve", "approveGroupParticipantRequest"),
    ("POST", "/group/participant-requests/reject", "rejectGroupParticipantRequest"),
    ("POST", "/group/leave", "leaveGroup"),
    ("POST", "/group/photo", "setGroupPhoto"),
    ("POST", "/group/name", "setGroupName"),
    ("POST", "/group/locked", "setGroupLocked"),
    ("POST", "/group/announce", "setGroupAnnounce"),
    ("POST", "/group/topic", "setGroupTopic"),
    ("GET", "/group/invite-link", "groupInviteLink"),
    ("POST", "/newsletter/unfollow", "unfollowNewsletter"),
    ("GET", "/newsletter/messages", "getNewsletterMessages"),
    ("POST", "/chatwoot/sync", "chatwootSyncHistory"),
    ("GET", "/chatwoot/sync/status", "chatwootSyncStatus"),
    ("POST", "/chatwoot/webhook", "chatwootWebhook"),
    ("POST", "/chatwoot/webhook/{device_id}", "chatwootDeviceWebhook"),
    ("GET", "/chatwoot/configs", "chatwootListConfigs"),
    ("GET", "/devices/{device_id}/chatwoot/config", "chatwootGetDeviceConfig"),
    ("PUT", "/devices/{device_id}/chatwoot/config", "chatwootUpsertDeviceConfig"),
    ("DELETE", "/devices/{device_id}/chatwoot/config", "chatwootDeleteDeviceConfig"),
]


def test_every_operation_of_that_api_is_in_the_table_exactly_once():
    assert len(GOWA_V9_2_0) == 89
    keys = [(row.method, row.path, row.operation_id) for row in ROWS]
    assert len(keys) == len(set(keys)) == len({row.key for row in ROWS}), "a row twice"
    assert sorted(keys) == sorted(GOWA_V9_2_0)


def test_the_counts_add_up():
    tally = counts()
    assert sum(tally.values()) == 89
    assert tally["not supported"] == sum(1 for row in ROWS if row.status == "not supported")


# A download's job argument (the media object) comes from the history store, not the request.
JOB_ROWS = [row for row in ROWS if row.operation and row.result != "download"]


@pytest.mark.parametrize("row", JOB_ROWS, ids=lambda row: row.operation_id)
def test_a_job_row_maps_onto_its_operations_arguments(row):
    op = operations.get(row.operation)
    given = {field.arg for field in row.fields if field.arg and field.kind != "ignored"} | set(row.fixed)
    assert given <= set(op.parameters), given - set(op.parameters)
    required = {name for name, field in op.args.model_fields.items() if field.is_required()}
    assert required <= given, f"{row.operation_id} never sets {required - given}"
    assert row.result in SHAPES and row.status in ("same", "differs")
    for field in row.fields:
        if field.kind == "ignored":
            assert field.note and field.arg is None, field.name


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.operation_id)
def test_each_row_says_why_it_is_not_the_same(row):
    if row.status == "not supported":
        assert row.reason and row.instead and row.operation is None and not row.served_by
    elif row.status == "differs":
        assert row.differs or row.served_by
    else:
        assert not row.differs and not row.reason
    assert row.result in SHAPES
    names = [field.name for field in row.fields]
    assert len(names) == len(set(names)), names
    assert all(f"{{{field.name}}}" in row.path for field in row.fields if field.where == "path")


def test_routes_are_generated_for_every_row_and_none_is_a_bare_404():
    from fastapi import APIRouter, FastAPI

    from wagw.api.gowa.routes import include, served

    app = FastAPI()
    other = APIRouter()
    other.add_api_route("/health", lambda: None, methods=["GET"])
    app.include_router(other)
    include(app)
    assert served(app) == {row.key for row in ROWS}  # every row answers; none is a bare 404


@pytest.fixture(scope="module")
def wagw_openapi(tmp_path_factory):
    """wagw's own app (its other routers too) and its OpenAPI document, made once."""
    from wagw.api.app import create_app
    from wagw.config import Settings

    data_dir = tmp_path_factory.mktemp("gowa")
    settings = Settings(_env_file=None, data_dir=data_dir, backend="fake", redis_url="redis://127.0.0.1:1/0")
    app = create_app(settings)
    return app, app.openapi()


def test_in_wagws_app_every_row_answers_and_the_other_routers_keep_theirs(wagw_openapi):
    from wagw.api.gowa.routes import served

    app, document = wagw_openapi
    assert {row.key for row in ROWS} <= served(app)
    for row in ROWS:
        generated = document["paths"][row.path][row.method.lower()]["operationId"].startswith("gowa_")
        assert generated is not bool(row.served_by), row.key  # served elsewhere: that router's route


def test_the_openapi_entries_come_from_the_rows(wagw_openapi):
    _, document = wagw_openapi
    image = document["paths"]["/send/image"]["post"]
    body = image["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["properties"]["image"] == {"type": "string", "format": "binary"}
    assert body["properties"]["view_once"]["type"] == "boolean" and body["required"] == ["phone"]
    assert image["operationId"] == "gowa_sendImage" and "send_image" in image["description"]
    avatar = {p["name"]: p for p in document["paths"]["/user/avatar"]["get"]["parameters"]}
    assert avatar["phone"]["required"] and avatar["is_preview"]["schema"] == {"type": "boolean"}
    assert "X-Device-Id" in avatar and "device_id" in avatar
    react = document["paths"]["/message/{message_id}/reaction"]["post"]
    assert any(p["name"] == "message_id" and p["in"] == "path" for p in react["parameters"])
    assert "501" in document["paths"]["/chatwoot/configs"]["get"]["responses"]


def test_the_docs_are_generated_from_the_table():
    page = docs.PAGE.read_text()
    assert page == docs.page_with_table(page), "docs/api-gowa.md is stale: python -m wagw.api.gowa.docs"
    assert docs.TABLE_JSON.read_text() == docs.render_json(), "docs/api-gowa.json is stale"
    published = json.loads(docs.TABLE_JSON.read_text())["operations"]
    assert [(o["method"], o["path"]) for o in published] == [row.key for row in ROWS]
    for row in ROWS:
        assert f"| `{row.method} {row.path}` | {row.status} |" in page


def test_a_stale_page_is_found():
    page = docs.PAGE.read_text()
    stale = page.replace("| `POST /send/message` | differs |", "| `POST /send/message` | same |")
    assert stale != page and docs.page_with_table(stale) == page


def test_by_key():
    assert BY_KEY[("POST", "/send/message")].operation == "send_text"
    assert BY_KEY[("GET", "/chats")].result == "history_chats"
