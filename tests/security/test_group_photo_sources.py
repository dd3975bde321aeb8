"""set_group_photo's `image` under the media rules (docs/security.md): an enqueuer with bad
intent cannot make wagw read a file outside WAGW_MEDIA_DIR, reach the host's own network, or
have neonize fetch or read anything itself; invite links are never fetched."""

from __future__ import annotations

import base64
import inspect

import pytest

from tests.security.test_media_sources import PNG, _Server
from wagw.config import Settings
from wagw.operations import validate
from wagw.operations.args import InvalidArguments
from wagw.whatsapp import neonize_backend
from workers.wa import fetch, media

GROUP = "120363000000000001@g.us"
PREFIX = "invalid arguments for set_group_photo: image: "


@pytest.fixture
def media_settings(tmp_path):
    (tmp_path / "media").mkdir()
    return Settings(_env_file=None, data_dir=tmp_path, backend="fake")


@pytest.fixture
def host_network():
    server = _Server("127.0.0.1")  # stands for the host's own network
    yield server
    server.close()


@pytest.fixture
def public(monkeypatch):
    server = _Server("127.0.0.2")  # loopback, treated as a public address here
    real = fetch.is_public
    monkeypatch.setattr(fetch, "is_public", lambda address: address == "127.0.0.2" or real(address))
    yield server
    server.close()


def photo(settings: Settings, image: str) -> dict:
    """What the wa-worker does with the job's arguments before the host sees them."""
    params = validate("set_group_photo", (), {"jid": GROUP, "image": image}, fake=True).model_dump()
    return media.prepare("set_group_photo", params, settings, None)


def test_files_outside_the_media_folder_are_refused_alike(media_settings, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    (media_settings.media_path / "link.png").symlink_to(secret)
    messages = set()
    for image in (str(secret), f"file://{secret}", "../secret.png", "/etc/passwd", "file://link.png"):
        with pytest.raises(InvalidArguments) as caught:
            photo(media_settings, image)
        assert str(caught.value).startswith(PREFIX), caught.value
        assert caught.value.permanent
        messages.add(str(caught.value))
    assert str(secret) not in " ".join(messages)


def test_a_photo_in_the_media_folder_is_used(media_settings):
    (media_settings.media_path / "team.png").write_bytes(PNG)
    params = photo(media_settings, str(media_settings.media_path / "team.png"))
    assert base64.b64decode(params["image_b64"]) == PNG and params["mimetype"] == "image/png"
    assert "image" not in params  # only the bytes go on to the host


def test_urls_of_the_host_network_are_refused_without_a_connection(media_settings, host_network):
    for url in (f"{host_network.url}/a.png", "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/x"):
        with pytest.raises(InvalidArguments) as caught:
            photo(media_settings, url)
        assert str(caught.value) == PREFIX + "the URL cannot be used: the URL's host is not a public address"
    assert host_network.hits == []


def test_a_redirect_to_the_host_network_is_refused(media_settings, public, host_network):
    with pytest.raises(InvalidArguments, match="not a public address"):
        photo(media_settings, f"{public.url}/go?to={host_network.url}/a.png")
    assert public.hits and host_network.hits == []


@pytest.mark.parametrize("image", ["ftp://example.com/a.png", "gopher://x/", "data:image/png;base64,AAAA"])
def test_other_schemes_are_not_media(media_settings, image):
    with pytest.raises(InvalidArguments) as caught:
        photo(media_settings, image)
    assert str(caught.value).startswith(PREFIX)


def test_not_an_image_is_refused_before_the_host(media_settings):
    (media_settings.media_path / "notes.png").write_bytes(b"#!/bin/sh\necho not an image\n")
    with pytest.raises(InvalidArguments, match="not a JPEG, PNG, GIF or WebP image"):
        photo(media_settings, str(media_settings.media_path / "notes.png"))


def test_neonize_is_only_ever_given_bytes():
    """Given a str, neonize's set_group_photo fetches a URL or reads a file itself, unchecked:
    the backend's parameter is bytes, and it passes the JPEG it made from them."""
    parameters = inspect.signature(neonize_backend.NeonizeBackend.set_group_photo).parameters
    assert parameters["image"].annotation in (bytes, "bytes")
    source = inspect.getsource(neonize_backend.NeonizeBackend.set_group_photo)
    assert "group_photo_jpeg(image)" in source and "self._client.set_group_photo, self._jid(jid), photo" in source


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.1:8080/HbLNhIVW8Nh5Gh0iHpDlhm",
        "https://chat.whatsapp.com.evil.example/HbLNhIVW8Nh5Gh0iHpDlhm",
        "https://evil.example/chat.whatsapp.com/HbLNhIVW8Nh5Gh0iHpDlhm",
        "https://user@chat.whatsapp.com/HbLNhIVW8Nh5Gh0iHpDlhm",
        "file:///etc/passwd",
    ],
)
@pytest.mark.parametrize("operation", ["join_group", "group_info_from_link"])
def test_an_invite_link_is_only_a_chat_whatsapp_com_code(operation, link):
    with pytest.raises(InvalidArguments) as caught:
        validate(operation, (), {"link": link})
    assert f"invalid arguments for {operation}: link: " in str(caught.value)
