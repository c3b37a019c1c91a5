"""Attention: whether a detected person's face is turned to the camera (and so to the screen the
camera sits on). A frontal face found in the top of the person's box counts as looking; a back,
a profile or a head turned down does not. The face detector is the res10 SSD the emotion model
uses (training/common/faces.py)."""

from __future__ import annotations

import numpy as np

from training.common.faces import FaceDetector

HEAD_MARGIN = 0.1   # of the box's width, added around the head region: boxes cut the top of heads


def head_region(box, width: int, height: int) -> tuple[int, int, int, int]:
    """The top of a person's box, as tall as the box is wide (the head and shoulders of a standing
    person, most of a close-up), with a margin, clipped to the image."""
    x0, y0, x1, y1 = box
    side = x1 - x0
    margin = HEAD_MARGIN * side
    return (max(0, int(x0 - margin)), max(0, int(y0 - margin)),
            min(width, int(x1 + margin)), min(height, int(y0 + min(side, y1 - y0) + margin)))


def looking(faces: FaceDetector, rgb: np.ndarray, box) -> bool:
    x0, y0, x1, y1 = head_region(box, rgb.shape[1], rgb.shape[0])
    if x1 - x0 < 8 or y1 - y0 < 8:
        return False
    return bool(faces.detect(np.ascontiguousarray(rgb[y0:y1, x0:x1])))
