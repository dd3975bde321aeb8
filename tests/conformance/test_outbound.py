"""Every operation of wagw/operations as a job, through neonize's own wrappers and the ctypes
boundary, answered as goneonize/whatsmeow answer (whatsmeow.World): results and errors."""

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
    ERR_FUNCTION_RETURNED_NOTHING,
    ERR_PROFILE_PICTURE_NOT_SET,
    ERR_REACH_OUT_LIMITED,
    GROUP,
    LEGACY_GROUP,
    REACH_OUT_USER,
)

NO_PICTURE = "15550009999@s.whatsapp.net"  # not in World.pictures: whatsmeow's 404
HIDDEN = "15550008888@s.whatsapp.net"  # whatsmeow's 401: hidden from us
SLOW = "15550007777@s.whatsapp.net"  # the query times out


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


def png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), "teal").save(buffer, "png")
    return base64.b64encode(buffer.getvalue()).decode()


# fetch_avatar ---------------------------------------------------------------------------------
def test_fetch_avatar_returns_the_picture(worker):
    result = job(worker, "fetch_avatar", jid="+1 555 123 4567")["result"]
    assert result["url"].startswith("https://pps.whatsapp.net/") and result["id"] == "4184652986"
    assert job(worker, "fetch_avatar", jid=ALICE, preview=True)["result"]["type"] == "preview"


@pytest.mark.parametrize("target", [NO_PICTURE, HIDDEN], ids=["not-set", "hidden"])
def test_fetch_avatar_without_a_picture_succeeds_with_url_null(worker, target):
    """Finding 1: whatsmeow's "that user or group does not have a profile picture" (and the
    hidden-picture error) is success with url null, not a failure retried three times."""
    assert job(worker, "fetch_avatar", jid=target) == {
        "result": {"jid": target, "url": None, "id": None, "type": "image", "direct_path": None}
    }, f"whatsmeow said: {ERR_PROFILE_PICTURE_NOT_SET!r}"


def test_fetch_avatar_other_errors_fail_with_whatsmeows_text(worker):
    failed = job(worker, "fetch_avatar", jid=SLOW)
    assert failed["error"] == "BackendError" and failed["module"] == "wagw.backends.base"
    assert failed["message"] == "fetch_avatar failed: info query timed out"  # not protobuf text format
    assert not failed["permanent"]  # retried per the job's Retry


# is_on_whatsapp -------------------------------------------------------------------------------
def test_is_on_whatsapp_queries_with_the_plus_and_reports_the_lid(worker):
    """Finding 3: whatsmeow needs "+<digits>" (without it the number is read as a national
    one), and WhatsApp answers a registered number with its LID."""
    result = job(worker, "is_on_whatsapp", phones=["+1 555 123 4567", BOB])["result"]
    assert [c["phones"] for c in worker.call("calls", entry="IsOnWhatsApp")] == [["+15551234567", "+15557654321"]]
    assert result == {
        "results": [
            {"query": "+15551234567", "jid": ALICE, "lid": ALICE_LID, "is_on_whatsapp": True, "verified_name": None},
            {"query": "+15557654321", "jid": BOB, "lid": None, "is_on_whatsapp": True, "verified_name": None},
        ]
    }


def test_a_number_not_on_whatsapp(worker):
    result = job(worker, "is_on_whatsapp", phones=["+15550000000"])["result"]["results"]
    assert result == [
        {"query": "+15550000000", "jid": None, "lid": None, "is_on_whatsapp": False, "verified_name": None}
    ]


def test_an_invalid_number_is_not_on_whatsapp_not_a_backend_error(worker):
    """Finding 3: a lone invalid number makes goneonize answer "Function returned nothing."."""
    alone = job(worker, "is_on_whatsapp", phones=["+1234567"])
    assert alone == {
        "result": {
            "results": [{"query": "+1234567", "jid": None, "lid": None, "is_on_whatsapp": False, "verified_name": None}]
        }
    }, f"goneonize said: {ERR_FUNCTION_RETURNED_NOTHING!r}"
    mixed = job(worker, "is_on_whatsapp", phones=["+1234567", "+15551234567"])["result"]["results"]
    assert [(r["query"], r["is_on_whatsapp"]) for r in mixed] == [("+1234567", False), ("+15551234567", True)]


# send_text ------------------------------------------------------------------------------------
def sent_messages(go) -> list[dict]:
    return [(call["to"], call["message"]) for call in go.call("calls", entry="SendMessage")]


def test_send_text(worker):
    result = job(worker, "send_text", to="+15551234567", text="hello")["result"]
    assert result["to"] == ALICE and result["id"].startswith("3EB0") and result["timestamp"].endswith("Z")
    [(to, message)] = sent_messages(worker)
    assert to == ALICE and "hello" in str(message)


def test_a_reply_in_a_direct_chat_quotes_the_other_person(worker):
    job(worker, "send_text", to=ALICE, text="yes", reply_to="3EB0AAAA")
    [(to, message)] = sent_messages(worker)
    context = message["extendedTextMessage"]["contextInfo"]
    assert (to, context["stanzaID"], context["participant"]) == (ALICE, "3EB0AAAA", ALICE)


def test_a_reply_in_a_group_quotes_the_sender_of_the_quoted_message(worker):
    """Finding 6: the participant is the quoted message's sender, never the group."""
    job(worker, "send_text", to=GROUP, text="agreed", reply_to="3EB0BBBB", reply_to_sender="+1 555 123 4567")
    [(to, message)] = sent_messages(worker)
    context = message["extendedTextMessage"]["contextInfo"]
    assert (to, context["stanzaID"], context["participant"]) == (GROUP, "3EB0BBBB", ALICE)


def test_a_reply_in_a_group_without_the_sender_fails_at_once(worker):
    failed = job(worker, "send_text", to=GROUP, text="agreed", reply_to="3EB0BBBB")
    assert failed["error"] == "InvalidArguments" and failed["permanent"], failed
    assert "reply_to_sender (who sent the quoted message) is required" in failed["message"]
    assert sent_messages(worker) == []


# send_image -----------------------------------------------------------------------------------
def test_send_image_runs_neonizes_thumbnail_upload_and_send(worker):
    result = job(worker, "send_image", to=ALICE, image=png(), caption="look")["result"]
    assert result["to"] == ALICE
    assert [c["entry"] for c in worker.call("calls")][-2:] == ["Upload", "SendMessage"]
    [(_, message)] = sent_messages(worker)
    image = message["imageMessage"]
    assert image["mimetype"] == "image/png" and image["caption"] == "look" and image["JPEGThumbnail"]
    assert image["viewOnce"] is False


def test_send_image_view_once(worker):
    job(worker, "send_image", to=ALICE, image=png(), view_once=True)
    [(_, message)] = sent_messages(worker)
    assert message["imageMessage"]["viewOnce"] is True


CORRUPT = {
    "jpeg": b"\xff\xd8\xff\xe0" + b"\x00garbage" * 64,
    "png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 200,
    "truncated-jpeg": None,  # a real JPEG cut in half
}


@pytest.mark.parametrize("kind", list(CORRUPT))
def test_a_corrupt_image_fails_at_once_as_invalid_arguments(worker, kind):
    """Finding 7: bytes that pass the magic-bytes check but do not decode made Pillow raise
    OSError in the host, which was retried as if transient."""
    data = CORRUPT[kind]
    if data is None:
        buffer = io.BytesIO()
        Image.new("RGB", (300, 300), "red").save(buffer, "jpeg")
        data = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    image = base64.b64encode(data).decode()
    failed = job(worker, "send_image", to=ALICE, image=image)
    assert failed["error"] == "InvalidArguments" and failed["permanent"], failed
    assert "the image does not decode" in failed["message"]
    # The native host's own guard, for a call that reaches it: the same, never retried.
    host = worker.call("host_call", op="send_image", params={"to": ALICE, "image_b64": image, "mimetype": "image/jpeg"})
    assert host["error"] == "InvalidArguments" and host["permanent"], host
    assert [c["entry"] for c in worker.call("calls")] == ["Neonize"]  # nothing uploaded or sent


# send_file ------------------------------------------------------------------------------------
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_send_file_uploads_a_document_and_sends_it(worker):
    file = base64.b64encode(PDF).decode()
    result = job(worker, "send_file", to=ALICE, file=file, filename="report.pdf", caption="Q3", mimetype="text/plain")
    assert result["result"]["to"] == ALICE
    [upload] = worker.call("calls", entry="Upload")
    assert upload["size"] == len(PDF) and upload["media_type"] == 3  # neonize MediaType.MediaDocument
    [(_, message)] = sent_messages(worker)
    document = message["documentMessage"]
    assert (document["mimetype"], document["fileName"], document["title"], document["caption"]) == (
        "application/pdf",  # from the bytes, not the caller's text/plain
        "report.pdf",
        "report.pdf",
        "Q3",
    )
    assert int(document["fileLength"]) == len(PDF) and document["directPath"] == "/o1/v/t62.7118-24/f1/m1"


def test_send_file_outside_the_media_folder_never_reaches_go(worker):
    failed = job(worker, "send_file", to=ALICE, file="file:///etc/passwd")
    assert failed["error"] == "InvalidArguments" and failed["permanent"], failed
    assert failed["message"] == "invalid arguments for send_file: file: not a file in the media folder (WAGW_MEDIA_DIR)"
    assert worker.call("calls", entry="Upload") == []


# send_sticker ---------------------------------------------------------------------------------
def test_send_sticker_runs_neonizes_webp_conversion_upload_and_send(worker):
    result = job(worker, "send_sticker", to=ALICE, sticker=png())["result"]
    assert result["to"] == ALICE
    assert [c["entry"] for c in worker.call("calls")][-2:] == ["Upload", "SendMessage"]
    [(_, message)] = sent_messages(worker)
    sticker = message["stickerMessage"]
    assert sticker["mimetype"] == "image/webp" and sticker["isAnimated"] is False


def test_a_corrupt_sticker_reaching_the_host_fails_at_once(worker):
    bad = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
    host = worker.call(
        "host_call", op="send_sticker", params={"to": ALICE, "sticker_b64": bad, "mimetype": "image/png"}
    )
    assert host["error"] == "InvalidArguments" and host["permanent"], host
    assert worker.call("calls", entry="Upload") == []


# send_video -----------------------------------------------------------------------------------
def test_send_video_uploads_video_and_sends_the_duration_without_ffmpeg(worker):
    from tests.audiofiles import mp4

    video = mp4(12)
    job(worker, "send_video", to=ALICE, video=base64.b64encode(video).decode(), caption="clip", view_once=True)
    [upload] = worker.call("calls", entry="Upload")
    assert upload["size"] == len(video) and upload["media_type"] == 1  # neonize MediaType.MediaVideo
    [(_, message)] = sent_messages(worker)
    sent = message["videoMessage"]
    assert (sent["mimetype"], sent["seconds"], sent["caption"], sent["viewOnce"]) == ("video/mp4", 12, "clip", True)


def test_send_video_refuses_what_is_not_mp4(worker):
    failed = job(worker, "send_video", to=ALICE, video=base64.b64encode(b"\x1aE\xdf\xa3webm").decode())
    assert failed["error"] == "InvalidArguments" and "not an MP4 video" in failed["message"]
    assert worker.call("calls", entry="Upload") == []


# send_audio -----------------------------------------------------------------------------------
def test_send_audio_as_a_voice_note_uploads_audio_and_sends_the_duration(worker):
    from tests.audiofiles import ogg_opus

    voice = ogg_opus(7.4)
    result = job(worker, "send_audio", to=ALICE, audio=base64.b64encode(voice).decode(), ptt=True)["result"]
    assert result["to"] == ALICE
    [upload] = worker.call("calls", entry="Upload")
    assert upload["size"] == len(voice) and upload["media_type"] == 2  # neonize MediaType.MediaAudio
    [(_, message)] = sent_messages(worker)
    audio = message["audioMessage"]
    assert (audio["mimetype"], audio["PTT"], audio["seconds"]) == ("audio/ogg; codecs=opus", True, 7)
    assert int(audio["fileLength"]) == len(voice) and audio["mediaKey"]


def test_send_audio_mp3_goes_without_a_duration(worker):
    from tests.audiofiles import MP3

    job(worker, "send_audio", to=ALICE, audio=base64.b64encode(MP3).decode())
    [(_, message)] = sent_messages(worker)
    assert message["audioMessage"]["mimetype"] == "audio/mpeg" and "seconds" not in message["audioMessage"]


# send_location --------------------------------------------------------------------------------
def test_send_location_sends_whatsmeows_location_message(worker):
    """neonize 0.5.2 has no send_location: wagw's LocationMessage through its send_message."""
    result = job(worker, "send_location", to="+1 555 123 4567", latitude=52.52, longitude=13, name="Office")["result"]
    assert result["to"] == ALICE and result["id"].startswith("3EB0") and result["timestamp"].endswith("Z")
    [(to, message)] = sent_messages(worker)
    assert to == ALICE
    assert message == {"locationMessage": {"degreesLatitude": 52.52, "degreesLongitude": 13.0, "name": "Office"}}


def test_send_location_out_of_range_never_reaches_whatsapp(worker):
    failed = job(worker, "send_location", to=ALICE, latitude=-90.01, longitude=0)
    assert failed["error"] == "InvalidArguments" and failed["permanent"], failed
    assert "latitude: Input should be greater than or equal to -90" in failed["message"]
    assert sent_messages(worker) == []


# send_contact ---------------------------------------------------------------------------------
def test_send_contact_sends_a_vcard_with_the_number_as_waid(worker):
    result = job(worker, "send_contact", to=ALICE, name="Bob", phone="+44 7911 123456")["result"]
    assert result["to"] == ALICE and result["id"].startswith("3EB0")
    [(to, message)] = sent_messages(worker)
    contact = message["contactMessage"]
    assert to == ALICE and contact["displayName"] == "Bob"
    assert contact["vcard"] == (
        "BEGIN:VCARD\nVERSION:3.0\nN:;Bob;;;\nFN:Bob\n"
        "TEL;type=CELL;type=VOICE;waid=447911123456:+44 7911 123456\nEND:VCARD"
    )


def test_send_contact_refuses_a_name_that_would_add_vcard_fields(worker):
    failed = job(worker, "send_contact", to=ALICE, name="Bob\nTEL;waid=1999:+1999", phone="+447911123456")
    assert failed["error"] == "InvalidArguments" and failed["permanent"], failed
    assert sent_messages(worker) == []


# send_link ------------------------------------------------------------------------------------
def test_send_link_is_text_with_the_link_marked_and_fetches_nothing(worker):
    result = job(worker, "send_link", to=ALICE, url="https://example.com/a?b=1", caption="Read this")["result"]
    assert result["to"] == ALICE and result["id"].startswith("3EB0")
    [(_, message)] = sent_messages(worker)
    assert message == {
        "extendedTextMessage": {
            "text": "Read this\nhttps://example.com/a?b=1",
            "matchedText": "https://example.com/a?b=1",
        }
    }
    assert [c["entry"] for c in worker.call("calls")][-1] == "SendMessage"  # no upload of a thumbnail


# send_poll ------------------------------------------------------------------------------------
def test_send_poll_builds_with_whatsmeow_and_sends(worker):
    result = job(worker, "send_poll", to=GROUP, question="Lunch?", options=["Pizza", "Sushi", "Tacos"], max_answers=2)
    assert result["result"]["to"] == GROUP
    [build] = worker.call("calls", entry="BuildPollVoteCreation")
    assert (build["name"], build["options"], build["selectable"]) == ("Lunch?", ["Pizza", "Sushi", "Tacos"], 2)
    [(to, message)] = sent_messages(worker)
    poll = message["pollCreationMessage"]
    assert to == GROUP and poll["name"] == "Lunch?" and poll["selectableOptionsCount"] == 2
    assert [o["optionName"] for o in poll["options"]] == ["Pizza", "Sushi", "Tacos"]
    assert len(base64.b64decode(message["messageContextInfo"]["messageSecret"])) == 32  # votes need it


def test_send_poll_with_duplicate_options_never_reaches_go(worker):
    failed = job(worker, "send_poll", to=ALICE, question="Lunch?", options=["Pizza", "Pizza"])
    assert failed["error"] == "InvalidArguments" and failed["permanent"], failed
    assert worker.call("calls", entry="BuildPollVoteCreation") == [] and sent_messages(worker) == []


# user_info / groups / mark_read ----------------------------------------------------------------
def test_user_info(worker):
    [user] = job(worker, "user_info", jids=[ALICE])["result"]["users"]
    assert user == {
        "jid": ALICE,
        "status": "Hey there! I am using WhatsApp.",
        "picture_id": "4184652986",
        "verified_name": None,
        "devices": ["15551234567@s.whatsapp.net", "15551234567:3@s.whatsapp.net"],
    }


def test_group_info_has_the_exact_creation_time(worker):
    """Finding 8: GroupCreated arrives as a float32 (1700000100 -> 1700000128.0)."""
    group = job(worker, "group_info", jid=GROUP)["result"]
    assert group["created"] == "2023-11-14T22:15:00Z"  # not 22:15:28Z
    assert group["name"] == "Team" and group["owner"] == "15550001111@s.whatsapp.net"
    assert {k: group["participants"][1][k] for k in ("jid", "lid", "is_admin")} == {
        "jid": ALICE,
        "lid": ALICE_LID,
        "is_admin": False,
    }
    # A legacy "<creator>-<time>" group JID carries the exact time even if the name changed later.
    assert job(worker, "group_info", jid=LEGACY_GROUP)["result"]["created"] == "2023-11-14T22:15:00Z"


def test_group_info_of_an_unknown_group_fails_with_whatsmeows_text(worker):
    failed = job(worker, "group_info", jid="120363000000000404@g.us")
    assert failed["error"] == "BackendError" and failed["message"] == "group_info failed: that group does not exist"


def test_joined_groups(worker):
    groups = job(worker, "joined_groups")["result"]["groups"]
    assert sorted(g["jid"] for g in groups) == sorted([GROUP, LEGACY_GROUP])


def test_mark_read(worker):
    result = job(worker, "mark_read", chat=GROUP, ids=["3EB0A", "3EB0B"], sender=ALICE)["result"]
    assert result == {"chat": GROUP, "ids": ["3EB0A", "3EB0B"], "sender": ALICE, "receipt_type": "read"}
    [call] = worker.call("calls", entry="MarkRead")
    assert (call["ids"], call["chat"], call["sender"], call["receipt_type"]) == (
        ["3EB0A", "3EB0B"],
        GROUP,
        ALICE,
        "read",
    )


# WhatsApp's reach-out limit ---------------------------------------------------------------------
def test_whatsapps_reach_out_limit_is_reach_out_limited_after_a_warm_up_and_one_retry(worker):
    """whatsmeow's send.go answers WhatsApp's 463 with "server returned error 463" (no end
    time): the host subscribes to the chat's presence (whatsmeow's SubscribePresence, which
    first fetches the chat's privacy token) and sends once more; the second 463 fails the call
    with ReachOutLimited, never retried by RQ (the wa-worker then holds the account)."""
    cold = f"{REACH_OUT_USER}@s.whatsapp.net"
    failed = job(worker, "send_text", to="+" + REACH_OUT_USER, text="hello")
    assert failed == {
        "error": "ReachOutLimited",
        "module": "workers.wa",
        "message": f"send_text failed: {ERR_REACH_OUT_LIMITED}",
        "permanent": True,
        "exit_code": 1,
    }
    sequence = [(c["entry"], c.get("to") or c.get("jid")) for c in worker.call("calls") if c["entry"] != "GetMe"]
    assert sequence[-3:] == [("SendMessage (463)", cold), ("SubscribePresence", cold), ("SendMessage (463)", cold)]


def test_a_reach_out_limit_into_a_group_is_not_retried(worker):
    """Only a person's chat gets the warm-up and retry (a group has no reach-out limit; if
    WhatsApp answered 463 there, a second try would only meet it again)."""
    worker.call("set_world", reach_out_limited=[REACH_OUT_USER, GROUP.partition("@")[0]])
    failed = job(worker, "send_text", to=GROUP, text="hello")
    assert failed["error"] == "ReachOutLimited" and failed["permanent"]
    assert [c["entry"] for c in worker.call("calls") if c["entry"] != "GetMe"][-1:] == ["SendMessage (463)"]
    assert worker.call("calls", entry="SubscribePresence") == []
