"""The exported YOLO person detector under ONNX Runtime: what the service runs (no torch, no
ultralytics). Letterbox in, class-agnostic NMS out, boxes in the original image's pixels.

The letterbox is ultralytics' LetterBox with `auto=False, center=False`: the image scaled to fit
640x640 and placed at the top left on grey. One fixed shape stacks frames of any size into one
batch; on the real photos it keeps the 4th person on bus.jpg (confidence 0.52) that the centred
square letterbox loses (0.31), as ultralytics' own rectangular letterbox does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from training.common.onnx_sessions import cpu_session

ONNX_FILE = "model.onnx"
SIZE = 640
PAD_VALUE = 114                 # ultralytics' letterbox grey
# Chosen on the real photos in training/person/photos.py (the only labelled people offline): from
# 0.4 to 0.5 the detector counts bus.jpg's 4 and zidane.jpg's 2 exactly; the lowest true person is
# at 0.46 (zidane.jpg), the strongest false one at 0.68 (a cat's face).
MIN_CONFIDENCE = 0.4
NMS_IOU = 0.7                   # ultralytics' default
MAX_DETECTIONS = 300


@dataclass(frozen=True)
class Letterboxed:
    canvas: np.ndarray          # uint8 (SIZE, SIZE, 3) RGB
    scale: float                # canvas pixels per original pixel
    width: int                  # the original image's size
    height: int


def letterbox(rgb: np.ndarray, size: int = SIZE) -> Letterboxed:
    """uint8 (H, W, 3) RGB -> the image scaled to fit `size` (aspect kept) at the top left of a grey square."""
    height, width = rgb.shape[:2]
    scale = min(size / height, size / width)
    new_w, new_h = round(width * scale), round(height * scale)
    canvas = np.full((size, size, 3), PAD_VALUE, np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR) if (new_w, new_h) != (width, height) else rgb
    return Letterboxed(canvas, scale, width, height)


def to_tensor(canvases: np.ndarray) -> np.ndarray:
    """uint8 (N, S, S, 3) -> float32 (N, 3, S, S) in [0, 1], the network's input."""
    return np.ascontiguousarray(canvases.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def session(path: Path, threads: int = 0) -> ort.InferenceSession:
    return cpu_session(path, threads, idle_threads_sleep=True)  # the service runs two requests' models at once


def raw(sess: ort.InferenceSession, canvases: np.ndarray) -> np.ndarray:
    """uint8 canvases (N, S, S, 3) -> the network's output (N, 4 + classes, anchors): cx, cy, w, h
    in canvas pixels, then one sigmoid score per class."""
    return sess.run(None, {sess.get_inputs()[0].name: to_tensor(canvases)})[0]


def people(output: np.ndarray, min_confidence: float = MIN_CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """One image's output (4 + classes, anchors) -> boxes (K, 4) x0 y0 x1 y1 on the canvas and
    confidences (K,), most confident first. Every class is a person (the packaged weights tell
    "normal" from "fall"), so a box's confidence is its best class and NMS ignores classes."""
    scores = output[4:].max(axis=0)
    keep = scores >= min_confidence
    cx, cy, w, h = output[:4, keep]
    scores = scores[keep]
    corners = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)
    chosen = cv2.dnn.NMSBoxes(corners.tolist(), scores.tolist(), min_confidence, NMS_IOU, top_k=MAX_DETECTIONS)
    chosen = np.asarray(chosen, dtype=int).reshape(-1)
    boxes = corners[chosen].copy()
    boxes[:, 2:] += boxes[:, :2]
    return boxes, scores[chosen]


def to_image(boxes: np.ndarray, box: Letterboxed) -> np.ndarray:
    """Canvas boxes -> the original image's pixels, clipped to it."""
    scaled = boxes / box.scale
    return np.clip(scaled, 0, [box.width, box.height, box.width, box.height])


@dataclass(frozen=True)
class Person:
    box: tuple[float, float, float, float]   # x0, y0, x1, y1 in the image's pixels
    confidence: float


def detections(output: np.ndarray, box: Letterboxed, min_confidence: float = MIN_CONFIDENCE) -> list[Person]:
    boxes, scores = people(output, min_confidence)
    return [Person(tuple(round(float(v), 1) for v in b), round(float(s), 4)) for b, s in zip(to_image(boxes, box), scores)]


class PersonDetector:
    """Letterbox, ONNX Runtime, NMS: images in, people out, on one thread (the CLI, benchmarks,
    video reports). The service runs the same steps on threads of their own, one frame per model call."""

    def __init__(self, path: Path, min_confidence: float = MIN_CONFIDENCE):
        self.session = session(path)
        self.min_confidence = min_confidence

    def detect(self, images: list[np.ndarray], run=raw) -> list[list[Person]]:
        """`run(session, canvases)` is the network's call (the service's takes a model thread)."""
        boxed = [letterbox(image) for image in images]
        outputs = run(self.session, np.stack([b.canvas for b in boxed]))
        return [detections(output, b, self.min_confidence) for output, b in zip(outputs, boxed)]
