"""The baseline a rule-writer would start from: ESP overlays are saturated, bright, thin, straight
lines and flat colour; count those per region and let a gradient-boosted tree weigh them."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
from PIL import Image

HUE_BINS = 12
GRID = 3


def features(pixels: np.ndarray) -> np.ndarray:
    """uint8 (N, S, S, 3) -> (N, features): hue histogram of vivid pixels, vivid share and edge
    density per grid cell, and long horizontal / vertical runs of vivid pixels (box sides)."""
    return np.stack([_one(p) for p in pixels])


def _one(rgb: np.ndarray) -> np.ndarray:
    hsv = np.asarray(Image.fromarray(rgb).convert("HSV"), np.float32) / 255.0
    vivid = (hsv[..., 1] > 0.55) & (hsv[..., 2] > 0.55)
    hues = np.histogram(hsv[..., 0][vivid], bins=HUE_BINS, range=(0, 1))[0] / vivid.size
    grey = rgb.mean(axis=2)
    edges = (np.abs(np.diff(grey, axis=0))[:, :-1] + np.abs(np.diff(grey, axis=1))[:-1]) > 40
    cells = [(vivid, 1), (edges, 0)]
    size = rgb.shape[0] // GRID
    grid = [mask[r * size:(r + 1) * size, c * size:(c + 1) * size].mean() for mask, _ in cells for r in range(GRID) for c in range(GRID)]
    runs = [_long_runs(vivid), _long_runs(vivid.T)]
    return np.concatenate([hues, grid, runs, [vivid.mean(), edges.mean()]]).astype(np.float32)


def _long_runs(mask: np.ndarray, length: int = 12) -> float:
    """Rows' runs of at least `length` vivid pixels: the sides of boxes and health bars."""
    padded = np.pad(mask.astype(np.int8), ((0, 0), (1, 1)))
    changes = np.diff(padded, axis=1)
    starts, stops = np.nonzero(changes == 1), np.nonzero(changes == -1)
    return float(((stops[1] - starts[1]) >= length).sum())


class EdgeColourBaseline:
    def __init__(self) -> None:
        self.model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05, num_leaves=15, verbose=-1)

    def fit(self, pixels: np.ndarray, labels: np.ndarray) -> EdgeColourBaseline:
        self.model.fit(features(pixels), labels)
        return self

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(features(pixels))[:, 1]
