"""PyTorch -> ONNX for serving with ONNX Runtime, and the parity check that proves the two agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.wallhack.serving.onnx_model import INPUT, OUTPUT, logits, session
from training.wallhack.serving.preprocess import INPUT_SIZE

OPSET = 17


def export(net: nn.Module, path: Path) -> Path:
    """The network as ONNX with a dynamic batch dimension: (N, 3, S, S) normalised -> (N, 1) logits."""
    net.eval()
    dummy = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
    # The TorchScript exporter: exact for this convolutional net and needs no onnxscript.
    torch.onnx.export(net, (dummy,), str(path), dynamo=False, input_names=[INPUT], output_names=[OUTPUT],
                      dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}}, opset_version=OPSET)
    return path


def max_abs_difference(net: nn.Module, path: Path, batch: np.ndarray) -> float:
    """Largest |PyTorch logit - ONNX Runtime logit| over a batch of real model inputs."""
    net.eval()
    with torch.inference_mode():
        expected = net(torch.from_numpy(batch)).squeeze(1).numpy()
    return float(np.abs(expected - logits(session(path), batch)).max())
