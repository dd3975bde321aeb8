"""The group jobs' arguments: bad ones fail at once, naming the argument, never retried."""

from __future__ import annotations

import pytest

from wagw.operations import OPERATIONS, validate
from wagw.operations.args import InvalidArguments

GROUP = "120363000000000001@g.us"

# (operation, kwargs, text the message must contain)
BAD = [
    ("set_group_photo", {"jid": GROUP}, "image: Field required"),
    ("set_group_photo", {"jid": GROUP, "image": ""}, "image: String should have at least 1 character"),
    ("set_group_photo", {"jid": GROUP, "image": b"x"}, "image: Input should be a valid string"),
    ("group_info_from_link", {"link": "http://127.0.0.1/HbLNhIVW8Nh5Gh0iHpDlhm"}, "link: "),
    ("group_info_from_link", {"link": ["HbLNhIVW8Nh5Gh0iHpDlhm"]}, "link: Input should be a valid string"),
    ("join_group", {}, "link: Field required"),
    ("join_group", {"link": "https://evil.example/HbLNhIVW8Nh5Gh0iHpDlhm"}, "link: "),
    ("join_group", {"link": "https://chat.whatsapp.com.evil.example/HbLNhIVW8Nh5Gh0iHpDlhm"}, "link: "),
    ("join_group", {"link": "https://chat.whatsapp.com/HbLNhIVW8Nh5Gh0iHpDlhm?x=1"}, "link: "),
    ("join_group", {"link": "file:///etc/passwd"}, "link: "),
    ("join_group", {"link": "short"}, "link: "),
    ("join_group", {"link": "crash"}, "link: "),  # the fake's names only with the fake backend
    ("group_participants", {"jid": GROUP, "participants": ["+15551234567"]}, "action: Field required"),
    (
        "group_participants",
        {"jid": GROUP, "action": "kick", "participants": ["+15551234567"]},
        "action: Input should be 'add', 'remove', 'promote' or 'demote'",
    ),
    ("group_participants", {"jid": GROUP, "action": "add", "participants": []}, "participants: List should have"),
    ("group_participants", {"jid": GROUP, "action": "add", "participants": [GROUP]}, "participants: "),
    ("group_participants", {"jid": "+15551234567", "action": "add", "participants": ["+15551234567"]}, "jid: "),
    ("create_group", {"participants": ["+15551234567"]}, "name: Field required"),
    ("create_group", {"name": " ", "participants": ["+15551234567"]}, "name: name is blank"),
    ("create_group", {"name": "Launch"}, "participants: Field required"),
    ("create_group", {"name": "Launch", "participants": []}, "participants: List should have at least 1 item"),
    ("create_group", {"name": "Launch", "participants": "+15551234567"}, "participants: Input should be a valid list"),
    ("create_group", {"name": "Launch", "participants": [GROUP]}, "participants: "),
    ("create_group", {"name": "Launch", "participants": ["12"]}, "participants: "),
    ("group_requests", {"jid": ""}, "jid: "),
    ("group_requests", {"jid": GROUP, "page": 2}, "page: Extra inputs are not permitted"),
    ("group_invite_link", {"jid": GROUP, "reset": "yes"}, "reset: Input should be a valid boolean"),
    ("group_invite_link", {"jid": "chat.whatsapp.com/abc"}, "jid: "),
    ("set_group_announce", {"jid": GROUP}, "announce: Field required"),
    ("set_group_announce", {"jid": GROUP, "announce": "true"}, "announce: Input should be a valid boolean"),
    ("set_group_announce", {"jid": GROUP, "announce": 1}, "announce: Input should be a valid boolean"),
    ("set_group_locked", {"jid": GROUP}, "locked: Field required"),
    ("set_group_locked", {"jid": GROUP, "locked": "true"}, "locked: Input should be a valid boolean"),
    ("set_group_locked", {"jid": GROUP, "locked": 1}, "locked: Input should be a valid boolean"),
    ("set_group_topic", {"jid": GROUP}, "topic: Field required"),
    ("set_group_topic", {"jid": GROUP, "topic": None}, "topic: Input should be a valid string"),
    ("set_group_topic", {"jid": GROUP, "topic": "x" * 2049}, "topic: String should have at most 2048 characters"),
    ("set_group_name", {"jid": GROUP}, "name: Field required"),
    ("set_group_name", {"jid": GROUP, "name": "   "}, "name: name is blank"),
    ("set_group_name", {"jid": GROUP, "name": ""}, "name: String should have at least 1 character"),
    ("set_group_name", {"jid": GROUP, "name": "x" * 101}, "name: String should have at most 100 characters"),
    ("set_group_name", {"jid": "15551234567@s.whatsapp.net", "name": "x"}, "jid: "),
    ("leave_group", {}, "jid: Field required"),
    ("leave_group", {"jid": "+15551234567"}, "jid: "),
    ("leave_group", {"jid": 120363000000000001}, "jid: Input should be a valid string"),
    ("leave_group", {"jid": GROUP, "extra": 1}, "extra: Extra inputs are not permitted"),
]

GOOD = [
    (
        "group_info_from_link",
        {"link": "http://chat.whatsapp.com/HbLNhIVW8Nh5Gh0iHpDlhm"},
        {"link": "HbLNhIVW8Nh5Gh0iHpDlhm"},
    ),
    ("join_group", {"link": "https://chat.whatsapp.com/HbLNhIVW8Nh5Gh0iHpDlhm"}, {"link": "HbLNhIVW8Nh5Gh0iHpDlhm"}),
    ("join_group", {"link": " chat.whatsapp.com/HbLNhIVW8Nh5Gh0iHpDlhm/ "}, {"link": "HbLNhIVW8Nh5Gh0iHpDlhm"}),
    ("join_group", {"link": "HbLNhIVW8Nh5Gh0iHpDlhm"}, {"link": "HbLNhIVW8Nh5Gh0iHpDlhm"}),
    (
        "group_participants",
        {"jid": GROUP, "action": "demote", "participants": ["+1 555 123 4567"]},
        {"jid": GROUP, "action": "demote", "participants": ["15551234567@s.whatsapp.net"]},
    ),
    (
        "create_group",
        {"name": "Launch", "participants": ["+1 555 123 4567", "15551234567@s.whatsapp.net", "100000000000002@lid"]},
        {"name": "Launch", "participants": ["15551234567@s.whatsapp.net", "100000000000002@lid"]},
    ),
    ("group_requests", {"jid": "120363000000000001@G.US"}, {"jid": GROUP}),
    ("group_invite_link", {"jid": GROUP}, {"jid": GROUP, "reset": False}),
    ("set_group_announce", {"jid": GROUP, "announce": True}, {"jid": GROUP, "announce": True}),
    ("set_group_locked", {"jid": GROUP, "locked": True}, {"jid": GROUP, "locked": True}),
    ("set_group_topic", {"jid": GROUP, "topic": ""}, {"jid": GROUP, "topic": ""}),
    ("set_group_name", {"jid": GROUP, "name": "Team"}, {"jid": GROUP, "name": "Team"}),
    ("leave_group", {"jid": GROUP}, {"jid": GROUP}),
]


@pytest.mark.parametrize(("operation", "kwargs", "message"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_group_job_arguments_name_the_argument_and_are_permanent(operation, kwargs, message):
    with pytest.raises(InvalidArguments) as caught:
        validate(operation, (), kwargs)
    assert f"invalid arguments for {operation}: " in str(caught.value)
    assert message in str(caught.value)
    assert caught.value.permanent is True  # the wa-worker never retries it


@pytest.mark.parametrize(("operation", "kwargs", "expected"), GOOD, ids=[g[0] for g in GOOD])
def test_good_group_job_arguments_come_back_normalised(operation, kwargs, expected):
    assert validate(operation, (), kwargs).model_dump() == expected


def test_which_group_jobs_are_sends():
    """docs/jobs.md "Send semantics": a repeat that would announce a change again, or make a
    second group, is a send; a repeat that asks for the state already reached is not."""
    group_jobs = {name for name in OPERATIONS if "group" in name}
    sends = {name for name in group_jobs if OPERATIONS[name].sends}
    assert sends == {"set_group_name", "set_group_topic", "create_group", "set_group_photo"}
    assert OPERATIONS["create_group"].sends and OPERATIONS["create_group"].target == "participants"


def test_the_fake_backends_names_pass_as_invite_codes_only_for_the_fake():
    assert validate("join_group", (), {"link": "crash"}, fake=True).model_dump() == {"link": "crash"}
