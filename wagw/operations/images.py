"""Images as WhatsApp shows them: does one decode, its thumbnail, a group's photo.

Every picture wagw makes from an image is turned upright first, as its EXIF orientation says
(a phone's photo is often stored sideways with an orientation tag): the thumbnail of an image
message, a group's photo and a sticker (workers/wa/media.py) carry no EXIF of their own, so
a picture made from the stored pixels would show sideways.

Does an image decode? Asked before an image is sent, where a bad one is the caller's bug.

send_image opens the image with Pillow to make its JPEG thumbnail before it uploads
anything. Bytes that start like a JPEG/PNG/GIF/WebP but do not decode make Pillow raise
OSError (UnidentifiedImageError, "image file is truncated", …) inside the native host, and
that looked like a transient failure: the job was retried twice for nothing. This check does
the same work in the wa-worker, so such an image fails the job at once as invalid arguments.
Pure Python (Pillow); safe in the wa-worker, which must never load neonize.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

THUMBNAIL = (200, 200)  # about the size neonize scales to (AspectRatioMethod, res=200)


def check_decodes(data: bytes) -> None:
    """Raise ValueError saying why `data` is not an image Pillow (and so neonize) can use."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.thumbnail(THUMBNAIL)
                (image if image.mode == "RGB" else image.convert("RGB")).save(io.BytesIO(), format="jpeg")
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as error:
        reason = str(error).split(" <_io.", 1)[0] or type(error).__name__
        raise ValueError(f"the image does not decode ({reason})") from None


def upright(image: Any) -> Any:
    """A Pillow image turned as its EXIF orientation says (unchanged when it has none)."""
    from PIL import ImageOps

    return ImageOps.exif_transpose(image)


def thumbnail(data: bytes) -> tuple[bytes, int, int]:
    """(the JPEG thumbnail of an image message, the image's width, its height), upright: what
    neonize's build_image_message makes from the stored pixels, without turning them.
    ValueError when the image does not decode."""
    from PIL import Image

    check_decodes(data)
    with Image.open(io.BytesIO(data)) as image:
        shown = upright(image)
        width, height = shown.size
        small = shown.convert("RGB")
    small.thumbnail(THUMBNAIL)
    out = io.BytesIO()
    small.save(out, format="jpeg")
    return out.getvalue(), width, height


GROUP_PHOTO = 640  # pixels: the square WhatsApp shows a group's photo in


def group_photo_jpeg(data: bytes) -> bytes:
    """`data` as the JPEG WhatsApp takes for a group photo: the centred square, at most
    GROUP_PHOTO pixels a side. ValueError when it does not decode."""
    from PIL import Image

    check_decodes(data)
    with Image.open(io.BytesIO(data)) as image:
        rgb = upright(image).convert("RGB")
    side = min(rgb.size)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    square = rgb.crop((left, top, left + side, top + side))
    if side > GROUP_PHOTO:
        square = square.resize((GROUP_PHOTO, GROUP_PHOTO))
    out = io.BytesIO()
    square.save(out, format="jpeg", quality=90)
    return out.getvalue()
