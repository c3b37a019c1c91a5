"""Videos made of real photos, for tests and benchmarks: each photo shown for a stretch of the
script, with a slow drift so consecutive frames differ as a camera's do."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

CODECS = {".mp4": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "mp4v", ".webm": "VP80"}


def write(path: Path, seconds: float, scenes: dict[str, np.ndarray], script, fps: float = 10) -> Path:
    """Write a video of `seconds` at `fps` to `path` (.mp4, .mov, .avi, .mkv or .webm): `script` is
    (scene, seconds) pairs looped until the end, `scenes` the RGB frames by name, all one size."""
    height, width = next(iter(scenes.values())).shape[:2]
    bgr = {name: cv2.cvtColor(image, cv2.COLOR_RGB2BGR) for name, image in scenes.items()}
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*CODECS[Path(path).suffix]), fps, (width, height))
    for index in range(int(round(seconds * fps))):
        shift = np.float32([[1, 0, 4 * np.sin(index / fps)], [0, 1, 3 * np.cos(index / fps)]])
        scene = bgr[scene_at(index / fps, script)]
        writer.write(cv2.warpAffine(scene, shift, (width, height), borderMode=cv2.BORDER_REPLICATE))
    writer.release()
    return Path(path)


def scene_at(second: float, script) -> str:
    """Which scene the script shows at `second`."""
    t = second % sum(length for _, length in script)
    for name, length in script:
        if t < length:
            return name
        t -= length
    return script[-1][0]


def fit(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """The photo scaled to fit width x height (aspect kept) and centred on black, as a camera frame."""
    scale = min(width / rgb.shape[1], height / rgb.shape[0])
    resized = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    frame = np.zeros((height, width, 3), np.uint8)
    y, x = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    frame[y:y + resized.shape[0], x:x + resized.shape[1]] = resized
    return frame
