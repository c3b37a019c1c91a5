"""ONNX Runtime sessions as the serving code opens them: on the CPU, one intra-op thread per core
unless told otherwise."""

from __future__ import annotations

from pathlib import Path

from training.common.lazy import lazy

ort = lazy("onnxruntime")


def cpu_session(path: Path, threads: int = 0, idle_threads_sleep: bool = False) -> ort.InferenceSession:
    """`idle_threads_sleep` for a service that runs two requests' models at once beside their
    decoding on two cores: ONNX Runtime's intra-op threads spin between runs by default, and took
    the cores the others were waiting for (wallhack: 49 -> 54-58 screenshots/s at 8 clients)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # 0: ONNX Runtime's default, one per core
    if idle_threads_sleep:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
