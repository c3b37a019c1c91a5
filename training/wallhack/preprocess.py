"""Screenshot bytes -> the model's input, identically in training and serving: decode with
limits (what is not a safe image is refused with a reason), letterbox to INPUT_SIZE keeping the
aspect ratio (ESP boxes stay boxes), normalise with ImageNet's statistics (the backbone's)."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image

INPUT_SIZE = 256
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
PAD = tuple(int(round(m * 255)) for m in MEAN)  # letterbox bars normalise to zero
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
    if not data:
        raise ImageError("empty", "the upload is empty (0 bytes)")
    if len(data) > MAX_BYTES:
        raise ImageError("too_large", f"{len(data):,} bytes is over the {MAX_BYTES:,}-byte limit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):  # PIL's own header check, past ~89 Mpx
        raise ImageError("too_many_pixels", f"over the {MAX_PIXELS:,}-pixel limit (a decompression bomb?)") from None
    except (OSError, SyntaxError):
        raise ImageError("not_an_image", "not a JPEG, PNG or WebP image") from None
    if image.format not in FORMATS:
        raise ImageError("unsupported_format", f"{image.format} is not accepted; send JPEG, PNG or WebP")
    width, height = image.size
    if width * height > MAX_PIXELS:  # the header's size, read before any pixel is decoded
        raise ImageError("too_many_pixels", f"{width}x{height} is over the {MAX_PIXELS:,}-pixel limit")
    try:
        image.load()
    except (OSError, SyntaxError) as error:
        raise ImageError("truncated", f"the file is truncated or corrupt ({error})") from None
    return image.convert("RGB")


def letterbox(image: Image.Image, size: int = INPUT_SIZE) -> np.ndarray:
    """RGB image -> uint8 (size, size, 3): longest side scaled to `size`, centred on PAD bars."""
    scale = size / max(image.size)
    width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    resized = image.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0)
    canvas = Image.new("RGB", (size, size), PAD)
    canvas.paste(resized, ((size - width) // 2, (size - height) // 2))
    return np.asarray(canvas)


def normalise(pixels: np.ndarray) -> np.ndarray:
    """uint8 (..., H, W, 3) -> float32 (..., 3, H, W), ImageNet-normalised."""
    scaled = (pixels.astype(np.float32) / 255.0 - MEAN) / STD
    return np.moveaxis(scaled, -1, -3)


def model_input(images: list[bytes]) -> np.ndarray:
    """Uploads -> the (N, 3, INPUT_SIZE, INPUT_SIZE) float32 batch; ImageError on the first bad one."""
    return normalise(np.stack([letterbox(decode(data)) for data in images]))
