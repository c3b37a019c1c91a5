"""Analyse image and video files with a stored model, outside the service: `playserve predict emotion`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from training.common.images import ImageError, decode
from training.emotion.serving import session
from training.emotion.serving.analysis import Analyser
from training.common.video import VideoError

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v"}


def predict_files(model_dir: Path, files: list[Path], rate: float) -> Iterator[dict]:
    """Per image one result, per video one per sampled frame (with time_s): path and faces, or
    path and the error."""
    analyser = Analyser(Path(model_dir))
    for path in files:
        try:
            if path.suffix.lower() in VIDEO_SUFFIXES:
                _, _, analysed = session.frames(analyser, path, rate)
                for time_s, faces, tracks in analysed:
                    yield {"path": str(path), "time_s": round(time_s, 3),
                           "faces": [{**f.as_dict(), "track_id": t.id} for f, t in zip(faces, tracks)]}
            else:
                yield {"path": str(path), "faces": [f.as_dict() for f in analyser.faces(np.asarray(decode(path.read_bytes())))]}
        except (ImageError, VideoError) as error:
            yield {"path": str(path), "error": str(error)}
