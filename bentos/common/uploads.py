"""Uploaded image files -> pixels, for the services that take images: the size and any decode
failure are counted, a bad upload is a 400 naming its field, and decoded pixels are bounded per
request and per pod.

A solid-colour 6000x6000 PNG is 120 KB and 108 MB decoded: 16 of them took a worker from 328 MB to
2.24 GB. So every header is read first; a request whose images hold more than MAX_REQUEST_PIXELS
in all is a 400, and a pod decodes at most POD_PIXELS at once (a request that would wait longer
than PIXEL_WAIT_S for room is a 503, which the traffic middleware gives a Retry-After)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from http import HTTPStatus
from pathlib import Path

import anyio.to_thread
import bentoml
import numpy as np
from PIL import Image

from bentos.common.observability import ServiceMetrics
from training.common.images import ImageError, decode, opened

MAX_REQUEST_PIXELS = 40_000_000  # 16 frames of 1920x1080 (33 Mpx), or four 4K frames
POD_PIXELS = 40_000_000          # held at once: 120 MB as RGB, ~4x that with the working copies of decoding and analysis
PIXEL_WAIT_S = 5.0


class PixelBudget:
    """A pod's pixels decoded at once, shared by its request threads (and, through held_async, by
    async handlers, which wait for room in a thread, never on the event loop)."""

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0
        self.room = threading.Condition()

    def acquire(self, pixels: int, wait_s: float = PIXEL_WAIT_S) -> None:
        with self.room:
            if not self.room.wait_for(lambda: self.used + pixels <= self.limit, wait_s):
                raise bentoml.exceptions.BentoMLException(
                    f"images: the pod is decoding {self.used:,} pixels of other requests; retry later",
                    error_code=HTTPStatus.SERVICE_UNAVAILABLE)
            self.used += pixels

    def release(self, pixels: int) -> None:
        with self.room:
            self.used -= pixels
            self.room.notify_all()

    @contextmanager
    def held(self, pixels: int):
        self.acquire(pixels)
        try:
            yield
        finally:
            self.release(pixels)

    @asynccontextmanager
    async def held_async(self, pixels: int):
        await anyio.to_thread.run_sync(self.acquire, pixels)
        try:
            yield
        finally:
            self.release(pixels)


PIXELS = PixelBudget(POD_PIXELS)


def pixels(metrics: ServiceMetrics, endpoint: str, uploads: dict[str, Path], limit: int | None = MAX_REQUEST_PIXELS) -> dict[str, int]:
    """Each upload's pixels from its checked header, before any pixel is decoded; the request's
    pixels in all within `limit`."""
    counts = {}
    for name, path in uploads.items():
        metrics.input_bytes(endpoint, Path(path).stat().st_size)
        with checked(metrics, name, lambda: opened(Path(path))) as image:
            counts[name] = image.width * image.height
    total = sum(counts.values())
    if limit is not None and total > limit:
        field = next(iter(uploads)).split("[")[0]
        raise bentoml.exceptions.InvalidArgument(
            f"{field}: {total:,} pixels in all is over the limit of {limit:,} per request; send fewer or smaller images")
    return counts


@contextmanager
def rgb_images(metrics: ServiceMetrics, endpoint: str, uploads: dict[str, Path]) -> Iterator[list[np.ndarray]]:
    """Every upload as RGB pixels, held (and counted against the pod) for the `with` block."""
    with PIXELS.held(sum(pixels(metrics, endpoint, uploads).values())):
        yield decoded(metrics, uploads)


def decoded(metrics: ServiceMetrics, uploads: dict[str, Path]) -> list[np.ndarray]:
    """Every upload as RGB pixels; the caller holds their pixels against the pod (PIXELS)."""
    return [np.asarray(checked(metrics, name, lambda path=path: decode(Path(path).read_bytes()))) for name, path in uploads.items()]


def each_image(metrics: ServiceMetrics, endpoint: str, uploads: dict[str, Path]) -> Iterator[tuple[str, Image.Image]]:
    """Uploads one at a time as RGB images, each held against the pod only until the next: for a
    caller that shrinks each image at once (wallhack's letterbox)."""
    for name, count in pixels(metrics, endpoint, uploads, limit=None).items():
        with PIXELS.held(count):
            yield name, checked(metrics, name, lambda: decode(Path(uploads[name]).read_bytes()))


def checked(metrics: ServiceMetrics, name: str, read):
    """read() with an ImageError counted and answered as a 400 naming the upload."""
    try:
        return read()
    except ImageError as error:
        metrics.decode_failure(error.reason)
        raise bentoml.exceptions.InvalidArgument(f"{name}: {error}") from None
