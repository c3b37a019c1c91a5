"""The whole scorer (raw features to score, per-feature errors and reward residual) as one ONNX graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from training.abuse.model import AbuseNet, predict
from training.abuse.serving.scorer import INPUT, OUTPUTS, session

OPSET = 17
MAX_SCORE_DIFFERENCE = 1e-4  # relative to the score's scale (1 + |score|)


def to_onnx(net: AbuseNet, path: Path) -> Path:
    dummy = torch.zeros(2, len(net.center))
    torch.onnx.export(net, (dummy,), str(path), dynamo=False, input_names=[INPUT], output_names=list(OUTPUTS),
                      dynamic_axes={name: {0: "batch"} for name in (INPUT, *OUTPUTS)}, opset_version=OPSET)
    return path


def parity(net: AbuseNet, path: Path, features: np.ndarray) -> dict:
    """Largest relative difference of each output between PyTorch and ONNX Runtime on real rows."""
    ours = predict(net, features)
    theirs = session(path).run(list(OUTPUTS), {INPUT: np.asarray(features, np.float32)})
    return {name: float(np.max(np.abs(a - b) / (1 + np.abs(a)))) for name, a, b in zip(OUTPUTS, ours, theirs)}
