"""Validated request records -> the encoded feature frame the model takes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel

from training.spend.serving.features import FeatureSpec


def records_to_frame(records: Sequence[BaseModel], spec: FeatureSpec) -> pd.DataFrame:
    """Columns in spec order; numeric None -> NaN; unseen or missing categories -> missing.

    Records carry features as f0, f1, ... in spec order (see schemas._fields); building the
    frame from their __dict__s is ~3x faster than reading attributes one by one."""
    fields = [f"f{i}" for i in range(len(spec.columns))]
    raw = pd.DataFrame.from_records([r.__dict__ for r in records], columns=fields)
    raw.columns = spec.columns
    out = {name: raw[name].to_numpy(dtype=float, na_value=np.nan) for name in spec.numeric}
    for name, categories in spec.categorical.items():
        out[name] = pd.Categorical(raw[name], categories=categories)
    return pd.DataFrame(out)
