"""neonize's reply protos -> result shapes: group creation time, is_on_whatsapp answers."""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

from wagw.whatsapp import neonize_results
from wagw.whatsapp.neonize_backend import parse_jid

sys.path.insert(0, os.path.join(os.path.dirname(importlib.util.find_spec("neonize").origin), "proto"))
import Neonize_pb2 as N

ALICE = "15551234567@s.whatsapp.net"


def jid(text: str) -> N.JID:
    return N.JID(**parse_jid(text))


def group(created: int, *, jid_text="120363402106000000@g.us", name_set_at=0, topic_set_at=0) -> N.GroupInfo:
    info = N.GroupInfo(JID=jid(jid_text), GroupCreated=created)  # a float32 field: rounds like Go's float32()
    info.GroupName.NameSetAt = name_set_at
    info.GroupTopic.TopicSetAt = topic_set_at
    return info


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (group(1_700_000_100, name_set_at=1_700_000_100), 1_700_000_100),  # the name was set at creation
        (group(1_700_000_100, topic_set_at=1_700_000_100, name_set_at=1_800_000_000), 1_700_000_100),
        (group(1_700_000_100, jid_text="15550001111-1700000100@g.us", name_set_at=1_800_000_000), 1_700_000_100),
        (group(1_700_000_100, name_set_at=1_800_000_000), 1_700_000_128),  # only the float: within 64 s
        (group(0), None),
    ],
    ids=["name-set-at", "topic-set-at", "legacy-jid", "float-only", "none"],
)
def test_group_created_is_exact_when_the_reply_allows(info, expected):
    assert neonize_results.group_created(info) == expected


def test_the_float_loses_up_to_a_minute_which_is_why():
    assert N.GroupInfo(GroupCreated=1_700_000_100).GroupCreated == 1_700_000_128.0


def answer(query: str, answered: str, is_in: bool) -> N.IsOnWhatsAppResponse:
    return N.IsOnWhatsAppResponse(Query=query, JID=jid(answered), IsIn=is_in)


def test_is_on_whatsapp_answers():
    found = [
        answer("+15551234567", "251556368777322@lid", True),  # WhatsApp answers with the LID
        answer("+15557654321", "15557654321@s.whatsapp.net", True),
        answer("+15550000000", "15550000000@s.whatsapp.net", False),
    ]
    phones = ["+15551234567", "+15557654321", "+15550000000", "+1234567"]
    results = neonize_results.on_whatsapp(phones, found)["results"]
    assert [(r["query"], r["jid"], r["lid"], r["is_on_whatsapp"]) for r in results] == [
        ("+15551234567", ALICE, "251556368777322@lid", True),
        ("+15557654321", "15557654321@s.whatsapp.net", None, True),
        ("+15550000000", None, None, False),
        ("+1234567", None, None, False),  # no answer at all: not on WhatsApp
    ]
