"""Decoding with limits, letterboxing and normalisation: one module for training and serving."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.conftest import png_claiming
from training.wallhack import data
from training.wallhack.serving import preprocess


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


JPEG = encoded(Image.new("RGB", (320, 200), (200, 30, 30)), "JPEG")


@pytest.mark.parametrize(("upload", "reason"), [
    (b"", "empty"),
    (b"\xff" * (preprocess.MAX_BYTES + 1), "too_large"),
    (b"GIF? no: plain text", "not_an_image"),
    (encoded(Image.new("RGB", (8, 8)), "GIF"), "unsupported_format"),
    (encoded(Image.new("RGB", (8, 8)), "BMP"), "unsupported_format"),
    (JPEG[: len(JPEG) // 2], "truncated"),
    (png_claiming(8_000, 6_000), "too_many_pixels"),
    (png_claiming(30_000, 30_000), "too_many_pixels"),
])
def test_bad_uploads_are_refused_with_a_reason(upload, reason):
    with pytest.raises(preprocess.ImageError) as refused:
        preprocess.decode(upload)
    assert refused.value.reason == reason and str(refused.value)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_accepted_formats_decode_to_rgb(fmt):
    image = preprocess.decode(encoded(Image.new("L", (64, 48), 128), fmt))
    assert image.mode == "RGB" and image.size == (64, 48)


def test_letterbox_keeps_the_aspect_ratio_on_bars_that_normalise_to_zero():
    pixels = preprocess.letterbox(Image.new("RGB", (512, 256), (255, 0, 0)))
    size = preprocess.INPUT_SIZE
    assert pixels.shape == (size, size, 3) and pixels.dtype == np.uint8
    rows = np.nonzero((pixels == (255, 0, 0)).all(axis=(1, 2)))[0]
    assert rows.min() == size // 4 and rows.max() == 3 * size // 4 - 1
    assert np.abs(preprocess.normalise(pixels[:1, :1])).max() < 0.01  # a bar pixel


def test_the_service_input_is_the_training_input():
    """Training letterboxes generated frames with data.letterboxed; the service calls model_input
    on the uploaded bytes: the same frames must give the same tensor."""
    pixels, _ = data.letterboxed((5, 0, 6, data.STYLES))
    uploads = [data.sample(5, i).image for i in range(6)]
    served = preprocess.model_input(uploads)
    assert served.shape == (6, 3, preprocess.INPUT_SIZE, preprocess.INPUT_SIZE) and served.dtype == np.float32
    np.testing.assert_array_equal(served, preprocess.normalise(pixels))
