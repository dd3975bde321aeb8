"""Pictures wagw makes from an image are upright as its EXIF orientation says: a group's photo
and a sticker carry no EXIF of their own, so made from the stored pixels they showed sideways."""

from __future__ import annotations

import base64
import io

from PIL import Image

from tests.orientation import colour_at, sideways_photo
from wagw.config import Settings
from wagw.operations import images
from workers.wa import media


def test_a_group_photo_is_cropped_from_the_upright_picture():
    photo = images.group_photo_jpeg(sideways_photo((600, 300)))
    with Image.open(io.BytesIO(photo)) as square:
        assert square.size == (300, 300)
    # upright the picture is red above blue: the centre square's top row is red, its bottom blue
    assert colour_at(photo, (290, 10)) == "red" and colour_at(photo, (10, 290)) == "blue"


def test_a_sticker_is_made_from_the_upright_picture(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    source = base64.b64encode(sideways_photo((600, 300))).decode()
    made = media.prepare("send_sticker", {"to": "1@s.whatsapp.net", "sticker": source}, settings, None)
    sticker = base64.b64decode(made["sticker_b64"])
    # 300x600 upright, fitted into 512: 256 wide, centred; red on top, blue below
    assert colour_at(sticker, (256, 100)) == "red" and colour_at(sticker, (256, 400)) == "blue"
    with Image.open(io.BytesIO(sticker)) as picture:
        assert picture.getpixel((50, 256))[3] == 0  # left of the upright picture: transparent


def test_the_thumbnail_is_upright_and_gives_the_shown_size():
    small, width, height = images.thumbnail(sideways_photo((640, 480)))
    assert (width, height) == (480, 640)
    with Image.open(io.BytesIO(small)) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (150, 200)
    assert colour_at(small, (75, 20)) == "red" and colour_at(small, (75, 180)) == "blue"


def test_an_image_without_orientation_is_unchanged():
    plain = io.BytesIO()
    Image.new("RGB", (640, 480), "red").save(plain, "png")
    small, width, height = images.thumbnail(plain.getvalue())
    assert (width, height) == (640, 480)
    with Image.open(io.BytesIO(small)) as thumb:
        assert thumb.size == (200, 150)
