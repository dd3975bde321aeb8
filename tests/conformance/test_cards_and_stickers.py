"""Contact cards and stickers as WhatsApp's phones make them.

neonize's gen_vcard has no `N:` line, puts the name into `FN:` unescaped and labels the
number "Ponsel"; its send_sticker squares an image without scaling it, so a small picture
made a small sticker. wagw sends its own card (wagw.operations.vcard) and a 512x512 sticker."""

from __future__ import annotations

import base64
import hashlib
import io

from PIL import Image

from tests.conformance.names import ALICE
from tests.conformance.roles import FakeAccount
from tests.conformance.test_outbound import job, sent_messages, worker  # noqa: F401
from workers.wa import media


def test_a_contact_card_has_n_an_escaped_fn_and_no_ponsel(worker):  # noqa: F811
    job(worker, "send_contact", to=ALICE, name="Smith, John; Jr. \\ Co", phone="+44 7911 123456")
    [(_, message)] = sent_messages(worker)
    contact = message["contactMessage"]
    assert contact["displayName"] == "Smith, John; Jr. \\ Co"
    assert contact["vcard"] == (
        "BEGIN:VCARD\nVERSION:3.0\n"
        "N:;Smith\\, John\\; Jr. \\\\ Co;;;\n"
        "FN:Smith\\, John\\; Jr. \\\\ Co\n"
        "TEL;type=CELL;type=VOICE;waid=447911123456:+44 7911 123456\n"
        "END:VCARD"
    )


def test_the_fake_records_the_same_card(settings, redis_conn, worker):  # noqa: F811
    job(worker, "send_contact", to=ALICE, name="Bob", phone="+1 555 765 4321")
    [(_, message)] = sent_messages(worker)
    fake = FakeAccount(settings, redis_conn)
    assert "result" in fake.job("send_contact", to=ALICE, name="Bob", phone="+1 555 765 4321")
    [recorded] = fake.sent("send_contact")
    assert recorded["vcard"] == message["contactMessage"]["vcard"]


def picture(size: tuple[int, int], color: str = "teal") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "png")
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_small_image_makes_a_512_pixel_sticker(worker):  # noqa: F811
    job(worker, "send_sticker", to=ALICE, sticker=picture((64, 32)))
    [upload] = worker.call("calls", entry="Upload")
    assert upload["image"] == [512, 512]
    [(_, message)] = sent_messages(worker)
    assert message["stickerMessage"]["mimetype"] == "image/webp"


def test_a_large_image_is_scaled_down_to_512(worker):  # noqa: F811
    job(worker, "send_sticker", to=ALICE, sticker=picture((2000, 1000)))
    [upload] = worker.call("calls", entry="Upload")
    assert upload["image"] == [512, 512]


def test_the_sticker_is_centred_on_a_transparent_square(settings):
    """The wa-worker's step, which both backends receive: the picture fills the width."""
    made = media.prepare("send_sticker", {"to": ALICE, "sticker": picture((64, 32), "red")}, settings, None)
    with Image.open(io.BytesIO(base64.b64decode(made["sticker_b64"]))) as sticker:
        assert sticker.size == (512, 512) and sticker.mode == "RGBA"
        assert sticker.getpixel((256, 0))[3] == 0  # above the picture: transparent
        assert sticker.getpixel((256, 256)) == (255, 0, 0, 255)
        assert sticker.getpixel((0, 256)) == (255, 0, 0, 255)  # scaled to the full width


def test_the_fake_gets_the_same_sticker(settings, redis_conn):
    sticker = picture((64, 32))
    made = media.prepare("send_sticker", {"to": ALICE, "sticker": sticker}, settings, None)
    fake = FakeAccount(settings, redis_conn)
    assert "result" in fake.job("send_sticker", to=ALICE, sticker=sticker)
    [recorded] = fake.sent("send_sticker")
    assert recorded["sticker"]["sha256"] == hashlib.sha256(base64.b64decode(made["sticker_b64"])).hexdigest()
