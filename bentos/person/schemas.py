"""Request limits and response schemas of the person service."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

MAX_IMAGES_PER_REQUEST = 16


class Person(BaseModel):
    box: list[float] = Field(description="[x0, y0, x1, y1] in the image's pixels")
    confidence: float = Field(description="Detector's confidence that this is a person")
    looking: bool = Field(description="A frontal face is visible: the person faces the camera (and the screen)")


class ImagePeople(BaseModel):
    index: int = Field(description="Position of the image in the request")
    count: int = Field(description="People found")
    looking: int = Field(description="Of them, people facing the camera")
    people: list[Person] = Field(description="Most confident first")


class Detections(BaseModel):
    model_version: str
    min_confidence: float
    results: list[ImagePeople]


# The recording's report is built as plain data (training/person/serving/audience.py): TypedDicts
# type it in the OpenAPI document and validate it on the way out, with no object per row.
class VideoSummary(TypedDict):
    duration_s: float
    sampled_frames: int
    sample_rate: Annotated[float, Field(description="Frames analysed per second of video")]
    peak_audience: Annotated[int, Field(description="Most people seen in one sampled frame")]
    average_audience: Annotated[float, Field(description="People per sampled frame, on average")]
    attention_share: Annotated[float, Field(description="Share of person-frames facing the camera")]
    people_tracked: int
    average_dwell_s: float
    people_who_looked: Annotated[int, Field(description="Tracked people who faced the camera at least once")]


class AudienceSecond(TypedDict):
    second: int
    people: Annotated[int, Field(description="Most people seen in one of the second's sampled frames")]
    looking: int


class TrackedPerson(TypedDict):
    id: int
    first_seen_s: float
    last_seen_s: float
    dwell_s: Annotated[float, Field(description="First to last frame the person was tracked in, plus one sampling interval")]
    frames: int
    looking_share: Annotated[float, Field(description="Share of the person's frames facing the camera")]


class VideoReport(TypedDict):
    model_version: str
    summary: VideoSummary
    per_second: list[AudienceSecond]
    people: list[TrackedPerson]
