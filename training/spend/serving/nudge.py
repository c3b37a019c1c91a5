"""Nudge effect: actual spend minus the model's un-nudged counterfactual.

For nudged users the average of (actual - predicted) estimates the nudge's effect; the same
average over control users is a placebo and should be ~0. Their difference removes whatever
bias the model has on this population. Intervals are percentile bootstraps of the mean.
"""

from __future__ import annotations

import numpy as np

BOOTSTRAP_SAMPLES = 1_000
CONFIDENCE = 0.95
_BLOCK = 50  # bootstrap replicates drawn at once: bounds memory at ~50 x n indices


def bootstrap_means(values: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``samples`` resamples of ``values`` with replacement."""
    n = len(values)
    means = np.empty(samples)
    for start in range(0, samples, _BLOCK):
        stop = min(start + _BLOCK, samples)
        means[start:stop] = values[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    return means


def _interval(means: np.ndarray) -> list[float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    return [float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))]


def _summary(uplift: np.ndarray, means: np.ndarray) -> dict:
    return {"users": int(len(uplift)), "average": float(uplift.mean()), "ci95": _interval(means)}


def nudge_effect(actual: np.ndarray, predicted: np.ndarray, nudged: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> dict:
    """Per-user uplift and the nudged / placebo / bias-adjusted averages with 95% intervals.

    Needs at least two users in each group.
    """
    actual, predicted, nudged = np.asarray(actual, float), np.asarray(predicted, float), np.asarray(nudged, bool)
    for name, group in (("nudged", nudged), ("control", ~nudged)):
        if group.sum() < 2:
            raise ValueError(f"group: need at least 2 {name} users, got {int(group.sum())}")
    uplift = actual - predicted
    rng = np.random.default_rng(seed)
    treated, placebo = uplift[nudged], uplift[~nudged]
    treated_means = bootstrap_means(treated, samples, rng)
    placebo_means = bootstrap_means(placebo, samples, rng)
    return {
        "uplift": uplift,
        "nudged": _summary(treated, treated_means),
        "control_placebo": _summary(placebo, placebo_means),
        "bias_adjusted": {
            "average": float(treated.mean() - placebo.mean()),
            "ci95": _interval(treated_means - placebo_means),
        },
        "bootstrap_samples": samples,
    }
