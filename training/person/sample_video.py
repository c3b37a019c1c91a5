"""Ad-camera videos made of real photos, for tests and benchmarks: ultralytics' bus.jpg (4 people),
an empty scene and zidane.jpg (2 people), each shown for a stretch in a 640x480 frame."""

from __future__ import annotations

from pathlib import Path

from training.common import sample_video
from training.person import photos

# (photo, seconds) per scene, looped until the end; the empty scenes are longer than the tracker's
# gap, so each appearance is a track of its own.
SCRIPT = (("bus", 4), ("coffee", 3), ("zidane", 4), ("coffee", 3))
WIDTH, HEIGHT = 640, 480


def write(path: Path, seconds: float, fps: float = 10) -> Path:
    scenes = {name: sample_video.fit(photos.load(name), WIDTH, HEIGHT) for name in dict(SCRIPT)}
    return sample_video.write(path, seconds, scenes, SCRIPT, fps)


def scene_at(second: float) -> str:
    return sample_video.scene_at(second, SCRIPT)


def people_at(second: float) -> int:
    return photos.PEOPLE[scene_at(second)]
