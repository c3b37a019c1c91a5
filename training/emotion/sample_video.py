"""Session videos made of real photos, for tests and benchmarks: scikit-image's astronaut (one
smiling face), an empty scene (no face) and the cameraman (one face), each shown for a stretch,
with a slow drift so consecutive frames differ as a webcam's do."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from training.emotion.real_faces import photos

# (photo, seconds) per scene of the default script, looped until `seconds`; the faceless scenes
# between faces are longer than the tracker's gap, so each appearance is a track of its own.
SCRIPT = (("astronaut", 4), ("coffee", 2), ("camera", 4), ("coffee", 2))
CODECS = {".mp4": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "mp4v", ".webm": "VP80"}


def write(path: Path, seconds: float, fps: float = 10, size: int = 320, script=SCRIPT) -> Path:
    """Write a video of `seconds` at `fps` to `path` (.mp4, .mov, .avi, .mkv or .webm)."""
    scenes = {p.name: cv2.cvtColor(cv2.resize(p.rgb, (size, size)), cv2.COLOR_RGB2BGR) for p in photos()}
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*CODECS[Path(path).suffix]), fps, (size, size))
    period = sum(length for _, length in script)
    for index in range(int(round(seconds * fps))):
        t = (index / fps) % period
        for name, length in script:
            if t < length:
                break
            t -= length
        shift = np.float32([[1, 0, 4 * np.sin(index / fps)], [0, 1, 3 * np.cos(index / fps)]])
        writer.write(cv2.warpAffine(scenes[name], shift, (size, size), borderMode=cv2.BORDER_REPLICATE))
    writer.release()
    return Path(path)


def scene_at(second: float, script=SCRIPT) -> str:
    """Which photo the default script shows at `second`."""
    t = second % sum(length for _, length in script)
    for name, length in script:
        if t < length:
            return name
        t -= length
    return script[-1][0]
