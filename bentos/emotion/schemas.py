"""Request limits and response schemas of the emotion service."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from training.emotion.serving.expression import EMOTIONS

MAX_IMAGES_PER_REQUEST = 16
SESSION_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"


class Emotions(BaseModel):
    angry: float
    disgust: float
    fear: float
    happy: float
    sad: float
    surprise: float
    neutral: float


Emotion = Literal[EMOTIONS]  # type: ignore[valid-type]


class Face(BaseModel):
    box: list[int] = Field(description="[x0, y0, x1, y1] in the image's pixels")
    confidence: float = Field(description="Face detector's confidence")
    emotions: Emotions = Field(description="Probabilities of the seven emotions (sum to 1)")
    dominant: str = Field(description=f"The most probable emotion, one of {', '.join(EMOTIONS)}")


class ImageFaces(BaseModel):
    index: int = Field(description="Position of the image in the request")
    faces: list[Face] = Field(description="Most confident first; empty when no face is found")


class ImageResults(BaseModel):
    model_version: str
    results: list[ImageFaces]


class TrackedFace(Face):
    track_id: int = Field(description="The same face keeps its id across the session's frames")
    smoothed: Emotions = Field(description="Emotions smoothed over the face's recent frames (steadier for live views)")


class StreamFrame(BaseModel):
    model_version: str
    session_id: str
    frame: int
    time_s: float = Field(description="Seconds since the session's first frame reached the service")
    faces: list[TrackedFace]


# The session report is built as plain data (training/emotion/serving/report.py): TypedDicts type it
# in the OpenAPI document and validate it on the way out, with no object per second.
class ReportSummary(TypedDict):
    duration_s: float
    sample_rate: float
    sampled_frames: int
    frames_with_face: int
    face_observations: int
    seconds_with_face: int
    share_of_time_with_face: float
    faces_tracked: int
    emotions: Annotated[Optional[Emotions], Field(description="Shares over every face observation; null without a face")]
    dominant: Optional[Emotion]
    dominant_excluding_neutral: Optional[Emotion]


class Moment(TypedDict):
    """One continuous reaction: consecutive seconds led by one emotion."""
    number: Annotated[int, Field(description="1, 2, ... in time order, as the HTML page's markers")]
    rank: Annotated[int, Field(description="1 for the strongest")]
    start_s: int
    end_s: Annotated[int, Field(description="The second after its last")]
    emotion: Emotion
    peak_s: Annotated[int, Field(description="The second of its peak")]
    intensity: Annotated[float, Field(description="At its peak: 1 - the neutral share")]
    share: Annotated[float, Field(description="The emotion's share, on average over its seconds")]


class TrackSummary(TypedDict):
    id: int
    first_s: float
    last_s: float
    frames: int
    emotions: Emotions
    dominant: Emotion


class Second(TypedDict):
    second: int
    faces: Annotated[float, Field(description="Faces seen, on average over the second's samples")]
    shares: Annotated[Optional[Emotions], Field(description="Emotion shares in the second; null without a face")]


class SessionReport(TypedDict):
    model_version: str
    summary: ReportSummary
    moments: Annotated[list[Moment], Field(description="The strongest reactions (at most 5), in time order")]
    tracks: list[TrackSummary]
    timeline: Annotated[list[Second], Field(description="One entry per second of video")]


class StreamSummary(BaseModel):
    model_version: str
    session_id: str
    frames: int = Field(description="Frames analysed in the session")
    duration_s: float = Field(description="Seconds from its first frame to its last")
    tracks: list[TrackSummary]
