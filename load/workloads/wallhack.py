"""The wallhack benchmark's workload: one screenshot per request, batched in process."""

from __future__ import annotations

import httpx
import numpy as np

from load.bench import SEED, Workload


def workload(tag: str) -> tuple[str, Workload]:
    """One generated screenshot per request (a 1280x720 JPEG, as the generator draws them); bare:
    decode, letterbox and ONNX Runtime on a batch of copies of it, as the service does them."""
    from training.common.store import get
    from training.wallhack import data
    from training.wallhack.serving import onnx_model, preprocess

    stored = get(tag)
    session = onnx_model.session(stored.path / onnx_model.ONNX_FILE)
    image = data.sample(SEED, 4).image  # the generator's frame 4: 1280x720, JPEG
    content_type = "multipart/form-data; boundary=playserve-bench"  # httpx encodes with the boundary given
    body = httpx.Request("POST", "/predict", files=[("images", ("shot.jpg", image))], headers={"content-type": content_type}).read()

    def bare_batch(n: int) -> np.ndarray:
        return onnx_model.probability(onnx_model.logits(session, preprocess.model_input([image] * n)))

    return stored.tag, Workload("/predict", body, bare_batch, content_type=content_type,
                                batched=True, requests=600, day_volume=500_000)
