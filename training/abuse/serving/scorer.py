"""Scoring with the exported scorer in ONNX Runtime (service and CLI; no PyTorch): score,
percentile among the training windows, flag, the features that contributed most, reward residual."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.abuse.serving.features import InputError
from training.common.lazy import lazy
from training.common.onnx_sessions import cpu_session

ort = lazy("onnxruntime")
pd = lazy("pandas")

INPUT = "features"
OUTPUTS = ("score", "errors", "residual")
ONNX_FILE, SPEC_FILE = "scorer.onnx", "scorer.json"
FLAG_PERCENTILE = 99.0   # flag the top 1% for review unless the caller says otherwise
TOP_FEATURES = 3


def session(path: Path, threads: int = 0) -> ort.InferenceSession:
    return cpu_session(path, threads)


@dataclass(frozen=True)
class Spec:
    features: list[str]
    gain: str | None            # the column the reward model judges; None: autoencoder only
    context: list[str]
    score_quantiles: list[float]  # the training windows' scores at percentiles 0, 0.1, ..., 100

    def save(self, directory: Path) -> None:
        (directory / SPEC_FILE).write_text(json.dumps(self.__dict__, indent=1))

    @classmethod
    def load(cls, directory: Path) -> Spec:
        return cls(**json.loads((directory / SPEC_FILE).read_text()))


@dataclass(frozen=True)
class Scores:
    score: np.ndarray
    percentile: np.ndarray
    errors: np.ndarray       # per window and feature, the autoencoder's error / what normal windows show
    residual: np.ndarray     # actual gain minus fair gain (0 without a reward model)


def quantiles(scores: np.ndarray) -> list[float]:
    return np.quantile(scores, np.linspace(0, 1, 1001)).tolist()


def percentile(score: np.ndarray, score_quantiles: Sequence[float] | np.ndarray) -> np.ndarray:
    """Share of the training windows (in %) that scored lower."""
    quantiles = np.asarray(score_quantiles, dtype=float)
    return np.interp(score, quantiles, percent_levels(len(quantiles)))


@functools.cache
def percent_levels(count: int) -> np.ndarray:
    """0 to 100 in `count` steps; made once, as the quantile list as an array (one window's score
    costs less than building either)."""
    return np.linspace(0, 100, count)


def matrix(table: pd.DataFrame, features: list[str]) -> np.ndarray:
    """The model's features from a table, or InputError naming the first missing or bad column."""
    for name in features:
        if name not in table.columns:
            raise InputError(name, "missing column")
        values = pd.to_numeric(table[name], errors="coerce").to_numpy(float)
        if not np.isfinite(values).all():
            raise InputError(name, "must be a finite number in every row")
    return table[features].to_numpy(np.float32)


class Scorer:
    def __init__(self, directory: Path, threads: int = 0):
        self.spec = Spec.load(Path(directory))
        self.session = session(Path(directory) / ONNX_FILE, threads)
        self.score_quantiles = np.asarray(self.spec.score_quantiles, dtype=float)
        self.feature_names = np.asarray(self.spec.features, dtype=object)

    def score(self, features: np.ndarray) -> Scores:
        score, errors, residual = self.session.run(list(OUTPUTS), {INPUT: np.asarray(features, np.float32)})
        return Scores(score, percentile(score, self.score_quantiles), errors, residual)

    def top_features(self, errors: np.ndarray, n: int = TOP_FEATURES) -> tuple[list[list[str]], np.ndarray]:
        """Per window, the names of the n features with the largest share of the autoencoder's error,
        and those shares (windows x n), largest first."""
        shares = errors / np.maximum(errors.sum(axis=1, keepdims=True), 1e-12)
        order = np.argsort(-shares, axis=1)[:, :n]
        return self.feature_names[order].tolist(), np.take_along_axis(shares, order, axis=1).astype(float)
