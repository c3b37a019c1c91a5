"""Batch scoring and nudge-effect measurement with a stored spend model (CLI and service share these)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.common import store
from training.common.tables import id_frame
from training.spend.serving.features import SchemaError
from training.spend.serving.model import SpendModel
from training.spend.serving.nudge import nudge_effect


def load(tag: str) -> tuple[store.StoredModel, SpendModel]:
    stored = store.get(tag)
    return stored, SpendModel.load(stored.path)


def score_table(model: SpendModel, table: pd.DataFrame, id_column: str | None) -> pd.DataFrame:
    """The id column (when the table has it), expected_spend and payer_probability."""
    expected, probability = model.predict(table)
    return id_frame(table, id_column).assign(expected_spend=expected, payer_probability=probability)


def actual_spend(table: pd.DataFrame, target: str) -> np.ndarray:
    if target not in table.columns:
        raise SchemaError(target, "missing column: the nudge effect needs each user's actual spend")
    actual = pd.to_numeric(table[target], errors="coerce").to_numpy(dtype=float)
    if np.isnan(actual).any() or np.isinf(actual).any() or (actual < 0).any():
        raise SchemaError(target, "actual spend must be a finite, non-negative number for every user")
    return actual


def effect_for_table(model: SpendModel, table: pd.DataFrame, target: str, group: str, nudged_value: str, samples: int) -> dict:
    if group not in table.columns:
        raise SchemaError(group, "missing column: the nudge effect needs each user's group")
    actual = actual_spend(table, target)
    predicted, _ = model.predict(table)
    return nudge_effect(actual, predicted, (table[group].astype(str) == nudged_value).to_numpy(), samples=samples)
