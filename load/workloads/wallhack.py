"""The wallhack benchmark's workload: one screenshot per request, in process as the service runs it."""

from __future__ import annotations

import time

import httpx
import numpy as np

from load.bench import SEED, Workload

BATCH = 8  # screenshots in one call, for the batched figure beside (a)
BATCHES = 20


def workload(tag: str) -> tuple[str, Workload]:
    """One generated screenshot per request (a 1280x720 JPEG, as the generator draws them); bare:
    decode, letterbox and ONNX Runtime on it, c threads at once, on a session made as the service
    makes it (the service runs two requests' models at once, one per core). Extra: the same frames
    in one call on batches of BATCH, which adaptive batching would give."""
    from training.common.store import get
    from training.wallhack import data
    from training.wallhack.serving import onnx_model, preprocess

    stored = get(tag)
    session = onnx_model.session(stored.path / onnx_model.ONNX_FILE)
    image = data.sample(SEED, 4).image  # the generator's frame 4: 1280x720, JPEG
    content_type = "multipart/form-data; boundary=playserve-bench"  # httpx encodes with the boundary given
    body = httpx.Request("POST", "/predict", files=[("images", ("shot.jpg", image))], headers={"content-type": content_type}).read()

    def bare(n: int) -> np.ndarray:
        return onnx_model.probability(onnx_model.logits(session, preprocess.model_input([image] * n)))

    def batched(_url: str) -> dict:
        bare(BATCH)
        start = time.perf_counter()
        for _ in range(BATCHES):
            bare(BATCH)
        per_s = BATCH * BATCHES / (time.perf_counter() - start)
        return {"bare_batched_per_s": per_s, "lines": [
            f"On batches of {BATCH} screenshots, in process (one thread; what adaptive batching would merge): "
            f"**{per_s:.1f}/s**, to set against (a)'s c threads of one screenshot each above.", ""]}

    return stored.tag, Workload("/predict", body, bare, content_type=content_type,
                                requests=600, day_volume=500_000, adaptive=False, extra=batched)
