"""Input drift: population stability index (PSI) of each feature against the training reference
stored with the model (decile edges and shares, category shares, the missing share), over a
sliding window of the rows a service has seen.

PSI = sum((actual - expected) * ln(actual / expected)) over the bins, missing values being a bin
of their own. Rule of thumb: below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 a major one.
"""

from __future__ import annotations

import atexit
import operator
import os
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from training.common.lazy import lazy

pd = lazy("pandas")

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


def window_shares(values: pd.Series | Sequence, reference: dict) -> np.ndarray:
    """Shares of `values` in the reference's bins, the missing share last (as `reference_shares`)."""
    return window_counts(values, reference) / max(len(values), 1)


def window_counts(values: pd.Series | Sequence, reference: dict) -> np.ndarray:
    """How many of `values` fall in each of the reference's bins, the missing ones last."""
    if "edges" in reference:
        numbers = as_numbers(values)
        present = numbers[~np.isnan(numbers)]
        counts = np.bincount(np.searchsorted(reference["edges"], present, side="right"), minlength=len(reference["edges"]) + 1)
        missing = len(numbers) - len(present)
    else:
        categories = {c: i for i, c in enumerate(reference["categories"])}
        codes = [categories.get(value) for value in values]
        counts = np.bincount([code for code in codes if code is not None], minlength=len(categories))
        missing = codes.count(None)  # unseen categories count as missing, as the model treats them
    return np.append(counts, missing)


def as_numbers(values: pd.Series | Sequence) -> np.ndarray:
    """Floats, NaN for what is not a number. numpy converts numbers and None directly (a window of
    5,000 in ~0.2 ms, against ~5 ms through pandas); anything else goes through pd.to_numeric."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return pd.to_numeric(pd.Series(list(values)), errors="coerce").to_numpy(dtype=float)


def reference_statistics(x: pd.DataFrame, numeric: list[str], categorical: dict[str, list[str]] | None = None) -> dict:
    """Per-feature decile edges (numeric) or categories, and the shares of each bin and of
    missing values: the drift baseline stored with a model. The shares come from the function the
    services use on their recent requests (window_shares), so both sides bin alike."""
    stats = {}
    for name in numeric:
        values = x[name].to_numpy(dtype=float)
        present = values[~np.isnan(values)]
        edges = np.unique(np.quantile(present, np.linspace(0.1, 0.9, 9))) if len(present) else np.array([])
        stats[name] = {"edges": edges.tolist(), "mean": float(present.mean()) if len(present) else None}
    for name, categories in (categorical or {}).items():
        stats[name] = {"categories": categories}
    for name, bins in stats.items():
        *shares, missing = window_shares(x[name], bins).tolist()
        bins |= {"shares": shares, "missing_share": missing}
    return stats


@dataclass(frozen=True)
class Rows:
    """Feature rows as they arrived (numbers, category strings, None for missing), without pandas."""

    columns: Sequence[str]
    values: Sequence[Sequence]  # one sequence per row, in `columns` order

    def __len__(self) -> int:
        return len(self.values)


def values_of(fields: Sequence[str]):
    """A function giving a mapping's `fields` as a tuple (operator.itemgetter, which gives a bare
    value for a single field)."""
    fields = tuple(fields)
    return operator.itemgetter(*fields) if len(fields) > 1 else (lambda mapping: (mapping[fields[0]],))


class DriftWindow:
    """The last `size` rows of each feature and their PSI against the training reference. Rows are
    added by requests and counted by a refresh in another thread, hence the lock."""

    def __init__(self, reference: dict[str, dict], size: int = DEFAULT_WINDOW, min_rows: int = MIN_ROWS):
        self.reference = reference
        self.size = size
        self.min_rows = min(min_rows, size)
        self.rows: dict[str, deque] = {name: deque(maxlen=size) for name in reference}
        self.lock = threading.Lock()

    def add(self, features: pd.DataFrame | Rows) -> None:
        if isinstance(features, pd.DataFrame):
            # one conversion of the whole frame: pandas' per-column access costs ~20 us a column
            values = features.iloc[-self.size :].to_numpy(dtype=object)
            columns = (values[:, index] for index in range(values.shape[1]))
        else:
            columns = zip(*features.values[-self.size :])
        with self.lock:
            for name, column in zip(features.columns, columns):
                if name in self.rows:
                    self.rows[name].extend(column)

    def counts(self) -> dict[str, np.ndarray]:
        """Per feature, the window's rows in each bin of the reference (missing last)."""
        with self.lock:
            windows = {name: list(window) for name, window in self.rows.items()}
        return {name: window_counts(values, self.reference[name]) for name, values in windows.items()}

    def psi(self, counts: dict[str, np.ndarray] | None = None) -> dict[str, float]:
        """PSI per feature over the current window, or over `counts` (bin counts as `counts()` gives,
        for example several workers' windows added up); features with fewer than `min_rows` rows
        are left out."""
        counts = self.counts() if counts is None else counts
        return {
            name: psi(reference_shares(self.reference[name]), bins / bins.sum())
            for name, bins in counts.items()
            if bins.sum() >= self.min_rows
        }


class SharedCounts:
    """The drift windows of all of a service's workers, added up: each worker writes its window's
    bin counts to a file of its own in a directory they share (BentoML's multiprocess metrics
    directory), and reads the files of the others that are still running. So every worker computes
    the PSI of the replica's traffic - the union of each worker's last rows - and the gauge does
    not follow whichever worker happened to refresh last. A worker's file is as old as its last
    refresh (at most a second after its last rows)."""

    def __init__(self, directory: str | os.PathLike, name: str, reference: dict[str, dict]):
        self.directory = Path(directory)
        self.name = name
        self.sizes = {feature: len(reference_shares(bins)) for feature, bins in reference.items()}
        self.pid = os.getpid()
        atexit.register(self.own_file().unlink, missing_ok=True)

    def own_file(self) -> Path:
        return self.directory / f"drift-{self.name}-{self.pid}.npy"

    def total(self, counts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Publishes this worker's `counts` and gives them added to the live workers' counts."""
        own = np.concatenate([counts[feature] for feature in self.sizes]).astype(np.int64)
        scratch = self.own_file().with_suffix(".tmp")
        with scratch.open("wb") as out:
            np.save(out, own)
        os.replace(scratch, self.own_file())  # readers see a whole file, old or new
        summed = own + sum(map(self._read, self._others()))
        return dict(zip(self.sizes, np.split(summed, np.cumsum(list(self.sizes.values()))[:-1])))

    def _others(self) -> list[Path]:
        return [path for path in self.directory.glob(f"drift-{self.name}-*.npy")
                if (pid := int(path.stem.rsplit("-", 1)[1])) != self.pid and _running(pid)]

    def _read(self, path: Path) -> np.ndarray | int:
        """A worker's counts, or none where its file is gone or from another model version."""
        try:
            counts = np.load(path)
        except (OSError, ValueError):
            return 0
        return counts if counts.shape == (sum(self.sizes.values()),) else 0


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or the pid is now another user's process
        return False
    return True
