"""Photos stored sideways with an EXIF orientation tag, as phones take them: for tests that
what wagw makes of an image is upright."""

from __future__ import annotations

import io

from PIL import Image

ROTATED_90 = 6  # EXIF Orientation: the stored picture must be turned 90° clockwise to show


def sideways_photo(size: tuple[int, int] = (600, 300), fmt: str = "jpeg") -> bytes:
    """`size` stored pixels, left half red and right half blue, tagged ROTATED_90: shown
    upright it is size[1] wide and size[0] high, red on top and blue below."""
    image = Image.new("RGB", size, "blue")
    image.paste("red", (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x0112] = ROTATED_90
    out = io.BytesIO()
    image.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def colour_at(data: bytes, xy: tuple[int, int]) -> str:
    """'red' or 'blue': which of the two a picture's pixel is nearer (JPEG blurs the edges)."""
    with Image.open(io.BytesIO(data)) as image:
        red, _green, blue = image.convert("RGB").getpixel(xy)[:3]
    return "red" if red > blue else "blue"
