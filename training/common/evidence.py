"""Whether one model beats another on held-out rows by more than chance: a paired bootstrap.

Both models are scored on the same resampled rows in each of `samples` draws, so what varies
is only which rows were held out, the noise a retraining on new data would see. A margin counts
as evidence when its 95% interval excludes zero: a gate built on it does not flip between seeds
that differ by a fraction of a percent (the spend gate used to refuse a model 0.07% worse than a
baseline and pass the next seed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray], float]  # (y, prediction) -> value
SAMPLES = 1_000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Margin:
    """How much better `ours` is than `theirs` on `metric`, relative to theirs (0.05: 5% better),
    with its bootstrap interval. Positive is better whichever way the metric points."""

    metric: str
    ours: float
    theirs: float
    margin: float
    low: float
    high: float

    @property
    def better(self) -> bool:
        """Significantly better: the whole interval above zero."""
        return self.low > 0

    @property
    def worse(self) -> bool:
        """Significantly worse: the whole interval below zero."""
        return self.high < 0

    def to_dict(self) -> dict:
        return asdict(self) | {"better": self.better, "worse": self.worse}

    def describe(self) -> str:
        return describe(asdict(self))


def describe(margin: dict) -> str:
    """A margin (as `Margin.to_dict` writes it into a report) in words."""
    return f"{margin['metric']} {margin['margin']:+.2%} (95% interval {margin['low']:+.2%} to {margin['high']:+.2%})"


def relative_gain(ours: float, theirs: float, lower_is_better: bool) -> float:
    gain = (theirs - ours) if lower_is_better else (ours - theirs)
    return gain / abs(theirs) if theirs else float("nan")


def paired_bootstrap(y: np.ndarray, ours: np.ndarray, others: dict[str, np.ndarray], metric: Metric, name: str,
                     lower_is_better: bool, samples: int = SAMPLES, seed: int = 0) -> dict[str, Margin]:
    """The margin of `ours` over each of `others` on all rows, and its interval over `samples`
    resamples (the same rows for every comparison)."""
    y, ours = np.asarray(y), np.asarray(ours)
    others = {key: np.asarray(value) for key, value in others.items()}
    rng = np.random.default_rng(seed)
    gains = {key: np.empty(samples) for key in others}
    for i in range(samples):
        rows = rng.integers(0, len(y), len(y))
        y_rows = y[rows]
        score = metric(y_rows, ours[rows])
        for key, theirs in others.items():
            gains[key][i] = relative_gain(score, metric(y_rows, theirs[rows]), lower_is_better)
    tail = (1 - CONFIDENCE) / 2
    point = metric(y, ours)
    result = {}
    for key, theirs in others.items():
        low, high = np.nanquantile(gains[key], [tail, 1 - tail])
        point_theirs = metric(y, theirs)
        result[key] = Margin(name, float(point), float(point_theirs), relative_gain(point, point_theirs, lower_is_better),
                             float(low), float(high))
    return result
