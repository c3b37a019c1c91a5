"""The exported classifier under ONNX Runtime: what the service loads (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from training.common.onnx_sessions import cpu_session

INPUT, OUTPUT = "image", "logit"
ONNX_FILE = "model.onnx"


def session(path: Path, threads: int = 0) -> ort.InferenceSession:
    return cpu_session(path, threads, idle_threads_sleep=True)  # the service runs two requests' models at once


def logits(sess: ort.InferenceSession, batch: np.ndarray) -> np.ndarray:
    """(N, 3, S, S) normalised float32 -> (N,) logits."""
    return sess.run([OUTPUT], {INPUT: batch.astype(np.float32, copy=False)})[0][:, 0]


def probability(logit: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logit))
