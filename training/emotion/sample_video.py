"""Session videos made of real photos, for tests and benchmarks: scikit-image's astronaut (one
smiling face), an empty scene (no face) and the cameraman (one face), each shown for a stretch."""

from __future__ import annotations

from pathlib import Path

import cv2

from training.common import sample_video
from training.emotion.real_faces import photos

# (photo, seconds) per scene, looped until the end; the faceless scenes between faces are longer
# than the tracker's gap, so each appearance is a track of its own.
SCRIPT = (("astronaut", 4), ("coffee", 2), ("camera", 4), ("coffee", 2))


def write(path: Path, seconds: float, fps: float = 10, size: int = 320) -> Path:
    """Write a square session video of `seconds` at `fps` to `path` (.mp4, .mov, .avi, .mkv or .webm)."""
    scenes = {p.name: cv2.resize(p.rgb, (size, size)) for p in photos() if p.name in dict(SCRIPT)}
    return sample_video.write(path, seconds, scenes, SCRIPT, fps)


def scene_at(second: float) -> str:
    """Which photo the script shows at `second`."""
    return sample_video.scene_at(second, SCRIPT)
