"""Wallhack screenshot classifier: one or many uploaded images in, probability and decision out.

One BentoML service in one process: it decodes and validates each upload (a bad one gets a 400
naming it) on the `decode` threads and runs ONNX Runtime on the two `model` threads, one request
per core. There is no model service behind an adaptive batcher: on a 2-core replica the model runs
no faster on batches, and the hop to a second process cost a third of the throughput
(load/results/bench-wallhack.md, README "Benchmarks")."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import bentoml
import numpy as np
from pydantic import Field

from bentos.common import limits, pools
from bentos.common.uploads import each_image
from bentos.common.middleware import guard
from bentos.common.observability import ServiceMetrics, input_rows
from bentos.wallhack import schemas
from training.common.integrity import verified
from training.wallhack.spec import SPEC as CONTRACT
from training.wallhack.serving import explain as occlusion
from training.wallhack.serving import onnx_model, preprocess

STORED = verified(bentoml.models.get(os.environ.get("PLAYSERVE_WALLHACK_MODEL", "wallhack:latest")))
# An explanation's 65 frames go to the model this many at a time, so screenshots sent meanwhile
# wait for one chunk, not for all 65 (~1.5 s on 2 cores; seen as /predict p99 over 3 s under locust).
EXPLAIN_CHUNK = 8


Images = Annotated[list[Path], Field(min_length=1, max_length=schemas.MAX_IMAGES_PER_REQUEST,
                                     description="JPEG, PNG or WebP screenshots, one or many")]
Threshold = Annotated[float | None, Field(ge=0, le=1, description="Decision threshold; default: the model's")]


@bentoml.service(name="wallhack", workers=1, traffic=limits.traffic(timeout_s=CONTRACT.timeout_s))
class Wallhack:
    model_ref = bentoml.models.BentoModel(STORED.tag)

    def __init__(self) -> None:
        self.session = onnx_model.session(Path(self.model_ref.path) / onnx_model.ONNX_FILE)
        self.version = str(STORED.tag)
        self.threshold = float(os.environ.get("PLAYSERVE_WALLHACK_THRESHOLD", STORED.info.metadata["threshold"]))
        self.metrics = ServiceMetrics("wallhack", self.version, STORED.info.labels.get("git_sha", "unknown"))

    @bentoml.api
    async def predict(self, images: Images, threshold: Threshold = None) -> schemas.Verdicts:
        uploads = {f"images[{index}]": path for index, path in enumerate(images)}
        try:
            with pools.admitted("model", CONTRACT.latency_objective_s):
                frames, _ = await pools.run("decode", self.decode, "predict", uploads)
                probability = onnx_model.probability(await pools.run("model", self.logits, "predict", np.stack(frames)))
        except pools.Overloaded as busy:
            return busy.response()
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
        logits = np.concatenate([await pools.run("model", self.logits, "explain", frames[start:start + EXPLAIN_CHUNK])
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

    def logits(self, endpoint: str, frames: np.ndarray) -> np.ndarray:
        """uint8 letterboxed frames (N, S, S, 3) -> (N,) logits (log-odds of a wallhack)."""
        input_rows("wallhack", endpoint, len(frames))
        return onnx_model.logits(self.session, preprocess.normalise(frames))


guard(Wallhack, CONTRACT, {"predict": limits.uploads_limit(schemas.MAX_IMAGES_PER_REQUEST, preprocess.MAX_BYTES),
                             "explain": limits.uploads_limit(1, preprocess.MAX_BYTES)}, doors={"/predict": "model"})
