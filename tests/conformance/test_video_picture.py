"""send_video tells recipients the video's shape and, where the file carries a cover picture,
shows it as the thumbnail: what neonize's send_video learns from the ffmpeg program, which
wagw does not run (wagw.operations.video reads the MP4's boxes)."""

from __future__ import annotations

import base64
import io

from PIL import Image

from tests.conformance.names import ALICE
from tests.conformance.roles import FakeAccount
from tests.conformance.test_outbound import job, sent_messages, worker  # noqa: F401
from tests.videofiles import mp4_video


def cover(size=(320, 180)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "orange").save(out, "jpeg")
    return out.getvalue()


def sent_video(go, data: bytes) -> dict:
    assert "result" in job(go, "send_video", to=ALICE, video=base64.b64encode(data).decode(), caption="clip")
    [(_, message)] = sent_messages(go)
    return message["videoMessage"]


def test_a_video_with_a_cover_has_its_size_and_a_thumbnail(worker):  # noqa: F811
    sent = sent_video(worker, mp4_video(12, 1280, 720, cover=cover()))
    assert (sent["width"], sent["height"], sent["seconds"], sent["caption"]) == (1280, 720, 12, "clip")
    with Image.open(io.BytesIO(base64.b64decode(sent["JPEGThumbnail"]))) as thumbnail:
        assert thumbnail.format == "JPEG" and thumbnail.size == (200, 113)


def test_a_portrait_phone_video_is_taller_than_wide_and_without_a_cover_has_no_thumbnail(worker):  # noqa: F811
    sent = sent_video(worker, mp4_video(4, 1920, 1080, turned=True))
    assert (sent["width"], sent["height"]) == (1080, 1920)
    assert "JPEGThumbnail" not in sent


def test_a_cover_that_does_not_decode_only_costs_the_thumbnail(worker):  # noqa: F811
    sent = sent_video(worker, mp4_video(4, 640, 360, cover=b"\xff\xd8\xff\xe0 not really"))
    assert (sent["width"], sent["height"]) == (640, 360) and "JPEGThumbnail" not in sent


def test_the_fake_takes_the_same_video(settings, redis_conn, worker):  # noqa: F811
    data = base64.b64encode(mp4_video(12, 1280, 720, cover=cover())).decode()
    real = job(worker, "send_video", to=ALICE, video=data)
    fake = FakeAccount(settings, redis_conn).job("send_video", to=ALICE, video=data)
    assert sorted(fake["result"]) == sorted(real["result"])
