"""Feature schema of a spend table: which columns are features, their kinds and categories.

Shared by training, batch scoring and the service, so all three see the same columns in
the same order with the same categorical encoding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from training.common.lazy import lazy

pd = lazy("pandas")

MAX_CATEGORIES = 200  # more distinct strings than this is an identifier or free text, not a category


class SchemaError(ValueError):
    """A table does not fit the feature schema; ``field`` names the offending column."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class FeatureSpec:
    numeric: list[str]
    categorical: dict[str, list[str]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureSpec":
        return cls(numeric=list(data["numeric"]), categorical=dict(data["categorical"]))


def infer_spec(frame: pd.DataFrame, exclude: set[str]) -> FeatureSpec:
    """Every column not in ``exclude`` is a feature: numbers and booleans are numeric, strings categorical."""
    numeric, categorical = [], {}
    for name in frame.columns:
        if name in exclude:
            continue
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            numeric.append(name)
        elif isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            values = sorted(str(v) for v in column.dropna().unique())
            if len(values) > MAX_CATEGORIES:
                raise SchemaError(name, f"{len(values)} distinct values: looks like an id or free text; pass it as --id or drop it")
            categorical[name] = values
        else:
            raise SchemaError(name, f"unsupported column type {column.dtype}; use numbers or strings")
    if not numeric and not categorical:
        raise SchemaError("<table>", "no feature columns left after removing id, target and group")
    return FeatureSpec(numeric=numeric, categorical=categorical)


def category_lookup(categories: list[str]) -> dict[str, str]:
    """Case-folded value -> the training value ("Male" is "male"), for the values case folding
    keeps apart (a table with both "a" and "A" has two categories, matched exactly)."""
    folded = [c.casefold() for c in categories]
    return {key: c for key, c in zip(folded, categories) if folded.count(key) == 1}


def allowed(categories: list[str]) -> str:
    return ", ".join(categories) if categories else "none (the training table had no values)"


def to_model_frame(frame: pd.DataFrame, spec: FeatureSpec, refuse_unseen: bool = False) -> pd.DataFrame:
    """Select and encode the spec's columns; raises SchemaError naming a missing or mistyped column.

    Category values match the training values case-insensitively. An unseen value becomes missing,
    which LightGBM routes like any missing value (a held-out split may hold a value the training
    split lacks); with `refuse_unseen` (a caller's table) it is a SchemaError naming the allowed values.
    """
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise SchemaError(missing[0], f"missing column (and {len(missing) - 1} more)" if len(missing) > 1 else "missing column")
    out = {}
    for name in spec.numeric:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            column = column.astype(float)
        elif not pd.api.types.is_numeric_dtype(column):
            column = pd.to_numeric(column, errors="coerce")
            if column.isna().sum() > frame[name].isna().sum():
                raise SchemaError(name, "expected a number")
        values = column.to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(values).any():
            raise SchemaError(name, "infinite value")
        out[name] = values
    for name, categories in spec.categorical.items():
        out[name] = pd.Categorical(_categories(frame[name], categories, refuse_unseen, name), categories=categories)
    return pd.DataFrame(out, index=frame.index)


def _categories(column: pd.Series, categories: list[str], refuse_unseen: bool, name: str) -> pd.Series:
    values = column.astype("string")
    canonical = values.where(values.isin(categories), values.str.casefold().map(category_lookup(categories)))
    unseen = values[canonical.isna() & values.notna()]
    if refuse_unseen and len(unseen):
        raise SchemaError(name, f"unknown value {unseen.iloc[0]!r} ({len(unseen)} rows); allowed: {allowed(categories)}")
    return canonical.astype(object)
