"""Detect people in image and video files with a stored model, outside the service: `playserve predict person`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from training.common import video
from training.common.images import ImageError, decode
from training.person.serving import audience

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v"}


def result(viewers: list) -> dict:
    return {"count": len(viewers), "looking": sum(v.looking for v in viewers), "people": [v.as_dict() for v in viewers]}


def predict_files(model_dir: Path, files: list[Path], rate: float) -> Iterator[dict]:
    """Per image one result, per video one per sampled frame (with time_s and track ids): path,
    count, looking and people, or path and the error."""
    people = audience.Audience(Path(model_dir))
    for path in files:
        try:
            if path.suffix.lower() in VIDEO_SUFFIXES:
                _, _, frames = audience.tracked(people, path, rate)
                for time_s, viewers, tracks in frames:
                    row = result(viewers)
                    for person, track in zip(row["people"], tracks):
                        person["track_id"] = track.id
                    yield {"path": str(path), "time_s": round(time_s, 3), **row}
            else:
                yield {"path": str(path), **result(people.frames([np.asarray(decode(path.read_bytes()))])[0])}
        except (ImageError, video.VideoError) as error:
            yield {"path": str(path), "error": str(error)}
