"""Screenshot bytes -> the model's input, identically in training and serving: decode with
limits (training/common/images.py), letterbox to INPUT_SIZE keeping the aspect ratio (ESP boxes
stay boxes), normalise with ImageNet's statistics (the backbone's)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from training.common.images import MAX_BYTES, ImageError, decode  # noqa: F401 (this module's API)

INPUT_SIZE = 256
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
PAD = tuple(int(round(m * 255)) for m in MEAN)  # letterbox bars normalise to zero


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
