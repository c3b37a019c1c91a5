"""Request and response schemas of the spend service, built from the model's feature spec.

A model trained on a user's own table has that table's columns, so the request schema is
generated from the stored feature list: the OpenAPI page shows the real fields, and a wrong
type, a missing field, NaN or infinity is refused with a 4xx naming the field.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from bentos.common.fields import UserId, record
from training.spend.serving.features import FeatureSpec, category_lookup

MAX_USERS_PER_REQUEST = 20_000  # also the adaptive batch cap: bigger requests would get 503 from the batcher
# null = missing, LightGBM handles it; strict: "30" for a number is a caller's bug, not 30 (booleans are 0 or 1)
Number = Annotated[Optional[float], Field(allow_inf_nan=False, strict=True)]


def category(values: list[str]) -> type:
    """A categorical feature: one of the training values in any case ("Male" is "male"), or null
    for missing; any other value is refused naming the allowed ones, not silently taken as missing."""
    lookup, known = category_lookup(values), frozenset(values)
    canonical = BeforeValidator(lambda v: v if not isinstance(v, str) or v in known else lookup.get(v.casefold(), v))
    allowed = Literal[tuple(values)] if values else None
    return Annotated[Optional[allowed], canonical, Field(description=f"one of: {', '.join(values)} (any case); null = missing")]


def _fields(spec: FeatureSpec) -> dict:
    """The features, keyed f0, f1, ... in spec order (numeric, then categorical), as callers name them."""
    fields = {f"f{i}": Annotated[Number, Field(alias=name)] for i, name in enumerate(spec.numeric)}
    offset = len(spec.numeric)
    return fields | {f"f{offset + i}": Annotated[category(values), Field(alias=name)] for i, (name, values) in enumerate(spec.categorical.items())}


def user_record(spec: FeatureSpec, id_column: str) -> type:
    """One user's features; every feature is required (null allowed), unknown fields are ignored."""
    return record("UserRecord", _fields(spec), {"id": Annotated[UserId, Field(alias=id_column)]})


def outcome_record(spec: FeatureSpec, id_column: str) -> type:
    """A user's features plus what happened: group and actual spend, for the nudge effect."""
    outcome = {"group": Annotated[str, Field(description="control or nudged")],
               "actual_spend": Annotated[float, Field(ge=0, allow_inf_nan=False, description="actual 30-day spend")]}
    return record("OutcomeRecord", _fields(spec) | outcome, {"id": Annotated[UserId, Field(alias=id_column)]})


class Prediction(TypedDict):  # a dict, as abuse's answers: the output model validates 10,000 in a third of the time
    user_id: UserId
    expected_spend: float
    payer_probability: float
    model_version: str


class TablePrediction(BaseModel):
    """Column-wise answer of the bulk endpoint, in upload row order."""

    model_version: str
    user_id: Optional[list[Union[int, str]]] = Field(None, description="the id column, when the upload has it")
    expected_spend: list[float]
    payer_probability: list[float]


class Interval(BaseModel):
    users: int
    average: float
    ci95: list[float]


class AdjustedEffect(BaseModel):
    average: float
    ci95: list[float]


class NudgeEffect(BaseModel):
    model_version: str
    nudged: Interval
    control_placebo: Interval
    bias_adjusted: AdjustedEffect
    bootstrap_samples: int
    uplift: list[float] = Field(description="actual - predicted, per user, in request order")
