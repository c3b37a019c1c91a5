"""Wallhack screenshot classifier: one or many uploaded images in, probability and decision out.

Two BentoML services in one bento, like a KServe transformer and predictor: `Wallhack` decodes
and validates each upload (a bad one gets a 400 naming it, before any batching), `WallhackModel`
runs ONNX Runtime behind BentoML's adaptive batcher, which merges frames from concurrent requests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import aiohttp
import bentoml
import numpy as np
from pydantic import Field

from bentos.common import batching, limits, pools
from bentos.common.uploads import each_image
from bentos.common.middleware import guard
from bentos.common.observability import ServiceMetrics, input_rows
from bentos.wallhack import schemas
from training.common.integrity import verified
from training.wallhack.spec import SPEC as CONTRACT
from training.wallhack.serving import explain as occlusion
from training.wallhack.serving import onnx_model, preprocess

STORED = verified(bentoml.models.get(os.environ.get("PLAYSERVE_WALLHACK_MODEL", "wallhack:latest")))
# Frames per ONNX call; a request bigger than this would be refused by the batcher.
MAX_BATCH = schemas.MAX_IMAGES_PER_REQUEST
# An explanation's 65 frames go to the batcher this many at a time, so screenshots sent meanwhile
# wait for one chunk, not for all 65 (~1.5 s on 2 cores; seen as /predict p99 over 3 s under locust).
EXPLAIN_CHUNK = 8
# The batcher sheds (503) what it predicts will wait longer; 2 s shed single screenshots behind
# a burst of large requests (seen under locust).
MAX_LATENCY_MS = 10_000


@bentoml.service(name="wallhack-model", workers=1)
class WallhackModel:
    model_ref = bentoml.models.BentoModel(STORED.tag)

    def __init__(self) -> None:
        self.session = onnx_model.session(Path(self.model_ref.path) / onnx_model.ONNX_FILE)

    @bentoml.api(batchable=batching.enabled(), max_batch_size=MAX_BATCH, max_latency_ms=MAX_LATENCY_MS)
    def logits(self, frames: np.ndarray) -> np.ndarray:
        """uint8 letterboxed frames (N, S, S, 3) -> (N,) logits (log-odds of a wallhack)."""
        input_rows("wallhack", "logits", len(frames))
        return onnx_model.logits(self.session, preprocess.normalise(frames))


Images = Annotated[list[Path], Field(min_length=1, max_length=schemas.MAX_IMAGES_PER_REQUEST,
                                     description="JPEG, PNG or WebP screenshots, one or many")]
Threshold = Annotated[float | None, Field(ge=0, le=1, description="Decision threshold; default: the model's")]


@bentoml.service(name="wallhack", workers=1, traffic=limits.traffic(timeout_s=CONTRACT.timeout_s))
class Wallhack:
    model = bentoml.depends(WallhackModel)

    def __init__(self) -> None:
        self.version = str(STORED.tag)
        self.threshold = float(os.environ.get("PLAYSERVE_WALLHACK_THRESHOLD", STORED.info.metadata["threshold"]))
        self.metrics = ServiceMetrics("wallhack", self.version, STORED.info.labels.get("git_sha", "unknown"))

    @bentoml.api
    async def predict(self, images: Images, threshold: Threshold = None) -> schemas.Verdicts:
        frames, _ = await pools.run("decode", self.decode, "predict", {f"images[{index}]": path for index, path in enumerate(images)})
        probability = onnx_model.probability(await self.logits(np.stack(frames)))
        self.metrics.observe("predict", {"probability": probability})
        cut = self.cut(threshold)
        return schemas.Verdicts(model_version=self.version, threshold=cut, results=[
            schemas.Verdict(index=index, probability=p, wallhack=p >= cut) for index, p in enumerate(probability.tolist())])

    @bentoml.api
    async def explain(self, image: Annotated[Path, Field(description="One JPEG, PNG or WebP screenshot")],
                      threshold: Threshold = None) -> schemas.Verdicts:
        """The verdict on one screenshot with an occlusion heat map and the region that drove it,
        for human reviewers. A route of its own, as KServe's :explain, because it costs 65 frames'
        inference and has no place in /predict's latency objective."""
        (frame,), (size,) = await pools.run("decode", self.decode, "explain", {"image": image})
        frames = await pools.run("decode", lambda: np.concatenate([frame[None], occlusion.occluded(frame)]))
        logits = np.concatenate([await self.logits(frames[start:start + EXPLAIN_CHUNK])
                                 for start in range(0, len(frames), EXPLAIN_CHUNK)])
        probability = float(onnx_model.probability(logits[0]))
        heat = occlusion.heat_map(logits[0], logits[1:])
        explanation = schemas.Explanation(grid=occlusion.GRID, heat=np.round(heat, 4).tolist(),
                                          region=occlusion.strongest_region(heat, size))
        cut = self.cut(threshold)
        return schemas.Verdicts(model_version=self.version, threshold=cut, results=[
            schemas.Verdict(index=0, probability=probability, wallhack=probability >= cut, explanation=explanation)])

    def decode(self, endpoint: str, uploads: dict[str, Path]) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
        """Uploads by field name -> letterboxed frames and original sizes; the first bad one is a
        400 naming it. Run on a thread (pools "decode"): on the event loop it kept /livez from answering."""
        frames, sizes = [], []
        for _, image in each_image(self.metrics, endpoint, uploads):
            frames.append(preprocess.letterbox(image))
            sizes.append(image.size)
        return frames, sizes

    def cut(self, threshold: float | None) -> float:
        return self.threshold if threshold is None else threshold

    async def logits(self, frames: np.ndarray) -> np.ndarray:
        """The model service's answer. BentoML's client (1.4.39, _bentoml_impl/client/proxy2.py
        SessionManager) replaces its aiohttp session every 100 calls and closes the old one while
        concurrent calls still hold it: they fail with "Connector is closed.", ServerDisconnected
        or ClientOSError (seen: 13 of 1,800 requests at 8-32 clients in load.bench). Inference is
        idempotent, so a call that lost its connection is retried once, on the new session."""
        try:
            return np.asarray(await self.model.to_async.logits(frames))
        except aiohttp.ClientConnectionError:
            return np.asarray(await self.model.to_async.logits(frames))


guard(Wallhack, CONTRACT, {"predict": limits.uploads_limit(schemas.MAX_IMAGES_PER_REQUEST, preprocess.MAX_BYTES),
                             "explain": limits.uploads_limit(1, preprocess.MAX_BYTES)})
