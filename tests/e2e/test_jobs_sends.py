"""The send jobs of docs/jobs.md under `wagw run` (fake backend), enqueued as other apps do:
plain rq, by function path, JSON serializer, no wagw import in the enqueue. Each job's JSON
result and its record on `wagw:fake:sent` are checked. One daemon for the module."""

from __future__ import annotations

import json

import pytest
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from chaos.polling import wait_for
from tests.e2e.conftest import one_daemon

pytestmark = pytest.mark.e2e
ALICE = "15551234567@s.whatsapp.net"


@pytest.fixture(scope="module")
def daemon():
    yield from one_daemon("wagw-e2e-sends-", media_dir=True)


def run(daemon, path: str, **kwargs) -> Job:
    job = Queue("wa", connection=daemon.redis, serializer=JSONSerializer).enqueue(path, **kwargs)
    wait_for(lambda: job.get_status(refresh=True) in ("finished", "failed"), 30, 0.1, f"{path} to end")
    return job


def sent(daemon, op: str) -> list[dict]:
    records = [json.loads(raw) for raw in daemon.redis.lrange("wagw:fake:sent", 0, -1)]
    return [r["args"] for r in records if r["op"] == op]


def check_sent(job: Job) -> dict:
    assert job.get_status() == "finished", job.latest_result().exc_string if job.latest_result() else job
    result = job.return_value()
    assert set(result) == {"id", "timestamp", "to"} and result["to"] == ALICE, result
    assert result["id"].startswith("3EB0") and result["timestamp"].endswith("Z")
    return result


def check_invalid(daemon, path: str, text: str, **kwargs) -> None:
    """Bad arguments fail at once, never retried, and never reach the backend."""
    op = path.rsplit(".", 1)[1]
    before = len(sent(daemon, op))
    job = run(daemon, path, **kwargs)
    assert job.get_status() == "failed"
    failure = job.latest_result().exc_string
    assert "InvalidArguments" in failure and text in failure, failure
    assert len(job.results()) == 1  # one attempt
    assert len(sent(daemon, op)) == before


def test_send_location(daemon):
    job = run(
        daemon,
        "workers.wa.send_location",
        to="+1 555 123 4567",
        latitude=52.52,
        longitude=13.405,
        name="Office",
        address="Main St 1",
    )
    check_sent(job)
    assert sent(daemon, "send_location")[-1] == {
        "to": ALICE,
        "latitude": 52.52,
        "longitude": 13.405,
        "name": "Office",
        "address": "Main St 1",
    }
    check_invalid(
        daemon,
        "workers.wa.send_location",
        "latitude: Input should be less than or equal to 90",
        to=ALICE,
        latitude=95,
        longitude=0,
    )


def test_send_contact(daemon):
    check_sent(run(daemon, "workers.wa.send_contact", to=ALICE, name="Bob", phone="+1 555 765 4321"))
    card = sent(daemon, "send_contact")[-1]
    assert {k: v for k, v in card.items() if k != "vcard"} == {"to": ALICE, "name": "Bob", "phone": "15557654321"}
    assert "FN:Bob" in card["vcard"] and "waid=15557654321" in card["vcard"]
    check_invalid(
        daemon,
        "workers.wa.send_contact",
        "name must not contain line breaks",
        to=ALICE,
        name="B\nob",
        phone="+15557654321",
    )


def test_send_link(daemon):
    job = run(daemon, "workers.wa.send_link", to=ALICE, url="http://169.254.169.254/latest", caption="see")
    check_sent(job)  # message text only: wagw fetches nothing, so any address is just text
    assert sent(daemon, "send_link")[-1] == {"to": ALICE, "url": "http://169.254.169.254/latest", "caption": "see"}
    check_invalid(daemon, "workers.wa.send_link", "is not an http(s) URL", to=ALICE, url="file:///etc/passwd")


def test_send_poll(daemon):
    check_sent(run(daemon, "workers.wa.send_poll", to=ALICE, question="Lunch?", options=["Pizza", "Sushi"]))
    assert sent(daemon, "send_poll")[-1] == {
        "to": ALICE,
        "question": "Lunch?",
        "options": ["Pizza", "Sushi"],
        "max_answers": 1,
    }
    check_invalid(daemon, "workers.wa.send_poll", "options must be unique", to=ALICE, question="Q?", options=["a", "a"])


def png_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, "png")
    return buffer.getvalue()


def test_send_image_view_once(daemon):
    import base64
    import hashlib

    data = png_bytes()
    job = run(daemon, "workers.wa.send_image", to=ALICE, image=base64.b64encode(data).decode(), view_once=True)
    check_sent(job)
    record = sent(daemon, "send_image")[-1]
    assert record["view_once"] is True and record["mimetype"] == "image/png"
    assert record["image"] == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_send_file_by_base64_and_media_folder_path(daemon):
    import base64
    import hashlib
    from pathlib import Path

    described = {"bytes": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest()}
    job = run(daemon, "workers.wa.send_file", to=ALICE, file=base64.b64encode(PDF).decode(), filename="r.pdf")
    check_sent(job)
    assert sent(daemon, "send_file")[-1] == {
        "to": ALICE,
        "file": described,
        "filename": "r.pdf",
        "caption": None,
        "mimetype": "application/pdf",
    }
    media_dir = Path(daemon.env["WAGW_MEDIA_DIR"])
    (media_dir / "notes.csv").write_bytes(b"a,b\n1,2\n")
    job = run(daemon, "workers.wa.send_file", to=ALICE, file="file://notes.csv", mimetype="text/csv", caption="c")
    check_sent(job)
    record = sent(daemon, "send_file")[-1]
    assert (record["mimetype"], record["caption"], record["file"]["bytes"]) == ("text/csv", "c", 8)
    check_invalid(daemon, "workers.wa.send_file", "not a file in the media folder", to=ALICE, file="file:///etc/passwd")


def test_send_sticker_from_the_media_folder(daemon):
    from pathlib import Path

    (Path(daemon.env["WAGW_MEDIA_DIR"]) / "s.png").write_bytes(png_bytes((900, 900)))
    check_sent(run(daemon, "workers.wa.send_sticker", to=ALICE, sticker="file://s.png"))
    record = sent(daemon, "send_sticker")[-1]
    assert record["mimetype"] == "image/png" and record["sticker"]["bytes"] > 0
    check_invalid(daemon, "workers.wa.send_sticker", "not a file in the media folder", to=ALICE, sticker="file://x.png")


def test_send_audio_voice_note(daemon):
    import base64

    from tests.audiofiles import ogg_opus

    voice = ogg_opus(4)
    check_sent(run(daemon, "workers.wa.send_audio", to=ALICE, audio=base64.b64encode(voice).decode(), ptt=True))
    record = sent(daemon, "send_audio")[-1]
    assert (record["mimetype"], record["ptt"], record["audio"]["bytes"]) == ("audio/ogg; codecs=opus", True, len(voice))
    check_invalid(
        daemon,
        "workers.wa.send_audio",
        "a voice note (ptt) must be Ogg Opus audio",
        to=ALICE,
        audio=base64.b64encode(b"ID3\x04" + bytes(100)).decode(),
        ptt=True,
    )


def test_send_video(daemon):
    import base64

    from tests.audiofiles import mp4

    video = mp4(9)
    job = run(daemon, "workers.wa.send_video", to=ALICE, video=base64.b64encode(video).decode(), caption="clip")
    check_sent(job)
    record = sent(daemon, "send_video")[-1]
    assert (record["mimetype"], record["caption"], record["view_once"]) == ("video/mp4", "clip", False)
    assert record["video"]["bytes"] == len(video)
    check_invalid(daemon, "workers.wa.send_video", "not an MP4 video", to=ALICE, video=base64.b64encode(PDF).decode())


def test_a_go_panic_in_a_new_send_fails_outcome_unknown_and_the_next_job_works(daemon):
    """A real Go panic (the fake's `crash` target) kills the native host after the hand-over:
    the send is not repeated (it may have reached WhatsApp), and the respawned host serves on."""
    crash = "crash@s.whatsapp.net"
    job = run(daemon, "workers.wa.send_location", to=crash, latitude=1.0, longitude=2.0)
    assert job.get_status() == "failed"
    failure = job.latest_result().exc_string
    assert "outcome unknown" in failure, failure
    assert len(job.results()) == 1  # not retried into a second message
    check_sent(run(daemon, "workers.wa.send_contact", to=ALICE, name="After", phone="+15557654321"))
