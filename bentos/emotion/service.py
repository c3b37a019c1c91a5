"""Emotion inference for playtests: faces and seven emotions per image, a real-time endpoint for a
session's frames, and an emotion report (JSON or a self-contained HTML page) for a whole video.

Faces are personal data: nothing here stores or logs an image, a crop or a video (uploads live in
BentoML's temporary files for the request only); answers and metrics hold boxes and numbers."""

from __future__ import annotations

import os
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Optional

import bentoml
import numpy as np
from pydantic import Field
from starlette.responses import HTMLResponse

from bentos.common import auth, limits, pools
from bentos.common.middleware import guard
from bentos.common.observability import ServiceMetrics, input_rows
from bentos.common.uploads import rgb_images
from bentos.emotion import schemas
from bentos.emotion.sessions import REORDER_FRAMES, NotYours, OutOfOrder, Sessions
from training.common.integrity import verified
from training.emotion.spec import SPEC as CONTRACT
from training.common import video
from training.common.images import MAX_BYTES as MAX_IMAGE_BYTES
from training.emotion.serving import html, report, session
from training.emotion.serving.analysis import Analyser, FaceEmotions

STORED = verified(bentoml.models.get(os.environ.get("PLAYSERVE_EMOTION_MODEL", "emotion:latest")))

Images = Annotated[list[Path], Field(min_length=1, max_length=schemas.MAX_IMAGES_PER_REQUEST,
                                     description="JPEG, PNG or WebP images or webcam frames")]
Video = Annotated[Path, Field(description="A session video: MP4, AVI, MKV, WebM or MOV")]
SampleRate = Annotated[float, Field(ge=video.MIN_RATE, le=video.MAX_RATE, description="Frames analysed per second of video")]


# Two threads: a request of 16 images does not hold up a live frame (reports have their own pool).
@bentoml.service(name="emotion", workers=1, threads=2, traffic=limits.traffic(timeout_s=CONTRACT.timeout_s))
class Emotion:
    model_ref = bentoml.models.BentoModel(STORED.tag)

    def __init__(self) -> None:
        self.analyser = Analyser(Path(self.model_ref.path))
        self.version = str(STORED.tag)
        self.metrics = ServiceMetrics("emotion", self.version, STORED.info.labels.get("git_sha", "unknown"))
        self.sessions = Sessions()

    @bentoml.api
    def predict(self, images: Images) -> schemas.ImageResults:
        """Faces with boxes, the seven emotion probabilities and the dominant emotion, per image."""
        with rgb_images(self.metrics, "predict", {f"images[{index}]": path for index, path in enumerate(images)}) as frames:
            input_rows("emotion", "predict", len(frames))  # frames analysed per request (no adaptive batching here)
            results = [schemas.ImageFaces(index=index, faces=self.observe("predict", self.analyser.faces(frame)))
                       for index, frame in enumerate(frames)]
        return schemas.ImageResults(model_version=self.version, results=results)

    @bentoml.api
    def stream(self,
               session_id: Annotated[str, Field(pattern=schemas.SESSION_ID_PATTERN, description="The playtest session the frame belongs to")],
               frame: Annotated[int, Field(ge=0, description=f"The frame's number in the session: up to {REORDER_FRAMES} behind "
                                                              "the newest is taken; one sent again gets its first answer")],
               image: Annotated[Path, Field(description="One webcam frame (JPEG, PNG or WebP)")],
               context: bentoml.Context,
               captured_s: Annotated[Optional[float], Field(ge=0, le=1e10, allow_inf_nan=False, description=(
                   "When the frame was captured, in seconds on the client's clock: the session's times "
                   "follow it instead of the arrival times"))] = None) -> schemas.StreamFrame:
        """Real time: one frame of a session in, its faces with stable track ids and smoothed emotions out.
        A session belongs to the API key that sent its first frame."""
        with rgb_images(self.metrics, "stream", {"image": image}) as (rgb,):
            try:
                claim = self.sessions.claim(auth.client_of(context.request), session_id, frame, captured_s)
            except OutOfOrder as error:
                raise bentoml.exceptions.BentoMLException(str(error), error_code=HTTPStatus.CONFLICT) from None
            except NotYours as error:
                raise bentoml.exceptions.NotFound(str(error)) from None
            if claim.answer is not None:
                return claim.answer
            answer = None
            try:
                input_rows("emotion", "stream", 1)
                faces = self.analyser.faces(rgb)
                tracks, time_s = claim.session.track(frame, claim.time_s, [f.box for f in faces], [f.emotions for f in faces])
                tracked = [schemas.TrackedFace(**face.model_dump(), track_id=track.id, smoothed=emotions(track.smoothed))
                           for face, track in zip(self.observe("stream", faces), tracks)]
                answer = schemas.StreamFrame(model_version=self.version, session_id=session_id, frame=frame,
                                             time_s=round(time_s, 3), faces=tracked)
            finally:
                claim.session.done(frame, answer)
        return answer

    @bentoml.api(route="/stream/close")
    def close_stream(self, session_id: Annotated[str, Field(pattern=schemas.SESSION_ID_PATTERN)],
                     context: bentoml.Context) -> schemas.StreamSummary:
        """End a live session: its summary (frames, duration, each tracked face's emotions), and the
        service forgets it (a frame with its id starts a new session)."""
        try:
            live = self.sessions.close(auth.client_of(context.request), session_id)
        except NotYours as error:
            raise bentoml.exceptions.NotFound(str(error)) from None
        return schemas.StreamSummary(model_version=self.version, session_id=session_id, frames=live.frames,
                                     duration_s=round(live.clock, 3), tracks=report.track_rows(live.tracker.tracks.values()))

    @bentoml.api
    async def report(self, video: Video, sample_rate: SampleRate = video.DEFAULT_RATE) -> schemas.SessionReport:
        """The session's emotion report as JSON: summary, strongest moments, tracked faces and a
        per-second timeline of emotion shares."""
        return await pools.run("bulk", self.session_report, video, sample_rate)

    @bentoml.api(route="/report/html")
    async def report_html(self, video: Video, sample_rate: SampleRate = video.DEFAULT_RATE,
                          title: Annotated[str, Field(max_length=200)] = "Playtest emotion report",
                          source: Annotated[str, Field(max_length=200, description="What the video is (its file name), for the page")] = "an uploaded video") -> str:
        """The same report as one self-contained HTML page with charts (no script, no external file)."""
        # BentoML sends a Starlette Response as it is: text/html instead of a JSON-encoded string.
        return HTMLResponse(html.render(await pools.run("bulk", self.session_report, video, sample_rate), title, source))

    def session_report(self, path: Path, sample_rate: float) -> dict:
        self.metrics.input_bytes("report", Path(path).stat().st_size)
        try:
            result = session.report(self.analyser, Path(path), sample_rate)
        except video.VideoError as error:
            self.metrics.decode_failure(error.reason)
            raise bentoml.exceptions.InvalidArgument(f"video: {error}") from None
        input_rows("emotion", "report", result["summary"]["sampled_frames"])
        self.metrics.observe("report", {"faces_tracked": [result["summary"]["faces_tracked"]]})
        return {"model_version": self.version, **result}

    def observe(self, endpoint: str, faces: list[FaceEmotions]) -> list[schemas.Face]:
        self.metrics.observe(endpoint, {"faces": [len(faces)], **{f"emotion_{e}": [float(f.emotions[i]) for f in faces]
                                                                  for i, e in enumerate(schemas.EMOTIONS)}})
        return [schemas.Face(**face.as_dict()) for face in faces]


def emotions(probabilities: np.ndarray) -> schemas.Emotions:
    return schemas.Emotions(**{e: round(float(p), 4) for e, p in zip(schemas.EMOTIONS, probabilities)})


guard(Emotion, CONTRACT, {"predict": limits.uploads_limit(schemas.MAX_IMAGES_PER_REQUEST, MAX_IMAGE_BYTES),
                           "stream": limits.uploads_limit(1, MAX_IMAGE_BYTES),
                           "report": limits.uploads_limit(1, video.MAX_BYTES), "report/html": limits.uploads_limit(1, video.MAX_BYTES)})
