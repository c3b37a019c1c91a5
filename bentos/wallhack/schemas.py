"""Response schemas of the wallhack service."""

from __future__ import annotations

from pydantic import BaseModel, Field

MAX_IMAGES_PER_REQUEST = 64


class Explanation(BaseModel):
    grid: int = Field(description="The heat map is grid x grid cells over the letterboxed image")
    heat: list[list[float]] = Field(description="Drop in the log-odds of a wallhack when each cell is hidden; high = drove the decision")
    region: list[int] = Field(description="The strongest cell as [x0, y0, x1, y1] in the uploaded image's pixels")


class Verdict(BaseModel):
    index: int = Field(description="Position of the image in the request")
    probability: float = Field(description="Probability that the screenshot shows a wallhack / ESP overlay")
    wallhack: bool = Field(description="probability >= threshold")
    explanation: Explanation | None = None


class Verdicts(BaseModel):
    model_version: str
    threshold: float
    results: list[Verdict]
