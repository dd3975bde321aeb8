"""The group jobs through neonize's own wrappers and the ctypes boundary, answered as
goneonize/whatsmeow answer (whatsmeow.World): results, and whatsmeow's errors."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tests.conformance.names import (
    ALICE,
    ALICE_LID,
    BOB,
    DEVICE,
    ERR_GROUP_NOT_FOUND,
    ERR_INVITE_LINK_INVALID,
    ERR_INVITE_LINK_REVOKED,
    ERR_INVITE_LINK_UNAUTHORIZED,
    ERR_IQ_NOT_AUTHORIZED,
    ERR_IQ_NOT_FOUND,
    ERR_NOT_IN_GROUP,
    GROUP,
    INVITE_CODE,
    LEGACY_GROUP,
    PRIVATE_USER,
    REVOKED_CODE,
)

UNKNOWN_GROUP = "120363999999999999@g.us"
NOT_A_MEMBER = "15559990000@s.whatsapp.net"


@pytest.fixture
def worker(go, data_dir, redis_url):
    """wagw's NeonizeBackend for worker-1, on a real whatsmeow store, connected (stubbed)."""
    go.call("make_store", path=str(data_dir / "devices" / "worker-1.sqlite3"), devices=[[DEVICE, "wagw", ""]])
    connected = go.call("connect", data_dir=str(data_dir), role="worker-1", redis_url=redis_url)
    assert connected["connected"] and "error" not in connected, connected
    return go


def job(go, op: str, **kwargs) -> dict:
    outcome = go.call("job", op=op, kwargs=kwargs)
    assert not outcome.pop("stub_errors"), "a stub raised"
    return outcome


def assert_backend_error(outcome: dict, message: str) -> None:
    assert outcome["error"] == "BackendError" and outcome["module"] == "wagw.backends.base", outcome
    assert outcome["message"] == message
    assert not outcome["permanent"]


# leave_group ---------------------------------------------------------------------------------
def test_leave_group(worker):
    assert job(worker, "leave_group", jid=GROUP) == {"result": {"jid": GROUP, "left": True}}
    assert worker.call("calls", entry="LeaveGroup") == [{"entry": "LeaveGroup", "jid": GROUP}]


def test_leave_a_group_that_does_not_exist_fails_with_whatsmeows_text(worker):
    assert_backend_error(job(worker, "leave_group", jid=UNKNOWN_GROUP), f"leave_group failed: {ERR_IQ_NOT_FOUND}")


# set_group_name ------------------------------------------------------------------------------
def test_set_group_name_renames_the_group(worker):
    assert job(worker, "set_group_name", jid=GROUP, name="Team 2026 ✨") == {
        "result": {"jid": GROUP, "name": "Team 2026 ✨"}
    }
    assert worker.call("calls", entry="SetGroupName") == [
        {"entry": "SetGroupName", "jid": GROUP, "name": "Team 2026 ✨"}
    ]
    assert job(worker, "group_info", jid=GROUP)["result"]["name"] == "Team 2026 ✨"


def test_set_group_name_of_an_unknown_group_fails_with_whatsmeows_text(worker):
    failed = job(worker, "set_group_name", jid=UNKNOWN_GROUP, name="x")
    assert_backend_error(failed, f"set_group_name failed: {ERR_IQ_NOT_FOUND}")


# set_group_topic -----------------------------------------------------------------------------
def test_set_group_topic_sets_and_removes_the_topic(worker):
    assert job(worker, "set_group_topic", jid=GROUP, topic="Weekly sync") == {
        "result": {"jid": GROUP, "topic": "Weekly sync"}
    }
    assert job(worker, "group_info", jid=GROUP)["result"]["topic"] == "Weekly sync"
    assert job(worker, "set_group_topic", jid=GROUP, topic="") == {"result": {"jid": GROUP, "topic": None}}
    assert job(worker, "group_info", jid=GROUP)["result"]["topic"] is None
    calls = worker.call("calls", entry="SetGroupTopic")
    # wagw passes no topic ids: whatsmeow finds the previous one and makes a new one.
    assert [(c["previous_id"], c["new_id"], c["topic"]) for c in calls] == [("", "", "Weekly sync"), ("", "", "")]


def test_set_group_topic_of_an_unknown_group_fails_with_whatsmeows_text(worker):
    failed = job(worker, "set_group_topic", jid=UNKNOWN_GROUP, topic="x")
    assert_backend_error(
        failed, f"set_group_topic failed: failed to get old group info to update topic: {ERR_GROUP_NOT_FOUND}"
    )


# set_group_locked ------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [True, False])
def test_set_group_locked(worker, value):
    assert job(worker, "set_group_locked", jid=GROUP, locked=value) == {"result": {"jid": GROUP, "locked": value}}
    assert worker.call("calls", entry="SetGroupLocked") == [{"entry": "SetGroupLocked", "jid": GROUP, "locked": value}]
    assert job(worker, "group_info", jid=GROUP)["result"]["locked"] is value


def test_set_group_locked_of_an_unknown_group_fails_with_whatsmeows_text(worker):
    failed = job(worker, "set_group_locked", jid=UNKNOWN_GROUP, locked=True)
    assert_backend_error(failed, f"set_group_locked failed: {ERR_IQ_NOT_FOUND}")


# set_group_announce ------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [True, False])
def test_set_group_announce(worker, value):
    assert job(worker, "set_group_announce", jid=GROUP, announce=value) == {"result": {"jid": GROUP, "announce": value}}
    assert worker.call("calls", entry="SetGroupAnnounce") == [
        {"entry": "SetGroupAnnounce", "jid": GROUP, "announce": value}
    ]
    assert job(worker, "group_info", jid=GROUP)["result"]["announce"] is value


def test_set_group_announce_of_an_unknown_group_fails_with_whatsmeows_text(worker):
    failed = job(worker, "set_group_announce", jid=UNKNOWN_GROUP, announce=True)
    assert_backend_error(failed, f"set_group_announce failed: {ERR_IQ_NOT_FOUND}")


# group_invite_link ---------------------------------------------------------------------------
def test_group_invite_link_and_its_reset(worker):
    first = job(worker, "group_invite_link", jid=GROUP)["result"]
    assert first["jid"] == GROUP and first["reset"] is False
    assert first["link"].startswith("https://chat.whatsapp.com/") and len(first["link"]) > 30
    assert job(worker, "group_invite_link", jid=GROUP)["result"]["link"] == first["link"]
    reset = job(worker, "group_invite_link", jid=GROUP, reset=True)["result"]
    assert reset["reset"] is True and reset["link"] != first["link"]
    calls = worker.call("calls", entry="GetGroupInviteLink")
    assert [c["reset"] for c in calls] == [False, False, True]


@pytest.mark.parametrize(
    ("group", "text"),
    [(UNKNOWN_GROUP, ERR_GROUP_NOT_FOUND), (LEGACY_GROUP, ERR_NOT_IN_GROUP)],
    ids=["unknown", "not-in-it"],
)
def test_group_invite_link_errors_are_whatsmeows_human_texts(worker, group, text):
    assert_backend_error(job(worker, "group_invite_link", jid=group), f"group_invite_link failed: {text}")


def test_group_invite_link_needs_an_admin(worker):
    worker.call("demote_account", group=GROUP)
    failed = job(worker, "group_invite_link", jid=GROUP)
    assert_backend_error(failed, f"group_invite_link failed: {ERR_INVITE_LINK_UNAUTHORIZED}")


# group_requests ------------------------------------------------------------------------------
def test_group_requests(worker):
    assert job(worker, "group_requests", jid=GROUP) == {
        "result": {"jid": GROUP, "requests": [{"jid": BOB, "requested_at": "2025-11-29T10:30:00Z"}]}
    }
    assert worker.call("calls", entry="GetGroupRequestParticipants") == [
        {"entry": "GetGroupRequestParticipants", "jid": GROUP}
    ]


def test_group_requests_errors(worker):
    assert_backend_error(job(worker, "group_requests", jid=UNKNOWN_GROUP), f"group_requests failed: {ERR_IQ_NOT_FOUND}")
    worker.call("demote_account", group=GROUP)
    assert_backend_error(job(worker, "group_requests", jid=GROUP), f"group_requests failed: {ERR_IQ_NOT_AUTHORIZED}")


# create_group --------------------------------------------------------------------------------
def test_create_group_returns_the_new_groups_info(worker):
    result = job(worker, "create_group", name="Launch", participants=["+1 555 123 4567", BOB])["result"]
    assert result["jid"].endswith("@g.us") and result["name"] == "Launch"
    assert result["owner"] == "15550001111@s.whatsapp.net"
    assert [p["jid"] for p in result["participants"]] == ["15550001111@s.whatsapp.net", ALICE, BOB]
    [call] = worker.call("calls", entry="CreateGroup")
    assert call["participants"] == [ALICE, BOB] and call["create_key"].startswith("3EB0")
    assert job(worker, "group_info", jid=result["jid"])["result"]["name"] == "Launch"


def test_every_create_group_call_has_a_new_create_key(worker):
    """Why create_group is a send: neonize makes a new key per call, so a repeat is a second group."""
    first = job(worker, "create_group", name="Launch", participants=[ALICE])["result"]["jid"]
    second = job(worker, "create_group", name="Launch", participants=[ALICE])["result"]["jid"]
    keys = [call["create_key"] for call in worker.call("calls", entry="CreateGroup")]
    assert first != second and len(set(keys)) == 2


# group_participants --------------------------------------------------------------------------
def test_group_participants_add_promote_demote_remove(worker):
    def change(action):
        return job(worker, "group_participants", jid=GROUP, action=action, participants=["+1 555 765 4321"])

    assert change("add") == {
        "result": {
            "jid": GROUP,
            "action": "add",
            "participants": [{"jid": BOB, "lid": None, "error": None, "invite": None}],
        }
    }
    assert change("promote")["result"]["participants"] == [{"jid": BOB, "lid": None, "error": None, "invite": None}]
    admins = {p["jid"]: p["is_admin"] for p in job(worker, "group_info", jid=GROUP)["result"]["participants"]}
    assert admins[BOB] is True
    assert change("demote")["result"]["participants"][0]["error"] is None
    assert change("remove")["result"]["participants"][0]["error"] is None
    members = [p["jid"] for p in job(worker, "group_info", jid=GROUP)["result"]["participants"]]
    assert BOB not in members
    actions = [(c["action"], c["people"]) for c in worker.call("calls", entry="UpdateGroupParticipants")]
    assert actions == [(a, [BOB]) for a in ("add", "promote", "demote", "remove")]


def test_group_participants_reports_whatsapps_code_per_person(worker):
    result = job(worker, "group_participants", jid=GROUP, action="add", participants=[ALICE, BOB])["result"]
    assert [(p["jid"], p["lid"], p["error"]) for p in result["participants"]] == [
        (ALICE, ALICE_LID, 409),  # already in the group
        (BOB, None, None),
    ]
    removed = job(worker, "group_participants", jid=GROUP, action="remove", participants=[NOT_A_MEMBER])["result"]
    assert removed["participants"][0]["error"] == 404


def test_a_person_who_may_only_be_invited_comes_back_with_the_invite(worker):
    """whatsmeow's AddRequest (goneonize passes it on): the code and expiry of the invite."""
    result = job(worker, "group_participants", jid=GROUP, action="add", participants=[PRIVATE_USER])["result"]
    assert result["participants"] == [
        {
            "jid": PRIVATE_USER,
            "lid": None,
            "error": 403,
            # goneonize sends the expiry as a float32: 10:30:00 arrives as 10:29:20
            "invite": {"code": "PrivInv1te", "expires": "2025-12-02T10:29:20Z"},
        }
    ]


def test_group_participants_of_an_unknown_group_fails_with_whatsmeows_text(worker):
    failed = job(worker, "group_participants", jid=UNKNOWN_GROUP, action="add", participants=[BOB])
    assert_backend_error(failed, f"group_participants failed: {ERR_IQ_NOT_FOUND}")


# join_group ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "link",
    [f"https://chat.whatsapp.com/{INVITE_CODE}", f"chat.whatsapp.com/{INVITE_CODE}", INVITE_CODE],
    ids=["link", "no-scheme", "code"],
)
def test_join_group_by_link_or_code(worker, link):
    assert job(worker, "join_group", link=link) == {"result": {"jid": LEGACY_GROUP}}
    # Only the code reaches WhatsApp (wagw never fetches the link).
    assert worker.call("calls", entry="JoinGroupWithLink") == [{"entry": "JoinGroupWithLink", "code": INVITE_CODE}]
    members = [p["jid"] for p in job(worker, "group_info", jid=LEGACY_GROUP)["result"]["participants"]]
    assert "15550001111@s.whatsapp.net" in members


@pytest.mark.parametrize(
    ("code", "text"),
    [("AAAAAAAAAAAAAAAAAAAAAA", ERR_INVITE_LINK_INVALID), (REVOKED_CODE, ERR_INVITE_LINK_REVOKED)],
    ids=["invalid", "revoked"],
)
def test_join_group_with_a_bad_link_fails_with_whatsmeows_text(worker, code, text):
    assert_backend_error(
        job(worker, "join_group", link=f"https://chat.whatsapp.com/{code}"), f"join_group failed: {text}"
    )


# group_info_from_link ------------------------------------------------------------------------
def test_group_info_from_link_without_joining(worker):
    result = job(worker, "group_info_from_link", link=f"https://chat.whatsapp.com/{INVITE_CODE}")["result"]
    assert (result["jid"], result["name"], result["created"]) == (LEGACY_GROUP, "Old", "2023-11-14T22:15:00Z")
    assert worker.call("calls", entry="GetGroupInfoFromLink") == [
        {"entry": "GetGroupInfoFromLink", "code": INVITE_CODE}
    ]
    assert "15550001111@s.whatsapp.net" not in [p["jid"] for p in result["participants"]]


@pytest.mark.parametrize(
    ("code", "text"),
    [("AAAAAAAAAAAAAAAAAAAAAA", ERR_INVITE_LINK_INVALID), (REVOKED_CODE, ERR_INVITE_LINK_REVOKED)],
    ids=["invalid", "revoked"],
)
def test_group_info_from_a_bad_link_fails_with_whatsmeows_text(worker, code, text):
    assert_backend_error(job(worker, "group_info_from_link", link=code), f"group_info_from_link failed: {text}")


# set_group_photo -----------------------------------------------------------------------------
def _png(size: tuple[int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, "png")
    return base64.b64encode(buffer.getvalue()).decode()


def test_set_group_photo_sends_whatsapp_a_square_jpeg(worker):
    result = job(worker, "set_group_photo", jid=GROUP, image=_png((1280, 720)))["result"]
    assert result["jid"] == GROUP and result["picture_id"]
    [call] = worker.call("calls", entry="SetGroupPhoto")
    assert call["jpeg"] is True  # a PNG was given; WhatsApp refuses anything but a JPEG
    assert job(worker, "fetch_avatar", jid=GROUP)["result"]["id"] == result["picture_id"]


def test_set_group_photo_of_an_unknown_group_fails_with_whatsmeows_text(worker):
    failed = job(worker, "set_group_photo", jid=UNKNOWN_GROUP, image=_png((64, 64)))
    assert_backend_error(failed, f"set_group_photo failed: {ERR_IQ_NOT_FOUND}")


def test_set_group_photo_with_an_image_that_does_not_decode_fails_at_once(worker):
    corrupt = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 64).decode()
    failed = job(worker, "set_group_photo", jid=GROUP, image=corrupt)
    assert failed["error"] == "InvalidArguments" and failed["permanent"], failed
    assert failed["message"].startswith("invalid arguments for set_group_photo: image: the image does not decode")
    assert worker.call("calls", entry="SetGroupPhoto") == []
