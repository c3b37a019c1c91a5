"""Uploaded image files -> pixels, for the services that take images: the size and any decode
failure are counted, and a bad upload is a 400 naming its field."""

from __future__ import annotations

from pathlib import Path

import bentoml
import numpy as np

from bentos.common.observability import ServiceMetrics
from training.common.images import ImageError, decode


def rgb_image(metrics: ServiceMetrics, endpoint: str, name: str, path: Path) -> np.ndarray:
    data = Path(path).read_bytes()
    metrics.input_bytes(endpoint, len(data))
    try:
        return np.asarray(decode(data))
    except ImageError as error:
        metrics.decode_failure(error.reason)
        raise bentoml.exceptions.InvalidArgument(f"{name}: {error}") from None
