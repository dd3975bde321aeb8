"""An image message's thumbnail is upright (neonize's build_image_message makes it from the
stored pixels, so a phone's photo tagged with an EXIF orientation showed sideways in the chat
until it was opened), and the message gives the size the picture is shown at."""

from __future__ import annotations

import base64
import io

from PIL import Image

from tests.conformance.names import ALICE
from tests.conformance.roles import FakeAccount
from tests.conformance.test_outbound import job, sent_messages, worker  # noqa: F401
from tests.orientation import colour_at, sideways_photo


def test_the_thumbnail_of_a_sideways_photo_is_upright(worker):  # noqa: F811
    photo = sideways_photo((640, 480))
    job(worker, "send_image", to=ALICE, image=base64.b64encode(photo).decode(), caption="look")
    [upload] = worker.call("calls", entry="Upload")
    assert (upload["size"], upload["media_type"]) == (len(photo), 0)  # the photo as given: phones turn it
    [(_, message)] = sent_messages(worker)
    image = message["imageMessage"]
    assert (image["width"], image["height"], image["caption"]) == (480, 640, "look")
    thumbnail = base64.b64decode(image["JPEGThumbnail"])
    with Image.open(io.BytesIO(thumbnail)) as small:
        assert small.size == (150, 200)
    assert colour_at(thumbnail, (75, 20)) == "red" and colour_at(thumbnail, (75, 180)) == "blue"


def test_the_fake_takes_the_same_photo(settings, redis_conn, worker):  # noqa: F811
    photo = base64.b64encode(sideways_photo()).decode()
    real = job(worker, "send_image", to=ALICE, image=photo)
    fake = FakeAccount(settings, redis_conn).job("send_image", to=ALICE, image=photo)
    assert sorted(fake["result"]) == sorted(real["result"]) and fake["result"]["to"] == real["result"]["to"]
