"""Validated request records -> the encoded feature frame the model takes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel

from training.spend.features import FeatureSpec


def records_to_frame(records: Sequence[BaseModel], spec: FeatureSpec) -> pd.DataFrame:
    """Columns in spec order; numeric None -> NaN; unseen or missing categories -> missing."""
    n_numeric = len(spec.numeric)
    rows = [tuple(r.__dict__[f"f{i}"] for i in range(len(spec.columns))) for r in records]
    columns = list(zip(*rows)) if rows else [() for _ in spec.columns]
    out = {name: np.array(columns[i], dtype=float) for i, name in enumerate(spec.numeric)}
    for j, (name, categories) in enumerate(spec.categorical.items()):
        out[name] = pd.Categorical(list(columns[n_numeric + j]), categories=categories)
    return pd.DataFrame(out)
