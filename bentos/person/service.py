"""Person detector for digital signage: how many people are in front of the ad and how many face
it, per camera frame, and for a whole video the audience over time and each person's dwell time.

Two BentoML services in one bento, like a KServe transformer and predictor: `Person` decodes and
letterboxes each upload (a bad one gets a 400 naming it), runs NMS and the attention check;
`PersonModel` runs the exported YOLO network with ONNX Runtime behind BentoML's adaptive batcher.
People are personal data: nothing here stores or logs a frame or a crop."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import aiohttp
import bentoml
import numpy as np
from pydantic import Field

from bentos.common import batching, limits, pools
from bentos.common.middleware import guard
from bentos.common.observability import ServiceMetrics, input_rows
from bentos.common.uploads import PIXELS, decoded
from bentos.common.uploads import pixels as uploads_pixels
from bentos.person import schemas
from training.common.integrity import verified
from training.person.spec import SPEC as CONTRACT
from training.common.images import MAX_BYTES as MAX_IMAGE_BYTES
from training.common.video import DEFAULT_RATE, MAX_RATE, MIN_RATE, VideoError
from training.common.video import MAX_BYTES as MAX_VIDEO_BYTES
from training.person.serving import audience, detector

STORED = verified(bentoml.models.get(os.environ.get("PLAYSERVE_PERSON_MODEL", "person:latest")))
# Frames per ONNX call: a request's 16 go to the batcher 4 at a time. ONNX Runtime's memory arena
# keeps the largest batch's activations for good: 16 frames of 640x640 took the model worker to
# 1.8 GB, 4 take it to ~550 MB. (Without the arena, 4 peak at ~400 MB, but every call pays for
# its allocations; a live run's p99 went past the 2 s objective.)
MAX_BATCH = 4
MAX_LATENCY_MS = 10_000  # as wallhack's: the batcher sheds (503) only what would wait longer


@bentoml.service(name="person-model", workers=1)
class PersonModel:
    model_ref = bentoml.models.BentoModel(STORED.tag)

    def __init__(self) -> None:
        self.session = detector.session(Path(self.model_ref.path) / detector.ONNX_FILE)
        # ONNX Runtime allocates on its first run (~2 s here): pay it before readiness, not on a caller's frame
        detector.raw(self.session, np.full((1, detector.SIZE, detector.SIZE, 3), detector.PAD_VALUE, np.uint8))

    @bentoml.api(batchable=batching.enabled(), max_batch_size=MAX_BATCH, max_latency_ms=MAX_LATENCY_MS)
    def raw(self, canvases: np.ndarray) -> np.ndarray:
        """uint8 letterboxed frames (N, 640, 640, 3) -> the network's output (N, 4 + classes, anchors)."""
        input_rows("person", "raw", len(canvases))
        return detector.raw(self.session, canvases)


Images = Annotated[list[Path], Field(min_length=1, max_length=schemas.MAX_IMAGES_PER_REQUEST,
                                     description="JPEG, PNG or WebP camera frames, one or many")]
Confidence = Annotated[float | None, Field(ge=0.05, le=1, description="Lowest confidence counted as a person; default: the model's")]
Video = Annotated[Path, Field(description="A camera recording: MP4, AVI, MKV, WebM or MOV")]
SampleRate = Annotated[float, Field(ge=MIN_RATE, le=MAX_RATE, description="Frames analysed per second of video")]


@bentoml.service(name="person", workers=1, traffic=limits.traffic(timeout_s=CONTRACT.timeout_s))
class Person:
    model = bentoml.depends(PersonModel)
    model_ref = bentoml.models.BentoModel(STORED.tag)

    def __init__(self) -> None:
        self.version = str(STORED.tag)
        self.min_confidence = float(STORED.info.metadata.get("min_confidence", detector.MIN_CONFIDENCE))
        # videos are bulk work with their own detector, so they do not hold frames in the batcher
        self.audience = audience.Audience(Path(self.model_ref.path))
        self.metrics = ServiceMetrics("person", self.version, STORED.info.labels.get("git_sha", "unknown"))

    @bentoml.api
    async def predict(self, images: Images, min_confidence: Confidence = None) -> schemas.Detections:
        """People per image: boxes, confidences, the count and how many face the camera."""
        uploads = {f"images[{index}]": path for index, path in enumerate(images)}
        cut = self.min_confidence if min_confidence is None else min_confidence
        # Decoding and the attention check run on threads: on the event loop they kept /livez from answering.
        held = sum((await pools.run("decode", uploads_pixels, self.metrics, "predict", uploads)).values())
        async with PIXELS.held_async(held):
            frames = await pools.run("decode", decoded, self.metrics, uploads)
            boxed = await pools.run("decode", lambda: [detector.letterbox(frame) for frame in frames])
            outputs = await self.raw(np.stack([b.canvas for b in boxed]))
            results = await pools.run("decode", self.people, frames, boxed, outputs, cut)
        self.metrics.observe("predict", {"people": [r.count for r in results], "looking": [r.looking for r in results],
                                         "confidence": [p.confidence for r in results for p in r.people]})
        return schemas.Detections(model_version=self.version, min_confidence=cut, results=results)

    def people(self, frames, boxed, outputs, cut: float) -> list[schemas.ImagePeople]:
        results = []
        for index, (frame, box, output) in enumerate(zip(frames, boxed, outputs)):
            viewers = self.audience.viewers(frame, detector.detections(output, box, cut))
            results.append(schemas.ImagePeople(index=index, count=len(viewers), looking=sum(v.looking for v in viewers),
                                               people=[schemas.Person(**v.as_dict()) for v in viewers]))
        return results

    @bentoml.api
    async def video(self, video: Video, sample_rate: SampleRate = DEFAULT_RATE) -> dict:
        """The audience of a recording: peak and average people, the share facing the screen, people
        per second, and each tracked person's dwell time and attention."""
        return await pools.run("bulk", self.recording, video, sample_rate)

    def recording(self, video: Path, sample_rate: float) -> dict:
        self.metrics.input_bytes("video", Path(video).stat().st_size)
        try:
            result = audience.report(self.audience, Path(video), sample_rate)
        except VideoError as error:
            self.metrics.decode_failure(error.reason)
            raise bentoml.exceptions.InvalidArgument(f"video: {error}") from None
        input_rows("person", "video", result["summary"]["sampled_frames"])
        self.metrics.observe("video", {"people_tracked": [result["summary"]["people_tracked"]],
                                       "dwell_s": [p["dwell_s"] for p in result["people"]]})
        return {"model_version": self.version, **result}

    async def raw(self, canvases: np.ndarray) -> np.ndarray:
        """The model service's answer, MAX_BATCH frames at a time."""
        return np.concatenate([await self.raw_batch(canvases[start:start + MAX_BATCH]) for start in range(0, len(canvases), MAX_BATCH)])

    async def raw_batch(self, canvases: np.ndarray) -> np.ndarray:
        """One call to the model service. BentoML's client (1.4.39, _bentoml_impl/client/proxy2.py
        SessionManager) replaces its aiohttp session every 100 calls and closes the old one while
        concurrent calls still hold it: they fail with "Connector is closed.", ServerDisconnected
        or ClientOSError (seen: 13 of 1,800 wallhack requests at 8-32 clients when it had a model
        service). Inference is idempotent, so a call that lost its connection is retried once."""
        try:
            return np.asarray(await self.model.to_async.raw(canvases))
        except aiohttp.ClientConnectionError:
            return np.asarray(await self.model.to_async.raw(canvases))


guard(Person, CONTRACT, {"predict": limits.uploads_limit(schemas.MAX_IMAGES_PER_REQUEST, MAX_IMAGE_BYTES),
                         "video": limits.uploads_limit(1, MAX_VIDEO_BYTES)})
