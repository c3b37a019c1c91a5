"""PyTorch -> ONNX for serving with ONNX Runtime, and the parity check that proves the two agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from training.wallhack.preprocess import INPUT_SIZE

INPUT, OUTPUT = "image", "logit"
OPSET = 17


def export(net: nn.Module, path: Path) -> Path:
    """The network as ONNX with a dynamic batch dimension: (N, 3, S, S) normalised -> (N, 1) logits."""
    net.eval()
    dummy = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
    # The TorchScript exporter: exact for this convolutional net and needs no onnxscript.
    torch.onnx.export(net, (dummy,), str(path), dynamo=False, input_names=[INPUT], output_names=[OUTPUT],
                      dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}}, opset_version=OPSET)
    return path


def session(path: Path, threads: int = 0) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # 0: ONNX Runtime's default, one per core
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_logits(sess: ort.InferenceSession, batch: np.ndarray) -> np.ndarray:
    return sess.run([OUTPUT], {INPUT: batch.astype(np.float32)})[0][:, 0]


def max_abs_difference(net: nn.Module, path: Path, batch: np.ndarray) -> float:
    """Largest |PyTorch logit - ONNX Runtime logit| over a batch of real model inputs."""
    net.eval()
    with torch.inference_mode():
        expected = net(torch.from_numpy(batch)).squeeze(1).numpy()
    return float(np.abs(expected - onnx_logits(session(path), batch)).max())
