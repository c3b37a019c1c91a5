"""The exported classifier under ONNX Runtime: what the service loads (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

INPUT, OUTPUT = "image", "logit"
ONNX_FILE = "model.onnx"


def session(path: Path, threads: int = 0) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # 0: ONNX Runtime's default, one per core
    # Idle intra-op threads sleep instead of spinning: the service runs two requests at once beside
    # their decoding on two cores, and spinning threads took the cores the others were waiting for.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def logits(sess: ort.InferenceSession, batch: np.ndarray) -> np.ndarray:
    """(N, 3, S, S) normalised float32 -> (N,) logits."""
    return sess.run([OUTPUT], {INPUT: batch.astype(np.float32, copy=False)})[0][:, 0]


def probability(logit: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logit))
