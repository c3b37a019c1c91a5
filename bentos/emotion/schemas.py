"""Request limits and response schemas of the emotion service."""

from __future__ import annotations

from pydantic import BaseModel, Field

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
