"""What wagw reads of an MP4's picture without ffmpeg (wagw.operations.video): the shown size
of its video track and its cover picture."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.audiofiles import mp4
from tests.videofiles import mp4_video
from wagw.operations import audio, video


def jpeg(size=(320, 180), colour="red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "jpeg")
    return out.getvalue()


@pytest.mark.parametrize("version", [0, 1])
def test_the_video_tracks_size(version):
    found = video.picture(mp4_video(5, 1280, 720, version=version))
    assert (found.width, found.height, found.cover) == (1280, 720, None)


def test_a_portrait_video_recorded_turned_is_shown_taller_than_wide():
    found = video.picture(mp4_video(5, 1920, 1080, turned=True))
    assert (found.width, found.height) == (1080, 1920)


def test_the_cover_picture():
    cover = jpeg()
    found = video.picture(mp4_video(5, 640, 360, cover=cover))
    assert found.cover == cover
    assert audio.duration(mp4_video(5, 640, 360, cover=cover), "video/mp4") == 5


@pytest.mark.parametrize(
    "data",
    [mp4(3), b"", b"\x00\x00\x00\x08ftyp", b"\xff" * 64, mp4_video(5, 640, 360)[:-20]],
    ids=["no-tracks", "empty", "only-ftyp", "garbage", "truncated"],
)
def test_nothing_said_is_nothing_read(data):
    found = video.picture(data)
    assert found.cover is None
    assert found.width is None or (found.width, found.height) == (640, 360)
