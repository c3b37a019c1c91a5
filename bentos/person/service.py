"""Person detector for digital signage: how many people are in front of the ad and how many face
it, per camera frame, and for a whole video the audience over time and each person's dwell time.

One BentoML service in one process, as wallhack: it decodes and letterboxes each upload (a bad one
gets a 400 naming it) on the `decode` threads, runs the exported YOLO network with ONNX Runtime on
the two `model` threads one frame at a time, and NMS and the attention check on `decode` again.
There is no model service behind an adaptive batcher: the network runs no faster on batches on a
2-core replica, the batcher shed requests after seconds in its queue, and the second process held
a second copy of the network (load/results/bench-person.md, README "Benchmarks").
People are personal data: nothing here stores or logs a frame or a crop."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated

import bentoml
import numpy as np
from pydantic import Field

from bentos.common import limits, pools
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


Images = Annotated[list[Path], Field(min_length=1, max_length=schemas.MAX_IMAGES_PER_REQUEST,
                                     description="JPEG, PNG or WebP camera frames, one or many")]
Confidence = Annotated[float | None, Field(ge=0.05, le=1, description="Lowest confidence counted as a person; default: the model's")]
Video = Annotated[Path, Field(description="A camera recording: MP4, AVI, MKV, WebM or MOV")]
SampleRate = Annotated[float, Field(ge=MIN_RATE, le=MAX_RATE, description="Frames analysed per second of video")]


@bentoml.service(name="person", workers=1, traffic=limits.traffic(timeout_s=CONTRACT.timeout_s))
class Person:
    model_ref = bentoml.models.BentoModel(STORED.tag)

    def __init__(self) -> None:
        self.version = str(STORED.tag)
        self.min_confidence = float(STORED.info.metadata.get("min_confidence", detector.MIN_CONFIDENCE))
        self.detector = detector.PersonDetector(Path(self.model_ref.path) / detector.ONNX_FILE)
        # ONNX Runtime allocates on its first run (~2 s here): pay it before readiness, not on a caller's frame
        detector.raw(self.detector.session, np.full((1, detector.SIZE, detector.SIZE, 3), detector.PAD_VALUE, np.uint8))
        self.audience = audience.Audience(Path(self.model_ref.path), detect=functools.partial(self.detector.detect, run=in_turn))
        self.metrics = ServiceMetrics("person", self.version, STORED.info.labels.get("git_sha", "unknown"))

    @bentoml.api
    async def predict(self, images: Images, min_confidence: Confidence = None) -> schemas.Detections:
        """People per image: boxes, confidences, the count and how many face the camera."""
        try:
            with pools.admitted("model", CONTRACT.latency_objective_s, calls=len(images)):
                uploads = {f"images[{index}]": path for index, path in enumerate(images)}
                cut = self.min_confidence if min_confidence is None else min_confidence
                # Decoding and the attention check run on threads: on the event loop they kept /livez from answering.
                held = sum((await pools.run("decode", uploads_pixels, self.metrics, "predict", uploads)).values())
                async with PIXELS.held_async(held):
                    frames = await pools.run("decode", decoded, self.metrics, uploads)
                    input_rows("person", "predict", len(frames))
                    boxed = await pools.run("decode", lambda: [detector.letterbox(frame) for frame in frames])
                    # one frame a call: a request's 16 frames in one call took ONNX Runtime's arena, which keeps
                    # the largest call's activations for good, to 1.8 GB; frames of other requests go in between
                    outputs = [await pools.run("model", detector.raw, self.detector.session, b.canvas[None]) for b in boxed]
                    results = await pools.run("decode", self.people, frames, boxed, outputs, cut)
        except pools.Overloaded as busy:
            return busy.response()
        self.metrics.observe("predict", {"people": [r.count for r in results], "looking": [r.looking for r in results],
                                         "confidence": [p.confidence for r in results for p in r.people]})
        return schemas.Detections(model_version=self.version, min_confidence=cut, results=results)

    def people(self, frames, boxed, outputs, cut: float) -> list[schemas.ImagePeople]:
        results = []
        for index, (frame, box, (output,)) in enumerate(zip(frames, boxed, outputs)):
            viewers = self.audience.viewers(frame, detector.detections(output, box, cut))
            results.append(schemas.ImagePeople(index=index, count=len(viewers), looking=sum(v.looking for v in viewers),
                                               people=[schemas.Person(**v.as_dict()) for v in viewers]))
        return results

    @bentoml.api
    async def video(self, video: Video, sample_rate: SampleRate = DEFAULT_RATE) -> schemas.VideoReport:
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


def in_turn(session, canvases: np.ndarray) -> np.ndarray:
    """A recording's frames (on its `bulk` thread) take a `model` thread each, in turn with the
    cameras' frames: run beside the two model threads they were a third network on two cores, and
    frames of 4 cameras went from 0.48 s to 0.92 s at p50 while a recording ran."""
    return pools.run_from_thread("model", detector.raw, session, canvases)


guard(Person, CONTRACT, {"predict": limits.uploads_limit(schemas.MAX_IMAGES_PER_REQUEST, MAX_IMAGE_BYTES),
                         "video": limits.uploads_limit(1, MAX_VIDEO_BYTES)}, doors={"/predict": "model"})
