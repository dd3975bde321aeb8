"""How a go-whatsapp-web-multidevice request becomes a wagw job's arguments, and how the job's
result and errors become that API's answer (wagw.api.gowa.requests, .results, .answers)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from wagw.api.calls import Failed
from wagw.api.gowa import answers, results
from wagw.api.gowa.requests import Incoming, RequestInvalid, gowa_address, to_arguments
from wagw.api.gowa.table import BY_KEY

PHONE = "6289685028129@s.whatsapp.net"


def json_body(method: str, path: str, body: dict, path_params: dict | None = None) -> tuple[dict, dict]:
    return to_arguments(BY_KEY[(method, path)], Incoming({}, path_params or {}, body, False, {}))


def form_body(method: str, path: str, form: dict, files: dict | None = None) -> tuple[dict, dict]:
    values = {name: value if isinstance(value, list) else [value] for name, value in form.items()}
    return to_arguments(BY_KEY[(method, path)], Incoming({}, {}, values, True, files or {}))


def query(method: str, path: str, params: dict) -> dict:
    values = {name: value if isinstance(value, list) else [value] for name, value in params.items()}
    return to_arguments(BY_KEY[(method, path)], Incoming(values, {}, {}, False, {}))[0]


def test_send_message_fields_become_send_text_arguments():
    arguments, seen = json_body(
        "POST",
        "/send/message",
        {
            "phone": PHONE,
            "message": "selamat malam",
            "reply_message_id": "3EB089B9D6ADD58153C561",
            "mentions": ["628123456789"],
            "is_forwarded": True,  # accepted, ignored
            "duration": 86400,  # accepted, ignored
        },
    )
    assert arguments == {
        "to": PHONE,
        "text": "selamat malam",
        "reply_to": "3EB089B9D6ADD58153C561",
        "mentions": ["628123456789"],
    }
    assert seen["phone"] == PHONE and "duration" not in seen


def test_the_same_request_as_a_form_gives_the_same_arguments():
    as_json, _ = json_body("POST", "/send/message", {"phone": PHONE, "message": "hi"})
    as_form, _ = form_body("POST", "/send/message", {"phone": PHONE, "message": "hi"})
    assert as_json == as_form


def test_a_missing_or_empty_required_field_is_its_validation_error():
    with pytest.raises(RequestInvalid, match=r"^message: cannot be blank\.$"):
        json_body("POST", "/send/message", {"phone": PHONE})
    with pytest.raises(RequestInvalid, match=r"^phone: cannot be blank\.$"):
        json_body("POST", "/send/message", {"phone": "", "message": "x"})
    with pytest.raises(RequestInvalid, match="phone: must be a string"):
        json_body("POST", "/send/message", {"phone": 6289685028129, "message": "x"})
    with pytest.raises(RequestInvalid, match="@everyone is not supported"):
        json_body("POST", "/send/message", {"phone": PHONE, "message": "x", "mentions": ["@everyone"]})


@pytest.mark.parametrize(
    ("given", "address"),
    [
        ("6289685028129", "6289685028129"),  # a number: wagw's rules make it the user JID
        ("+6289685028129", "+6289685028129"),
        (PHONE, PHONE),
        ("120363024512399999", "120363024512399999@g.us"),  # longer than a phone number: a group
        ("120363024512399999@g.us", "120363024512399999@g.us"),
        ("251556368777322@lid", "251556368777322@lid"),
    ],
)
def test_phone_is_read_as_that_api_sanitizes_it(given, address):
    assert gowa_address(given) == address


def test_group_ids_and_people():
    arguments, _ = json_body(
        "POST", "/group/participants/promote", {"group_id": "120363024512399999", "participants": ["6281234567890"]}
    )
    # the route's fixed action; participants are people, never read as groups
    assert arguments == {"action": "promote", "jid": "120363024512399999@g.us", "participants": ["6281234567890"]}
    assert query("GET", "/group/invite-link", {"group_id": "120363024512399999@g.us", "reset": "true"}) == {
        "jid": "120363024512399999@g.us",
        "reset": True,
    }


def test_a_single_value_becomes_the_list_a_job_takes():
    assert query("GET", "/user/info", {"phone": PHONE}) == {"jids": [PHONE]}
    assert query("GET", "/user/check", {"phone": "628912344551"}) == {"phones": ["628912344551"]}
    arguments, _ = json_body("POST", "/message/{message_id}/read", {"phone": PHONE}, {"message_id": "3EB0AA"})
    assert arguments == {"ids": ["3EB0AA"], "chat": PHONE}


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("1", True), ("True", True), ("false", False), ("0", False)]
)
def test_booleans_as_go_parses_them(text, value):
    assert query("GET", "/user/avatar", {"phone": PHONE, "is_preview": text})["preview"] is value


def test_a_boolean_that_is_none_is_refused():
    with pytest.raises(RequestInvalid, match="is_preview: must be a boolean"):
        query("GET", "/user/avatar", {"phone": PHONE, "is_preview": "maybe"})


def test_coordinates_come_as_strings_or_numbers():
    body = {"phone": PHONE, "latitude": "-7.797068", "longitude": 110.370529}
    arguments, _ = json_body("POST", "/send/location", body)
    assert (arguments["latitude"], arguments["longitude"]) == (-7.797068, 110.370529)
    for bad in ("north", "nan", "inf", True):
        with pytest.raises(RequestInvalid, match="latitude: must be a number"):
            json_body("POST", "/send/location", {**body, "latitude": bad})


def test_chat_presence_actions_are_wagws_states():
    assert json_body("POST", "/send/chat-presence", {"phone": PHONE, "action": "start"})[0]["state"] == "composing"
    assert json_body("POST", "/send/chat-presence", {"phone": PHONE, "action": "stop"})[0]["state"] == "paused"
    with pytest.raises(RequestInvalid, match="action: must be one of start, stop"):
        json_body("POST", "/send/chat-presence", {"phone": PHONE, "action": "typing"})


def test_poll_and_participant_lists_from_repeated_form_fields():
    arguments, _ = form_body(
        "POST", "/send/poll", {"phone": PHONE, "question": "Q?", "options": ["Zuko", "Aang"], "max_answer": "2"}
    )
    assert arguments == {"to": PHONE, "question": "Q?", "options": ["Zuko", "Aang"], "max_answers": 2}


def test_media_is_an_uploaded_file_or_an_http_url():
    upload = {"image": ("file://" + "a" * 64 + ".jpg", "cat.jpg")}
    arguments, _ = form_body("POST", "/send/image", {"phone": PHONE, "view_once": "true"}, upload)
    assert arguments == {"to": PHONE, "view_once": True, "image": "file://" + "a" * 64 + ".jpg"}
    # the upload wins over a URL given beside it, as there
    arguments, _ = form_body("POST", "/send/image", {"phone": PHONE, "image_url": "https://example.com/i.jpg"}, upload)
    assert arguments["image"].startswith("file://")
    arguments, _ = json_body("POST", "/send/image", {"phone": PHONE, "image_url": "https://example.com/image.jpg"})
    assert arguments == {"to": PHONE, "image": "https://example.com/image.jpg"}
    with pytest.raises(RequestInvalid, match=r"^either image or image_url must be provided$"):
        json_body("POST", "/send/image", {"phone": PHONE})
    # a URL field names a URL, never a file of the media folder or base64
    for not_a_url in ("file://" + "a" * 64 + ".jpg", "/etc/passwd", "aGVsbG8="):
        with pytest.raises(RequestInvalid, match="image_url: must be an http"):
            json_body("POST", "/send/image", {"phone": PHONE, "image_url": not_a_url})


def test_a_documents_name_is_the_uploaded_files():
    upload = {"file": ("file://" + "b" * 64 + ".pdf", "C:\\reports\\q3.pdf")}
    arguments, _ = form_body("POST", "/send/file", {"phone": PHONE, "caption": "c"}, upload)
    assert arguments == {"to": PHONE, "caption": "c", "file": "file://" + "b" * 64 + ".pdf", "filename": "q3.pdf"}


def test_a_topic_left_out_removes_it():
    assert json_body("POST", "/group/topic", {"group_id": "120363024512399999@g.us"})[0]["topic"] == ""
    assert json_body("POST", "/group/topic", {"group_id": "1203630245123@g.us", "topic": "t"})[0]["topic"] == "t"


# results ----------------------------------------------------------------------------------


def shaped(method: str, path: str, result: dict, request: dict | None = None) -> tuple[object, str]:
    row = BY_KEY[(method, path)]
    return results.shape(row.result, result, request or {}, row.message)


def test_a_sends_results_and_message_are_that_apis():
    sent = {"id": "3EB0A1B2C3D4E5F60718", "timestamp": "2026-11-29T10:30:00Z", "to": PHONE}
    shaped_results, message = shaped("POST", "/send/file", sent, {"phone": "6289685028129"})
    assert message == f"Document sent to {PHONE} (server timestamp: 2026-11-29 10:30:00 +0000 UTC)"
    assert shaped_results == {"message_id": "3EB0A1B2C3D4E5F60718", "status": message}


def test_user_info_as_that_server_answers_and_as_its_openapi_documents():
    result = {
        "users": [
            {
                "jid": PHONE,
                "status": "Hey",
                "picture_id": "1651459152",
                "verified_name": None,
                "devices": ["6289685028129:0@s.whatsapp.net", "6289685028129:7@s.whatsapp.net"],
            }
        ]
    }
    shaped_results, message = shaped("GET", "/user/info", result)
    assert message == "Success get user info"
    device = {"User": "6289685028129", "Agent": 0, "Device": "DESKTOP", "Server": "s.whatsapp.net"}
    assert shaped_results["devices"][1] == {**device, "AD": "6289685028129.0:7@s.whatsapp.net"}
    assert shaped_results["verified_name"] == "" and shaped_results["picture_id"] == "1651459152"
    assert shaped_results["data"] == [{"name": "", **{k: v for k, v in shaped_results.items() if k != "data"}}]
    # a device number that is no decimal number (a digit int() refuses) is an unknown platform
    for number in ("\u00b2", "9" * 5000):
        odd = {"users": [{"jid": PHONE, "devices": [f"6289685028129:{number}@s.whatsapp.net"]}]}
        assert shaped("GET", "/user/info", odd)[0]["devices"][0]["Device"] == "UNKNOWN"


GROUP = {
    "jid": "120363000000000001@g.us",
    "name": "Team",
    "topic": None,
    "owner": "15550001111@s.whatsapp.net",
    "created": "2023-11-14T22:13:20Z",
    "announce": True,
    "locked": False,
    "participants": [
        {
            "jid": "15551234567@s.whatsapp.net",
            "lid": "100000000000002@lid",
            "is_admin": True,
            "is_super_admin": True,
            "display_name": None,
        },
        {
            "jid": "100000000000003@lid",
            "lid": "100000000000003@lid",
            "is_admin": False,
            "is_super_admin": False,
            "display_name": "Anon",
        },
    ],
}


def test_group_info_is_whatsmeows_group_info():
    shaped_results, _ = shaped("GET", "/group/info", GROUP)
    assert shaped_results["JID"] == GROUP["jid"] and shaped_results["OwnerJID"] == GROUP["owner"]
    assert (shaped_results["IsAnnounce"], shaped_results["IsLocked"], shaped_results["Topic"]) == (True, False, "")
    assert shaped_results["Participants"][0] == {
        "JID": "100000000000002@lid",
        "PhoneNumber": "15551234567@s.whatsapp.net",
        "LID": "100000000000002@lid",
        "IsAdmin": True,
        "IsSuperAdmin": True,
        "DisplayName": "",
    }
    assert shaped_results["ParticipantCount"] == 2


def test_group_participants_and_their_csv():
    shaped_results, _ = shaped("GET", "/group/participants", GROUP)
    assert shaped_results["participants"] == [
        {
            "jid": "100000000000002@lid",
            "phone_number": "15551234567@s.whatsapp.net",
            "is_admin": True,
            "is_super_admin": True,
            "lid": "100000000000002@lid",
        },
        {
            "jid": "100000000000003@lid",
            "phone_number": "",
            "is_admin": False,
            "is_super_admin": False,
            "lid": "100000000000003@lid",
            "display_name": "Anon",
        },
    ]
    name, text = results.participants_csv(GROUP)
    assert name == "group-120363000000000001_g.us-participants.csv"
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(results.CSV_HEADER) and rows[1][-1] == "super_admin" and rows[2][-1] == "member"


def test_participant_changes_say_which_failed():
    result = {
        "jid": GROUP["jid"],
        "action": "add",
        "participants": [
            {"jid": "15551234567@s.whatsapp.net", "lid": None, "error": None, "invite": None},
            {"jid": "15557654321@s.whatsapp.net", "lid": None, "error": 409, "invite": None},
        ],
    }
    shaped_results, message = shaped("POST", "/group/participants", result)
    assert message == "Success add participants"
    assert shaped_results == [
        {"participant": "15551234567@s.whatsapp.net", "status": "success", "message": "Action success"},
        {"participant": "15557654321@s.whatsapp.net", "status": "error", "message": "Action add failed (code 409)"},
    ]


@pytest.mark.parametrize(
    ("path", "result", "message"),
    [
        ("/group/locked", {"jid": "x@g.us", "locked": True}, "Success set group as locked"),
        ("/group/locked", {"jid": "x@g.us", "locked": False}, "Success set group as unlocked"),
        ("/group/announce", {"jid": "x@g.us", "announce": True}, "Success enable announce mode"),
        ("/group/topic", {"jid": "x@g.us", "topic": None}, "Success remove group topic"),
        ("/group/name", {"jid": "x@g.us", "name": "Team"}, "Success update group name to 'Team'"),
        ("/group/leave", {"jid": "x@g.us", "left": True}, "Success leave group"),
        ("/call/reject", {"call_id": "A", "caller": PHONE}, "Call rejected successfully"),
    ],
)
def test_answers_without_results_say_what_was_done(path, result, message):
    request = {"name": "Team"} if path == "/group/name" else {}
    assert shaped("POST", path, result, request) == (None, message)


def test_disappearing_and_presence():
    shaped_results, message = shaped("POST", "/chat/{chat_jid}/disappearing", {"chat": PHONE, "seconds": 86400})
    assert message == "Disappearing messages set to 86400 seconds"
    assert shaped_results == {"status": "success", "message": message, "chat_jid": PHONE, "timer_seconds": 86400}
    shaped_results, message = shaped(
        "POST", "/send/chat-presence", {"chat": PHONE, "state": "composing"}, {"phone": PHONE}
    )
    assert shaped_results == {"message_id": "chat-presence-start", "status": message}
    assert message == f"Send chat presence start typing success {PHONE}"


# errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        ("workers.validation.InvalidArguments", 400, "VALIDATION_ERROR"),
        ("workers.wa.ReachOutLimited", 429, "WA_REACHOUT_TIMELOCK"),
        ("workers.host_client.SlotNotPaired", 401, "AUTHENTICATION_ERROR"),
        ("workers.host_client.HostTimeout", 504, "GATEWAY_TIMEOUT"),
        ("wagw.backends.base.BackendError", 500, "INTERNAL_SERVER_ERROR"),
        ("workers.wa.OutcomeUnknown", 500, "INTERNAL_SERVER_ERROR"),
    ],
)
def test_a_failed_jobs_error_is_that_apis_status_and_code(error, status, code):
    crash = "outcome_unknown" if error.endswith("OutcomeUnknown") else None
    response = answers.failed(Failed("j1", error, "what happened", permanent=True, crash=crash))
    body = json.loads(response.body)
    assert response.status_code == status
    assert body == {
        "code": code,
        "message": "what happened",
        "results": {"job_id": "j1", "error": error, "crash": crash},
    }


def test_not_supported_says_why_and_what_instead():
    response = answers.not_supported(BY_KEY[("GET", "/user/business-profile")])
    body = json.loads(response.body)
    assert response.status_code == 501 and body["code"] == "NOT_IMPLEMENTED"
    assert "GetBusinessProfile" in body["message"] and "GET /user/info" in body["message"]


def test_a_job_argument_error_names_the_field_the_request_gave():
    send_image = BY_KEY[("POST", "/send/image")]
    message = "invalid arguments for send_image: image: the URL cannot be used: the URL's host is not a public address"
    assert answers.in_gowa_names(send_image, message, {"phone", "image_url"}) == (
        "image_url: the URL cannot be used: the URL's host is not a public address"
    )
    assert answers.in_gowa_names(send_image, message, {"phone", "image"}).startswith("image: the URL")
    send_message = BY_KEY[("POST", "/send/message")]
    assert answers.in_gowa_names(send_message, "invalid arguments for send_text: to: bad", {}) == "phone: bad"
    # another operation's message, or no argument named: as it is
    assert answers.in_gowa_names(send_message, "invalid arguments for send_image: to: bad", {}).startswith("invalid")
    assert answers.in_gowa_names(send_message, "too large", {}) == "too large"


def test_a_missing_group_id_is_that_apis_invalid_group_id_where_it_says_so():
    for path in ("/group/participants", "/group/participants/export", "/group/participant-requests"):
        with pytest.raises(RequestInvalid, match=r"^Group ID cannot be empty$") as raised:
            query("GET", path, {})
        assert raised.value.code == "INVALID_GROUP_ID"
    with pytest.raises(RequestInvalid, match=r"^group_id: cannot be blank\.$") as raised:
        query("GET", "/group/info", {})
    assert raised.value.code == "VALIDATION_ERROR"


def test_a_download_answers_with_the_file_wagw_wrote():
    result = {"path": "/var/lib/wagw/media/5f70.jpg", "mimetype": "image/jpeg", "size": 48213, "sha256": "5f70"}
    shaped_results, message = shaped(
        "GET", "/message/{message_id}/download", result, {"message_id": "3EB0AB", "media_type": "image"}
    )
    assert message == "Media downloaded successfully to /var/lib/wagw/media/5f70.jpg"
    assert shaped_results == {
        "message_id": "3EB0AB",
        "status": message,
        "media_type": "image",
        "filename": "5f70.jpg",
        "file_path": "/var/lib/wagw/media/5f70.jpg",
        "file_size": 48213,
    }


def test_the_sender_comes_from_the_stored_message_unless_given():
    from wagw.api.gowa.senders import LOOKUPS, Found, filled

    react = LOOKUPS["react"]
    group = {"chat": "120363000000000001@g.us", "message_id": "3EB0AA", "emoji": "👍"}
    theirs = Found(from_me=False, sender="15557654321@s.whatsapp.net", text="hi")
    mine = Found(from_me=True, sender=None, text="mine")
    own = "15550001111@s.whatsapp.net"
    assert filled(group, react, theirs, own) == {**group, "sender": "15557654321@s.whatsapp.net"}
    assert filled(group, react, mine, own) == {**group, "sender": own}
    assert filled(group, react, mine, None) == group  # own JID unknown: the job's default
    assert filled(group, react, None, own) == group  # not in the store: the job's default
    given = {**group, "sender": "15551234567@s.whatsapp.net"}
    assert filled(given, react, theirs, own) == given  # the request's sender wins
    reply = {"to": "120363000000000001@g.us", "text": "yes", "reply_to": "3EB0AA"}
    assert filled(reply, LOOKUPS["send_text"], theirs, own) == {
        **reply,
        "reply_to_sender": "15557654321@s.whatsapp.net",
        "reply_to_text": "hi",
    }


@pytest.mark.parametrize("bad", ["abc", "1.5", str(2**63), 1e300, True, "", "--5", "\u00b2", "-"])
def test_integers_are_gos(bad):
    if bad == "":
        assert query("GET", "/chats", {"limit": bad}) == {}  # empty: not given
        return
    with pytest.raises(RequestInvalid, match="limit: must be an integer"):
        query("GET", "/chats", {"limit": bad} if isinstance(bad, str) else {"limit": [bad]})
    assert query("GET", "/chats", {"limit": "10", "offset": "-0"}) == {"limit": 10, "offset": 0}
