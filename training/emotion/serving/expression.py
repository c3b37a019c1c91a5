"""A face box -> the expression model's input, identically in training and serving, and the
ONNX Runtime session the service runs it with (no TensorFlow needed to serve).

The model is the `fer` package's (MIT): 64x64 grey faces scaled to [-1, 1], seven emotions in
the FER-2013 order."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from training.common.onnx_sessions import cpu_session

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
INPUT_SIZE = 64
# The face box is squared and grown by this share of its side on each side before cropping: the
# expression model saw faces with some forehead and chin (fer grows its boxes by 10 px).
MARGIN = 0.1
ONNX_FILE, KERAS_FILE = "expression.onnx", "expression.keras"


def crop(gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """uint8 (H, W) grey image and a face box -> uint8 (INPUT_SIZE, INPUT_SIZE) face; parts of the
    squared box outside the image repeat its edge pixels."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1 + 2 * MARGIN)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    size = max(1, int(round(side)))
    height, width = gray.shape
    pad = max(0, -left, -top, left + size - width, top + size - height)
    if pad:
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    face = gray[top + pad:top + pad + size, left + pad:left + pad + size]
    return cv2.resize(face, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)


def normalise(faces: np.ndarray) -> np.ndarray:
    """uint8 (N, 64, 64) -> float32 (N, 64, 64, 1) in [-1, 1], as the model was trained."""
    return (faces.astype(np.float32)[..., None] / 255.0 - 0.5) * 2.0


def session(path: Path, threads: int = 0) -> ort.InferenceSession:
    return cpu_session(path, threads)


def probabilities(sess: ort.InferenceSession, faces: np.ndarray) -> np.ndarray:
    """uint8 (N, 64, 64) faces -> (N, 7) probabilities in EMOTIONS order."""
    if not len(faces):
        return np.zeros((0, len(EMOTIONS)), np.float32)
    name = sess.get_inputs()[0].name
    return sess.run(None, {name: normalise(faces)})[0]
