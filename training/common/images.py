"""Uploaded image bytes -> an RGB image, with limits: what is not a safe image is refused with a
reason (the metric label) and a message naming the problem. Shared by every image model."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image

FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 36_000_000  # 8K is 33 Mpx; more is a decompression bomb, refused before decoding


class ImageError(ValueError):
    """An upload that is not a usable image; `reason` is the metric label, the message names it."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def decode(data: bytes) -> Image.Image:
    """Bytes -> RGB image, or ImageError(reason): empty, too_large, not_an_image,
    unsupported_format, too_many_pixels, truncated."""
    image = opened(data)
    try:
        image.load()
    except (OSError, SyntaxError) as error:
        raise ImageError("truncated", f"the file is truncated or corrupt ({error})") from None
    return image.convert("RGB")


def opened(data: bytes | Path) -> Image.Image:
    """Bytes or a file -> an image whose header has been read and checked (its `size` is known) and
    whose pixels are not decoded yet (a file is read no further); ImageError as decode()."""
    size = len(data) if isinstance(data, bytes) else Path(data).stat().st_size
    if not size:
        raise ImageError("empty", "the upload is empty (0 bytes)")
    if size > MAX_BYTES:
        raise ImageError("too_large", f"{size:,} bytes is over the {MAX_BYTES:,}-byte limit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):  # PIL's own header check, past ~89 Mpx
        raise ImageError("too_many_pixels", f"over the {MAX_PIXELS:,}-pixel limit (a decompression bomb?)") from None
    except (OSError, SyntaxError):
        raise ImageError("not_an_image", "not a JPEG, PNG or WebP image") from None
    if image.format not in FORMATS:
        raise ImageError("unsupported_format", f"{image.format} is not accepted; send JPEG, PNG or WebP")
    width, height = image.size
    if width * height > MAX_PIXELS:  # the header's size, read before any pixel is decoded
        raise ImageError("too_many_pixels", f"{width}x{height} is over the {MAX_PIXELS:,}-pixel limit")
    return image
