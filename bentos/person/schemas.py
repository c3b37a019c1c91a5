"""Request limits and response schemas of the person service."""

from __future__ import annotations

from pydantic import BaseModel, Field

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
