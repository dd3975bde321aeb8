"""Does an image decode? Asked before an image is sent, where a bad one is the caller's bug.

neonize's send_image opens the image with Pillow and makes a JPEG thumbnail before it
uploads anything. Bytes that start like a JPEG/PNG/GIF/WebP but do not decode make Pillow
raise OSError (UnidentifiedImageError, "image file is truncated", …) inside the native host,
and that looked like a transient failure: the job was retried twice for nothing. This check
does the same work neonize will do, so such an image fails the job at once as invalid
arguments. Pure Python (Pillow); safe in the wa-worker, which must never load neonize.
"""

from __future__ import annotations

import io
import warnings

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


GROUP_PHOTO = 640  # pixels: the square WhatsApp shows a group's photo in


def group_photo_jpeg(data: bytes) -> bytes:
    """`data` as the JPEG WhatsApp takes for a group photo: the centred square, at most
    GROUP_PHOTO pixels a side. ValueError when it does not decode."""
    from PIL import Image

    check_decodes(data)
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
    side = min(rgb.size)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    square = rgb.crop((left, top, left + side, top + side))
    if side > GROUP_PHOTO:
        square = square.resize((GROUP_PHOTO, GROUP_PHOTO))
    out = io.BytesIO()
    square.save(out, format="jpeg", quality=90)
    return out.getvalue()
