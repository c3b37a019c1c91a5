"""The wallhack benchmark's workload: one screenshot per request, batched in process."""

from __future__ import annotations

import httpx
import numpy as np

from load.bench import SEED, Workload


def workload(tag: str) -> tuple[str, Workload]:
    """One generated screenshot per request (every size, format and quality the generator draws);
    bare: decode, letterbox and ONNX Runtime on a batch, as the service does them."""
    from training.common.store import get
    from training.wallhack import data
    from training.wallhack.serving import onnx_model, preprocess

    stored = get(tag)
    session = onnx_model.session(stored.path / onnx_model.ONNX_FILE)
    images = [data.sample(SEED, i).image for i in range(64)]
    content_type = "multipart/form-data; boundary=playserve-bench"  # httpx encodes with the boundary given
    bodies = [httpx.Request("POST", "/predict", files=[("images", (f"shot{i}.jpg", image))], headers={"content-type": content_type}).read()
              for i, image in enumerate(images)]

    def bare_batch(i: int, n: int) -> np.ndarray:
        batch = [images[(i + k) % len(images)] for k in range(n)]
        return onnx_model.probability(onnx_model.logits(session, preprocess.model_input(batch)))

    return stored.tag, Workload("/predict", bodies, bare_batch, content_type=content_type,
                                batched=True, requests=600, day_volume=500_000)
