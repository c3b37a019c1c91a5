"""Input drift: population stability index (PSI) of each feature against the training reference
stored with the model (decile edges and shares, category shares, the missing share), over a
sliding window of the rows a service has seen.

PSI = sum((actual - expected) * ln(actual / expected)) over the bins, missing values being a bin
of their own. Rule of thumb: below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 a major one.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd

EPSILON = 1e-4  # floor for empty bins, so a bin that empties out counts instead of dividing by zero
DEFAULT_WINDOW = 5_000  # rows per feature; small enough to react within minutes of real traffic
MIN_ROWS = 500  # below this a window's PSI is mostly sampling noise (3 rows give PSI > 5)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected = np.clip(np.asarray(expected, dtype=float), EPSILON, None)
    actual = np.clip(np.asarray(actual, dtype=float), EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def reference_shares(reference: dict) -> np.ndarray:
    """The reference's bin shares with the missing share appended as the last bin."""
    return np.append(reference["shares"], reference["missing_share"])


def window_shares(values: pd.Series, reference: dict) -> np.ndarray:
    """Shares of `values` in the reference's bins, the missing share last (as `reference_shares`)."""
    if "edges" in reference:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        present = numbers[~np.isnan(numbers)]
        counts = np.bincount(np.searchsorted(reference["edges"], present, side="right"), minlength=len(reference["edges"]) + 1)
        missing = len(numbers) - len(present)
    else:
        categories = {c: i for i, c in enumerate(reference["categories"])}
        codes = values.map(categories)
        counts = np.bincount(codes.dropna().astype(int), minlength=len(categories))
        missing = int(codes.isna().sum())  # unseen categories count as missing, as the model treats them
    return np.append(counts, missing) / max(len(values), 1)


class DriftWindow:
    """The last `size` rows of each feature and their PSI against the training reference."""

    def __init__(self, reference: dict[str, dict], size: int = DEFAULT_WINDOW, min_rows: int = MIN_ROWS):
        self.reference = reference
        self.min_rows = min(min_rows, size)
        self.rows: dict[str, deque] = {name: deque(maxlen=size) for name in reference}

    def add(self, frame: pd.DataFrame) -> None:
        for name, window in self.rows.items():
            if name in frame.columns:
                window.extend(frame[name].iloc[-window.maxlen :].tolist())

    def psi(self) -> dict[str, float]:
        """PSI per feature over the current window; features with fewer than `min_rows` are left out."""
        return {
            name: psi(reference_shares(self.reference[name]), window_shares(pd.Series(list(window)), self.reference[name]))
            for name, window in self.rows.items()
            if len(window) >= self.min_rows
        }
