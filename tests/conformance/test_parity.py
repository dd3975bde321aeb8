"""The fake backend follows the real semantics: the same jobs and inbound events, run against
the fake (in this process) and against wagw's neonize backend on neonize's real code behind
the stubbed Go boundary (the child), give the same results and the same error classes.

SPEC's fake conventions are the first rows: user part `nopic` has no picture (success, url
null), a phone number ending in 0000 is not on WhatsApp, and a message to a person whose user
part ends in 463 meets WhatsApp's reach-out limit.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest

from tests.audiofiles import mp4, ogg_opus
from tests.conformance.jobpath import outcome, run_job
from tests.conformance.names import ALICE, ALICE_LID, BOB, DEVICE, ERR_REACH_OUT_LIMITED, GROUP, REACH_OUT_USER
from wagw.events import KINDS, build_body
from wagw.whatsapp.fake import FakeBackend
from wagw.whatsapp.fake_inbound import Malformed, fake_media, fake_media_bytes, to_event

DEVICE_ID = "15550001111@s.whatsapp.net"
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
        "0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
    )
).decode()
MP4 = base64.b64encode(mp4(3)).decode()
OGG = base64.b64encode(ogg_opus(2)).decode()
CORRUPT_JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 64).decode()


def keys(result: dict) -> list[str]:
    return sorted(result)


# An inbound image's media object as the fake makes it; the neonize side's simulated media
# host serves the same bytes at its direct path (neonize_worker).
FAKE_IMAGE = fake_media("3EB0DLPAR1", "image")
DOWNLOAD = {"kind": "image", "mime_type": "image/jpeg", **{k: v for k, v in FAKE_IMAGE.items() if k != "url"}}


# (id, op, kwargs, view of a result both backends must agree on)
JOBS: list[tuple[str, str, dict, Callable[[dict], object]]] = [
    ("nopic", "fetch_avatar", {"jid": "nopic@s.whatsapp.net"}, lambda r: r),
    ("picture", "fetch_avatar", {"jid": ALICE}, lambda r: (keys(r), r["url"] is not None, r["type"])),
    ("not-on-whatsapp", "is_on_whatsapp", {"phones": ["+1 555 000 0000"]}, lambda r: r),
    ("on-whatsapp", "is_on_whatsapp", {"phones": [BOB]}, lambda r: r),
    ("reach-out-limit", "send_text", {"to": "+" + REACH_OUT_USER, "text": "hi"}, lambda r: r),
    ("reach-out-react", "react", {"chat": "+" + REACH_OUT_USER, "message_id": "3EB0AA", "emoji": "👍"}, lambda r: r),
    ("send", "send_text", {"to": ALICE, "text": "hi"}, lambda r: (keys(r), r["to"])),
    ("reply", "send_text", {"to": ALICE, "text": "hi", "reply_to": "3EB0AA"}, lambda r: (keys(r), r["to"])),
    ("group-reply-no-sender", "send_text", {"to": GROUP, "text": "hi", "reply_to": "3EB0AA"}, lambda r: r),
    ("corrupt-image", "send_image", {"to": ALICE, "image": CORRUPT_JPEG}, lambda r: r),
    ("location", "send_location", {"to": ALICE, "latitude": 1.5, "longitude": 2}, lambda r: (keys(r), r["to"])),
    ("bad-location", "send_location", {"to": ALICE, "latitude": 100, "longitude": 2}, lambda r: r),
    ("contact", "send_contact", {"to": ALICE, "name": "Bob", "phone": BOB}, lambda r: (keys(r), r["to"])),
    ("bad-contact", "send_contact", {"to": ALICE, "name": "Bob", "phone": "+999123456789"}, lambda r: r),
    ("link", "send_link", {"to": ALICE, "url": "https://example.com/"}, lambda r: (keys(r), r["to"])),
    ("bad-link", "send_link", {"to": ALICE, "url": "file:///etc/passwd"}, lambda r: r),
    ("poll", "send_poll", {"to": ALICE, "question": "Q?", "options": ["a", "b"]}, lambda r: (keys(r), r["to"])),
    ("bad-poll", "send_poll", {"to": ALICE, "question": "Q?", "options": ["a", "b"], "max_answers": 3}, lambda r: r),
    ("view-once", "send_image", {"to": ALICE, "image": PNG, "view_once": True}, lambda r: (keys(r), r["to"])),
    ("file", "send_file", {"to": ALICE, "file": PNG, "filename": "a.png"}, lambda r: (keys(r), r["to"])),
    ("file-outside", "send_file", {"to": ALICE, "file": "file:///etc/hostname"}, lambda r: r),
    ("sticker", "send_sticker", {"to": ALICE, "sticker": PNG}, lambda r: (keys(r), r["to"])),
    ("corrupt-sticker", "send_sticker", {"to": ALICE, "sticker": CORRUPT_JPEG}, lambda r: r),
    ("video", "send_video", {"to": ALICE, "video": MP4}, lambda r: (keys(r), r["to"])),
    ("not-video", "send_video", {"to": ALICE, "video": PNG}, lambda r: r),
    ("audio", "send_audio", {"to": ALICE, "audio": OGG, "ptt": True}, lambda r: (keys(r), r["to"])),
    ("not-audio", "send_audio", {"to": ALICE, "audio": PNG}, lambda r: r),
    ("user-info", "user_info", {"jids": [ALICE]}, lambda r: [keys(u) for u in r["users"]]),
    ("group-info", "group_info", {"jid": GROUP}, lambda r: (keys(r), [keys(p) for p in r["participants"]])),
    ("set-group-name", "set_group_name", {"jid": GROUP, "name": "Team"}, lambda r: r),
    ("set-group-topic", "set_group_topic", {"jid": GROUP, "topic": ""}, lambda r: r),
    ("set-group-locked", "set_group_locked", {"jid": GROUP, "locked": True}, lambda r: r),
    ("set-group-announce", "set_group_announce", {"jid": GROUP, "announce": False}, lambda r: r),
    ("invite-link", "group_invite_link", {"jid": GROUP}, lambda r: (keys(r), r["link"][:26], r["reset"])),
    ("group-requests", "group_requests", {"jid": GROUP}, lambda r: (keys(r), [keys(q) for q in r["requests"]])),
    (
        "create-group",
        "create_group",
        {"name": "Launch", "participants": [ALICE]},
        lambda r: (keys(r), r["name"], [p["jid"] for p in r["participants"]][1:]),
    ),
    (
        "group-participants",
        "group_participants",
        {"jid": GROUP, "action": "promote", "participants": [ALICE]},
        lambda r: (keys(r), r["action"], [(p["jid"], p["error"]) for p in r["participants"]]),
    ),
    (
        "group-info-from-link",
        "group_info_from_link",
        {"link": "https://chat.whatsapp.com/HbLNhIVW8Nh5Gh0iHpDlhm"},
        lambda r: (keys(r), {tuple(keys(p)) for p in r["participants"]}),
    ),
    ("group-photo", "set_group_photo", {"jid": GROUP, "image": PNG}, lambda r: keys(r)),
    ("group-photo-corrupt", "set_group_photo", {"jid": GROUP, "image": CORRUPT_JPEG}, lambda r: r),
    ("mark-read", "mark_read", {"chat": ALICE, "ids": ["3EB0AA"]}, lambda r: r),
    ("my-privacy", "my_privacy", {}, lambda r: keys(r)),
    ("contacts", "contacts", {}, lambda r: [keys(c) for c in r["contacts"]]),
    ("react", "react", {"chat": ALICE, "message_id": "3EB0AA", "emoji": "👍"}, lambda r: (keys(r), r["chat"])),
    ("react-group-no-sender", "react", {"chat": GROUP, "message_id": "3EB0AA", "emoji": "👍"}, lambda r: r),
    ("revoke", "revoke", {"chat": ALICE, "message_id": "3EB0AA"}, lambda r: r | {"id": 0, "timestamp": 0}),
    ("edit", "edit_message", {"chat": ALICE, "message_id": "3EB0AA", "text": "hi"}, lambda r: keys(r)),
    ("presence", "send_presence", {"presence": "unavailable"}, lambda r: r),
    ("bad-presence", "send_presence", {"presence": "away"}, lambda r: r),
    ("chat-presence", "send_chat_presence", {"chat": ALICE, "state": "recording"}, lambda r: r),
    ("disappearing", "set_disappearing", {"chat": GROUP, "seconds": 86_400}, lambda r: r),
    ("disappearing-odd-timer", "set_disappearing", {"chat": GROUP, "seconds": 3600}, lambda r: r),
    ("reject-call", "reject_call", {"call_id": "ABC123DEF456", "caller": ALICE_LID}, lambda r: r),
    ("revoke-others-direct", "revoke", {"chat": ALICE, "message_id": "3EB0AA", "sender": ALICE}, lambda r: r),
    ("bad-jid", "fetch_avatar", {"jid": "not a jid"}, lambda r: r),
    ("download", "download_media", {"media": DOWNLOAD}, lambda r: (keys(r), r["sha256"], r["size"], r["mimetype"])),
    (
        "download-expired",
        "download_media",
        {"media": DOWNLOAD | {"direct_path": "/v/t62.fake/expired.enc"}},
        lambda r: r,
    ),
    (
        "download-tampered",
        "download_media",
        {"media": DOWNLOAD | {"media_key": fake_media("X", "image")["media_key"]}},
        lambda r: r,
    ),
    ("download-bad-path", "download_media", {"media": DOWNLOAD | {"direct_path": "/v/../x"}}, lambda r: r),
]


@pytest.fixture(scope="module")
def neonize_worker(child, tmp_path_factory, redis_server):
    data_dir = tmp_path_factory.mktemp("parity")
    child.call("reset")
    child.call("make_store", path=str(data_dir / "devices" / "worker-1.sqlite3"), devices=[[DEVICE, "wagw", ""]])
    assert child.call("connect", data_dir=str(data_dir), role="worker-1", redis_url=redis_server.url)["connected"]
    key = FAKE_IMAGE["media_key"]
    content = fake_media_bytes(base64.b64decode(key), FAKE_IMAGE["file_length"])
    child.call(
        "serve_media",
        direct_path=FAKE_IMAGE["direct_path"],
        content_b64=base64.b64encode(content).decode(),
        key_b64=key,
    )
    child.call("set_world", media_status={"/v/t62.fake/expired.enc": 410})
    return child


def same(found: dict, view: Callable[[dict], object]) -> dict:
    """What both backends must agree on: the error class and permanence, or the result's view."""
    if "error" in found:
        return {"error": found["error"], "module": found["module"], "permanent": found["permanent"]}
    return {"result": view(found["result"])}


@pytest.mark.parametrize(("op", "kwargs", "view"), [row[1:] for row in JOBS], ids=[row[0] for row in JOBS])
def test_the_same_job_gives_the_same_result(settings, redis_conn, neonize_worker, op, kwargs, view):
    fake = outcome(lambda: run_job(settings, FakeBackend(settings, "worker-1"), op, kwargs))
    real = neonize_worker.call("job", op=op, kwargs=kwargs, fake_names=True)
    assert not real.pop("stub_errors")
    assert same(fake, view) == same(real, view), (fake, real)


def test_the_reach_out_limit_gives_the_same_answer_after_the_same_warm_up(settings, redis_conn, neonize_worker):
    """The fake answers a message to a user part ending in 463 with the neonize backend's exact
    exception and text, after the same warm-up (subscribe to the chat's presence) and one retry."""
    cold = f"{REACH_OUT_USER}@s.whatsapp.net"
    redis_conn.delete("wagw:fake:sent")
    fake = outcome(lambda: run_job(settings, FakeBackend(settings, "worker-1"), "send_text", {"to": cold, "text": "x"}))
    real = neonize_worker.call("job", op="send_text", kwargs={"to": cold, "text": "x"}, fake_names=True)
    assert not real.pop("stub_errors")
    assert fake == real
    assert fake["message"] == f"send_text failed: {ERR_REACH_OUT_LIMITED}"
    recorded = [json.loads(raw) for raw in redis_conn.lrange("wagw:fake:sent", 0, -1)]
    assert [(r["op"], r["args"].get("to") or r["args"].get("jid")) for r in recorded] == [
        ("send_text", cold),
        ("subscribe_presence", cold),
        ("send_text", cold),
    ]
    entries = [c["entry"] for c in neonize_worker.call("calls") if c["entry"] != "GetMe"]
    assert entries[-3:] == ["SendMessage (463)", "SubscribePresence", "SendMessage (463)"]


# Inbound ----------------------------------------------------------------------------------------
INBOUND = [
    (
        "image",
        {
            "type": "message",
            "id": "3EB0DLPAR1",
            "sender": ALICE,
            "timestamp": 1764412200,
            "media": {"kind": "image", "mimetype": "image/jpeg", "caption": "look"},
        },
        {
            "kind": "message",
            "id": "3EB0DLPAR1",
            "sender": ALICE,
            "message": {
                "imageMessage": {
                    "URL": FAKE_IMAGE["url"],
                    "mimetype": "image/jpeg",
                    "caption": "look",
                    "fileSHA256": FAKE_IMAGE["file_sha256"],
                    "fileLength": str(FAKE_IMAGE["file_length"]),
                    "mediaKey": FAKE_IMAGE["media_key"],
                    "fileEncSHA256": FAKE_IMAGE["file_enc_sha256"],
                    "directPath": FAKE_IMAGE["direct_path"],
                }
            },
        },
    ),
    (
        "text",
        {"type": "message", "id": "3EB0T1", "sender": ALICE, "push_name": "Al", "text": "hi", "timestamp": 1764412200},
        {"kind": "message", "id": "3EB0T1", "sender": ALICE, "push_name": "Al", "message": {"conversation": "hi"}},
    ),
    (
        "poll",
        {
            "type": "message",
            "id": "3EB0P1",
            "sender": ALICE,
            "timestamp": 1764412200,
            "poll": {"question": "Lunch?", "options": ["Pizza", "Sushi"], "max_answers": 1},
        },
        {
            "kind": "message",
            "id": "3EB0P1",
            "sender": ALICE,
            "message": {
                "pollCreationMessage": {
                    "name": "Lunch?",
                    "options": [{"optionName": "Pizza"}, {"optionName": "Sushi"}],
                    "selectableOptionsCount": 1,
                }
            },
        },
    ),
    (
        "status-update",
        {"type": "message", "id": "3EB0S1", "chat": "status@broadcast", "sender": ALICE, "text": "my story"},
        {
            "kind": "message",
            "id": "3EB0S1",
            "chat": "status@broadcast",
            "sender": ALICE,
            "message": {"conversation": "x"},
        },
    ),
    (
        "call",
        {
            "type": "call_offer",
            "call_id": "C1",
            "sender": ALICE_LID,
            "sender_alt": ALICE,
            "platform": "android",
            "version": "2.24.1.5",
            "timestamp": 1764412200,
        },
        {"kind": "call_offer", "call_id": "C1", "caller": ALICE_LID, "caller_alt": ALICE},
    ),
    (
        "receipt",
        {
            "type": "receipt",
            "ids": ["3EB0T1"],
            "chat": ALICE,
            "sender": ALICE,
            "receipt_type": "read",
            "timestamp": 1764412200,
        },
        {"kind": "receipt", "type": "read", "ids": ["3EB0T1"], "chat": ALICE, "sender": ALICE},
    ),
]


NEWSLETTER = "120363123456789@newsletter"
VCARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nTEL;type=CELL;waid=15557654321:+1 555 765 4321\nEND:VCARD"


def media_message(id: str, kind: str, field: str, fake_fields: dict, proto_fields: dict) -> tuple:
    """A media message both ways: the fake's, and the proto carrying the fake's media values."""
    made = fake_media(id, kind)
    proto = {
        "URL": made["url"],
        "fileSHA256": made["file_sha256"],
        "fileLength": str(made["file_length"]),
        "mediaKey": made["media_key"],
        "fileEncSHA256": made["file_enc_sha256"],
        "directPath": made["direct_path"],
        **proto_fields,
    }
    fake = {
        "type": "message",
        "id": id,
        "sender": ALICE,
        "timestamp": 1764412200,
        "media": {"kind": kind, **fake_fields},
    }
    return fake, {"kind": "message", "id": id, "sender": ALICE, "message": {field: proto}}


def content_message(id: str, fake_fields: dict, proto: dict) -> tuple:
    fake = {"type": "message", "id": id, "sender": ALICE, "timestamp": 1764412200, **fake_fields}
    return fake, {"kind": "message", "id": id, "sender": ALICE, "message": proto}


VIEW_ONCE = media_message("3EB0VO1", "image", "imageMessage", {"mimetype": "image/jpeg"}, {"mimetype": "image/jpeg"})

# Every message kind and event kind both backends produce (message.deleted and label.* come
# from neither: neonize 0.5.2 never passes them on).
INBOUND += [
    (
        "history-sync",
        {
            "type": "history_sync",
            "chat": ALICE,
            "messages": [
                {"id": "3EB0H1", "text": "old hi", "push_name": "Alice", "timestamp": 1764400000},
                {
                    "id": "3EB0H2",
                    "text": "from the phone",
                    "is_from_me": True,
                    "sender": DEVICE_ID,
                    "timestamp": 1764400100,
                },
            ],
        },
        {
            "kind": "history_sync",
            "conversations": [
                {
                    "ID": ALICE,
                    "messages": [
                        {
                            "message": {
                                "key": {"remoteJID": ALICE, "fromMe": False, "ID": "3EB0H1"},
                                "message": {"conversation": "old hi"},
                                "messageTimestamp": 1764400000,
                                "pushName": "Alice",
                            }
                        },
                        {
                            "message": {
                                "key": {"remoteJID": ALICE, "fromMe": True, "ID": "3EB0H2"},
                                "message": {"conversation": "from the phone"},
                                "messageTimestamp": 1764400100,
                            }
                        },
                    ],
                }
            ],
        },
    ),
]
INBOUND += [
    (
        "reply",
        *content_message(
            "3EB0Q1",
            {"text": "fine", "reply_to": "3EB0Q0", "quoted_text": "how are you?"},
            {
                "extendedTextMessage": {
                    "text": "fine",
                    "contextInfo": {"stanzaID": "3EB0Q0", "quotedMessage": {"conversation": "how are you?"}},
                }
            },
        ),
    ),
    (
        "forwarded",
        *content_message(
            "3EB0F1",
            {"text": "fwd", "forwarded": True},
            {"extendedTextMessage": {"text": "fwd", "contextInfo": {"isForwarded": True}}},
        ),
    ),
    (
        "sticker",
        *media_message("3EB0ST1", "sticker", "stickerMessage", {"mimetype": "image/webp"}, {"mimetype": "image/webp"}),
    ),
    (
        "voice-note",
        *media_message(
            "3EB0AU1",
            "audio",
            "audioMessage",
            {"mimetype": "audio/ogg; codecs=opus", "seconds": 3, "ptt": True},
            {"mimetype": "audio/ogg; codecs=opus", "seconds": 3, "PTT": True},
        ),
    ),
    (
        "document",
        *media_message(
            "3EB0DC1",
            "document",
            "documentMessage",
            {"mimetype": "application/pdf", "filename": "report.pdf", "caption": "Monthly report"},
            {"mimetype": "application/pdf", "fileName": "report.pdf", "caption": "Monthly report"},
        ),
    ),
    (
        "video",
        *media_message(
            "3EB0VI1",
            "video",
            "videoMessage",
            {"mimetype": "video/mp4", "seconds": 5, "caption": "Watch this!"},
            {"mimetype": "video/mp4", "seconds": 5, "caption": "Watch this!"},
        ),
    ),
    (
        "video-note",
        *media_message("3EB0PTV1", "video_note", "ptvMessage", {"mimetype": "video/mp4"}, {"mimetype": "video/mp4"}),
    ),
    (
        "view-once",
        {**VIEW_ONCE[0], "view_once": True},
        {**VIEW_ONCE[1], "message": {"viewOnceMessageV2": {"message": VIEW_ONCE[1]["message"]}}},
    ),
    (
        "ad-referral",
        *content_message(
            "3EB0AD1",
            {
                "text": "Hello! I would like more information.",
                "referral": {
                    "ctwa_clid": "FAKE_CLID_abc123xyz",
                    "source_url": "https://fb.me/fake-ad-link",
                    "source_id": "123456789012345",
                    "source_app": "facebook",
                    "media_type": "IMAGE",
                    "ad_title": "Your Dream Farm",
                    "show_ad_attribution": True,
                    "click_to_whatsapp_call": False,
                    "source_type": "ad",
                    "ad_type": "CTWA",
                },
            },
            {
                "extendedTextMessage": {
                    "text": "Hello! I would like more information.",
                    "contextInfo": {
                        "externalAdReply": {
                            "ctwaClid": "FAKE_CLID_abc123xyz",
                            "sourceURL": "https://fb.me/fake-ad-link",
                            "sourceID": "123456789012345",
                            "sourceApp": "facebook",
                            "mediaType": "IMAGE",
                            "title": "Your Dream Farm",
                            "showAdAttribution": True,
                            "clickToWhatsappCall": False,
                            "sourceType": "ad",
                            "adType": "CTWA",
                            "body": "",
                        }
                    },
                }
            },
        ),
    ),
    (
        "location",
        *content_message(
            "3EB0L1",
            {"location": {"latitude": -6.2088, "longitude": 106.8456, "name": "Jakarta", "address": "Central"}},
            {
                "locationMessage": {
                    "degreesLatitude": -6.2088,
                    "degreesLongitude": 106.8456,
                    "name": "Jakarta",
                    "address": "Central",
                }
            },
        ),
    ),
    (
        "live-location",
        *content_message(
            "3EB0LL1",
            {"live_location": {"latitude": -7.8050297, "longitude": 110.4549165}},
            {"liveLocationMessage": {"degreesLatitude": -7.8050297, "degreesLongitude": 110.4549165}},
        ),
    ),
    (
        "contact",
        *content_message(
            "3EB0C1",
            {"contact": {"name": "Bob", "vcard": VCARD}},
            {"contactMessage": {"displayName": "Bob", "vcard": VCARD}},
        ),
    ),
    (
        "contacts-array",
        *content_message(
            "3EB0CA1",
            {"contacts": [{"name": "Bob", "vcard": VCARD}, {"name": "Bob again", "vcard": VCARD}]},
            {
                "contactsArrayMessage": {
                    "displayName": "2 contacts",
                    "contacts": [{"displayName": "Bob", "vcard": VCARD}, {"displayName": "Bob again", "vcard": VCARD}],
                }
            },
        ),
    ),
    (
        "poll-vote",
        *content_message(
            "3EB0PV1",
            {"poll_vote": {"poll_id": "3EB0P1"}},
            {"pollUpdateMessage": {"pollCreationMessageKey": {"ID": "3EB0P1", "remoteJID": ALICE, "fromMe": True}}},
        ),
    ),
    (
        "reaction",
        {
            "type": "reaction",
            "id": "3EB0R1",
            "sender": ALICE,
            "target_id": "3EB0T1",
            "emoji": "👍",
            "timestamp": 1764412200,
        },
        {
            "kind": "message",
            "id": "3EB0R1",
            "sender": ALICE,
            "message": {"reactionMessage": {"key": {"ID": "3EB0T1", "remoteJID": ALICE, "fromMe": True}, "text": "👍"}},
        },
    ),
    (
        "revoked",
        {"type": "revoked", "id": "3EB0V1", "sender": ALICE, "target_id": "3EB0T1", "timestamp": 1764412200},
        {
            "kind": "message",
            "id": "3EB0V1",
            "sender": ALICE,
            "message": {
                "protocolMessage": {"type": "REVOKE", "key": {"ID": "3EB0T1", "remoteJID": ALICE, "fromMe": False}}
            },
        },
    ),
    (
        "edited",
        {
            "type": "edited",
            "id": "3EB0E1",
            "sender": ALICE,
            "target_id": "3EB0T1",
            "text": "new",
            "timestamp": 1764412200,
        },
        {
            "kind": "message",
            "id": "3EB0E1",
            "sender": ALICE,
            "message": {
                "protocolMessage": {
                    "type": "MESSAGE_EDIT",
                    "key": {"ID": "3EB0T1", "remoteJID": ALICE, "fromMe": False},
                    "editedMessage": {"conversation": "new"},
                }
            },
        },
    ),
    (
        "edited-secret",
        {
            "type": "edited",
            "id": "3EB0E2",
            "sender": ALICE,
            "target_id": "3EB0T1",
            "secret": True,
            "timestamp": 1764412200,
        },
        {
            "kind": "message",
            "id": "3EB0E2",
            "sender": ALICE,
            "message": {
                "secretEncryptedMessage": {
                    "targetMessageKey": {"ID": "3EB0T1", "remoteJID": ALICE, "fromMe": False},
                    "encPayload": "j4+Pj4+Pj4+Pj4+P",
                    "encIV": "AQEBAQEBAQEBAQEB",
                    "secretEncType": "MESSAGE_EDIT",
                }
            },
        },
    ),
    (
        "group-participants",
        {
            "type": "group_participants",
            "chat": GROUP,
            "change": "join",
            "jids": [ALICE],
            "by": BOB,
            "timestamp": 1764412200,
        },
        {"kind": "group_join", "group": GROUP, "members": [ALICE], "by": BOB},
    ),
    (
        "group-joined-invite",
        {"type": "group_joined", "chat": GROUP, "reason": "invite", "group_name": "Team", "version": "v7"},
        {"kind": "joined_group", "group": GROUP, "name": "Team", "reason": "invite", "version": "v7"},
    ),
    (
        "group-joined-added",
        {"type": "group_joined", "chat": GROUP, "version": "v8"},
        {"kind": "joined_group", "group": GROUP, "version": "v8"},
    ),
    (
        "chat-presence",
        {"type": "chat_presence", "chat": GROUP, "sender": ALICE_LID, "sender_alt": ALICE, "state": "composing"},
        {"kind": "chat_presence", "chat": GROUP, "sender": ALICE_LID, "sender_alt": ALICE, "state": "composing"},
    ),
    (
        "recording",
        {"type": "chat_presence", "sender": ALICE, "state": "composing", "media": "audio"},
        {"kind": "chat_presence", "sender": ALICE, "state": "composing", "media": "audio"},
    ),
    (
        "newsletter-joined",
        {"type": "newsletter_joined", "newsletter_id": NEWSLETTER, "name": "Tech News", "description": "Daily"},
        {"kind": "newsletter_join", "newsletter": NEWSLETTER, "name": "Tech News", "description": "Daily"},
    ),
    (
        "newsletter-left",
        {"type": "newsletter_left", "newsletter_id": NEWSLETTER, "role": "admin"},
        {"kind": "newsletter_leave", "newsletter": NEWSLETTER, "role": "admin"},
    ),
    (
        "newsletter-mute",
        {"type": "newsletter_mute", "newsletter_id": NEWSLETTER, "mute": "off"},
        {"kind": "newsletter_mute", "newsletter": NEWSLETTER, "mute": "off"},
    ),
    (
        "newsletter-message",
        {
            "type": "newsletter_message",
            "newsletter_id": NEWSLETTER,
            "messages": [{"server_id": 123, "views_count": 1500, "reaction_counts": {"👍": 50, "❤️": 25}}],
            "timestamp": 1764412200,
        },
        {
            "kind": "newsletter_live_update",
            "newsletter": NEWSLETTER,
            "posts": [{"server_id": 123, "views_count": 1500, "reactions": {"👍": 50, "❤️": 25}}],
        },
    ),
]
# Events WhatsApp gives no time for: each backend stamps its own clock, so the time (and the
# event id, which holds it) differs; everything else must be the same.
CLOCKED = {"chat_presence", "group.joined", "newsletter.joined", "newsletter.left", "newsletter.mute"}


def without_clock(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in ("id", "timestamp")} if body["event"] in CLOCKED else body


@pytest.fixture(scope="module")
def neonize_session(child, tmp_path_factory, redis_server):
    data_dir = tmp_path_factory.mktemp("parity-session")
    child.call("reset")
    child.call("make_store", path=str(data_dir / "devices" / "session.sqlite3"), devices=[[DEVICE, "wagw", ""]])
    assert child.call("connect", data_dir=str(data_dir), role="session", redis_url=redis_server.url, inbound=True)[
        "connected"
    ]
    return child


@pytest.mark.parametrize(("fake", "whatsmeow"), [row[1:] for row in INBOUND], ids=[row[0] for row in INBOUND])
def test_the_same_inbound_event_gives_the_same_json(neonize_session, fake, whatsmeow):
    fake_event = to_event(fake)
    fake_bodies = [json.loads(build_body(fake_event, DEVICE_ID)[1])] if fake_event is not None else []
    real = neonize_session.call("deliver", specs=[{"unix": 1764412200, **whatsmeow}])
    assert not real["stub_errors"] and real["connected"], real
    assert [without_clock(json.loads(body)) for body in real["events"]] == [without_clock(b) for b in fake_bodies]
    for body in fake_bodies:  # (the same as neonize's): only fields the kinds table lists
        assert set(body["payload"]) <= set(KINDS[body["event"]].fields), body


def test_every_event_kind_either_backend_produces_has_a_parity_row():
    """A new event kind without a row here would have no proof that both backends agree."""
    covered = {to_event(fake).event for _, fake, _ in INBOUND if to_event(fake) is not None}
    assert covered == {name for name, kind in KINDS.items() if kind.neonize is not None}


def test_the_fake_refuses_a_group_on_a_call_because_neonize_never_has_one():
    """Finding 4: neonize's BasicCallMeta has no group JID; the fake no longer pretends."""
    with pytest.raises(Malformed, match="neonize does not pass on the group of a call"):
        to_event({"type": "call_offer", "call_id": "C1", "sender": ALICE, "group": GROUP})


@pytest.mark.parametrize("backend", ["fake", "neonize"])
def test_specs_two_fake_conventions_are_whatsmeows_semantics(settings, redis_conn, neonize_worker, backend):
    """SPEC: user part `nopic` has no picture (success, url null); a number ending in 0000 is
    not on WhatsApp. Both backends, the same answer."""
    jobs = [("fetch_avatar", {"jid": "nopic@s.whatsapp.net"}), ("is_on_whatsapp", {"phones": ["+15550000000"]})]
    if backend == "fake":
        avatar, found = (run_job(settings, FakeBackend(settings, "worker-1"), op, kw) for op, kw in jobs)
    else:
        avatar, found = (neonize_worker.call("job", op=op, kwargs=kw, fake_names=True)["result"] for op, kw in jobs)
    assert avatar == {"jid": "nopic@s.whatsapp.net", "url": None, "id": None, "type": "image", "direct_path": None}
    assert found["results"] == [
        {"query": "+15550000000", "jid": None, "lid": None, "is_on_whatsapp": False, "verified_name": None}
    ]
