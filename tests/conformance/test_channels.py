"""Sends to a channel (…@newsletter) that neonize cannot make are refused at validation.

whatsmeow sends media to a channel only with the handle its newsletter upload returns
(send.go: SendRequestExtra.MediaHandle), and goneonize's SendMessage never passes one
(main.go: SendMessage); a post's reactions need NewsletterSendReaction with the post's server
id (send.go: BuildReaction's doc), not the BuildReaction and SendMessage wagw's react makes.
Such a job used to upload with the encrypted media upload and send a message no channel can
show; now it fails at once, before anything reaches WhatsApp, on both backends."""

from __future__ import annotations

import base64

import pytest

from tests.audiofiles import mp4, ogg_opus
from tests.conformance.roles import FakeAccount
from tests.conformance.test_outbound import PDF, job, png, worker  # noqa: F401

CHANNEL = "120363123456789012@newsletter"
MEDIA = [
    ("send_image", {"image": "PNG"}),
    ("send_file", {"file": base64.b64encode(PDF).decode(), "filename": "a.pdf"}),
    ("send_sticker", {"sticker": "PNG"}),
    ("send_video", {"video": base64.b64encode(mp4(3)).decode()}),
    ("send_audio", {"audio": base64.b64encode(ogg_opus(2)).decode(), "ptt": True}),
]


def arguments(kwargs: dict) -> dict:
    return {key: png() if value == "PNG" else value for key, value in kwargs.items()}


@pytest.mark.parametrize(("op", "kwargs"), MEDIA, ids=[op for op, _ in MEDIA])
def test_media_to_a_channel_fails_at_once(worker, settings, redis_conn, op, kwargs):  # noqa: F811
    failed = job(worker, op, to=CHANNEL, **arguments(kwargs))
    assert failed["error"] == "InvalidArguments" and failed["permanent"], failed
    assert failed["message"] == (
        f"invalid arguments for {op}: to: a channel (…@newsletter) takes text, location, contact, link "
        "and poll messages only: neonize cannot send media to one"
    )
    assert [c["entry"] for c in worker.call("calls")] == ["Neonize"]  # nothing uploaded or sent
    fake = FakeAccount(settings, redis_conn).job(op, to=CHANNEL, **arguments(kwargs))
    assert (fake["error"], fake["permanent"], fake["message"]) == ("InvalidArguments", True, failed["message"])
    assert FakeAccount(settings, redis_conn).sent(op) == []


def test_a_reaction_in_a_channel_fails_at_once(worker, settings, redis_conn):  # noqa: F811
    kwargs = {"chat": CHANNEL, "message_id": "3EB0AA", "emoji": "👍"}
    failed = job(worker, "react", **kwargs)
    assert failed["error"] == "InvalidArguments" and failed["permanent"], failed
    assert "reacting to a channel's post (…@newsletter) is not available" in failed["message"]
    assert worker.call("calls", entry="BuildReaction") == [] and worker.call("calls", entry="SendMessage") == []
    fake = FakeAccount(settings, redis_conn).job("react", **kwargs)
    assert (fake["error"], fake["message"]) == ("InvalidArguments", failed["message"])


@pytest.mark.parametrize(
    ("op", "kwargs"),
    [
        ("send_text", {"text": "news"}),
        ("send_location", {"latitude": 1.5, "longitude": 2}),
        ("send_link", {"url": "https://example.com/"}),
        ("send_poll", {"question": "Q?", "options": ["a", "b"]}),
    ],
)
def test_what_a_channel_takes_is_still_sent(worker, op, kwargs):  # noqa: F811
    assert job(worker, op, to=CHANNEL, **kwargs)["result"]["to"] == CHANNEL
    assert [call["to"] for call in worker.call("calls", entry="SendMessage")] == [CHANNEL]
