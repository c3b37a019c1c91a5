"""The one door to TensorFlow and Keras: `from training.common.keras_runtime import keras, tensorflow`.

TensorFlow reads its settings once, when it is first imported, so they are made here, before that:

- oneDNN off (`TF_ENABLE_ONEDNN_OPTS=0`). TensorFlow 2.21 bundles oneDNN 3.7.3, whose AVX-512
  `jit_1x1` backward-weights kernel writes past its workspace for a strided 1x1 convolution with
  fewer than 16 input channels in NHWC (uxlfoundation/oneDNN#6035). fer's expression model has one
  (its first residual shortcut, 8 -> 16 channels, stride 2), so fine-tuning it crashed with SIGSEGV
  on every CPU with AVX-512; the AVX2 kernel has the same fault below 8 channels. TensorFlow's own
  Eigen kernels are used instead; what that costs is measured by `load/bench_keras.py`.
- TensorFlow's start-up banner off (`TF_CPP_MIN_LOG_LEVEL=2`).

A setting the user made in the environment is kept. Serving never comes here: the emotion service
runs the exported ONNX model under ONNX Runtime."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import MutableMapping

SETTINGS = {
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def configure(environ: MutableMapping[str, str]) -> dict[str, str]:
    """Put each setting the environment does not already have; returns the settings in force."""
    for name, value in SETTINGS.items():
        environ.setdefault(name, value)
    return {name: environ[name] for name in SETTINGS}


def onednn_in_use() -> bool:
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


def _refuse_a_tensorflow_imported_before() -> None:
    """Imported first, TensorFlow has read its environment already (it may be running oneDNN against
    the user's wishes) and has loaded its LLVM before triton could load its own (below): failing
    here names the cause instead of a segfault later. Refused whatever TensorFlow chose: on a CPU
    where its choice happened to match, the triton import then crashed the process."""
    raise ImportError("tensorflow was imported before training.common.keras_runtime, so its settings "
                      f"({', '.join(SETTINGS)}) could not be made; import keras from training.common.keras_runtime")


configure(os.environ)
if "tensorflow" in sys.modules:
    _refuse_a_tensorflow_imported_before()
# TensorFlow 2.20+ wheels load their LLVM into the global symbol table, and a later `import triton`
# (torch does it on importing torchvision, torch._dynamo and more) then crashes the process with
# SIGSEGV (tensorflow/tensorflow#124205). Loaded first, triton keeps its own LLVM; tests, notebooks
# and benchmarks that use both the wallhack (torch) and emotion (Keras) code stay alive.
if importlib.util.find_spec("triton"):
    import triton  # noqa: F401

import keras  # noqa: E402
import tensorflow  # noqa: E402

__all__ = ["SETTINGS", "configure", "keras", "onednn_in_use", "tensorflow"]
