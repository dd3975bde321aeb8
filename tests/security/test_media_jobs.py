"""The attack cases of test_media_sources for every job with a media argument (send_file …):
the same media-folder and public-address rules, the same uniform messages, and a mimetype
that comes from the bytes, not from the caller."""

from __future__ import annotations

import base64

import pytest

from tests.audiofiles import mp4, ogg_opus
from wagw.config import Settings
from wagw.operations import OPERATIONS
from wagw.operations.args import InvalidArguments
from workers.wa import media

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
# Jobs with a media argument other than send_image (tests/security/test_media_sources.py).
JOBS = sorted(name for name, op in OPERATIONS.items() if op.media and name != "send_image")


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (40, 20), (255, 0, 0, 128)).save(buffer, "png")
    return buffer.getvalue()


CONTENT = {
    "send_file": PDF,
    "send_sticker": _png(),
    "send_audio": ogg_opus(3),
    "send_video": mp4(5),
    "set_group_photo": _png(),
}


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "media").mkdir()
    return Settings(_env_file=None, data_dir=tmp_path, backend="fake")


def prepare(settings: Settings, name: str, value: str, **extra) -> dict:
    argument = OPERATIONS[name].media
    return media.prepare(name, {"to": "1@s.whatsapp.net", argument: value, **extra}, settings, None)


@pytest.mark.parametrize("name", JOBS)
def test_files_outside_the_media_folder_are_refused_alike(settings, tmp_path, name):
    argument = OPERATIONS[name].media
    secret = tmp_path / "secret.bin"
    secret.write_bytes(CONTENT[name])
    (settings.media_path / "link.bin").symlink_to(secret)  # a symlink escape
    messages = set()
    for value in (
        str(secret),
        f"file://{secret}",
        "file://../secret.bin",
        f"file://{tmp_path / 'nothing.bin'}",
        "file://link.bin",
        "file:///etc/passwd",
    ):
        with pytest.raises(InvalidArguments) as caught:
            prepare(settings, name, value)
        messages.add(str(caught.value))
    # A plain absolute path outside the folder is not a file to wagw: it is read as base64 and
    # fails as such, never read. The file:// forms all fail with the one message.
    assert f"invalid arguments for {name}: {argument}: not a file in the media folder (WAGW_MEDIA_DIR)" in messages
    assert all(m.startswith(f"invalid arguments for {name}: {argument}: ") for m in messages)
    assert len(messages) <= 2, messages


@pytest.mark.parametrize("name", JOBS)
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/a",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:1/x",
        "http://10.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_loopback_private_and_metadata_urls_are_refused(settings, name, url):
    with pytest.raises(InvalidArguments) as caught:
        prepare(settings, name, url)
    assert str(caught.value).endswith("the URL cannot be used: the URL's host is not a public address")


@pytest.mark.parametrize("name", JOBS)
def test_a_file_inside_the_media_folder_is_sent(settings, name):
    (settings.media_path / "ok.bin").write_bytes(CONTENT[name])
    params = prepare(settings, name, "file://ok.bin")
    assert base64.b64decode(params[f"{OPERATIONS[name].media}_b64"])


def test_send_files_mimetype_comes_from_the_bytes_not_the_caller(settings):
    encoded = base64.b64encode(PDF).decode()
    assert prepare(settings, "send_file", encoded, mimetype="text/html")["mimetype"] == "application/pdf"
    text = base64.b64encode(b"a,b\n1,2\n").decode()
    assert prepare(settings, "send_file", text, mimetype="text/csv")["mimetype"] == "text/csv"
    # Bytes that are no image, video or audio never get such a type from the caller.
    for claimed in ("image/png", "video/mp4", "audio/ogg", "not a type", "text/html\r\nX: y"):
        assert prepare(settings, "send_file", text, mimetype=claimed)["mimetype"] == "application/octet-stream"
