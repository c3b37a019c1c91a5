"""Request and response schemas of the spend service, built from the model's feature spec.

A model trained on a user's own table has that table's columns, so the request schema is
generated from the stored feature list: the OpenAPI page shows the real fields, and a wrong
type, a missing field, NaN or infinity is refused with a 4xx naming the field.
"""

from __future__ import annotations

from typing import Annotated, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from bentos.common.fields import UserId
from training.spend.serving.features import FeatureSpec

MAX_USERS_PER_REQUEST = 20_000  # also the adaptive batch cap: bigger requests would get 503 from the batcher
Number = Annotated[Optional[float], Field(allow_inf_nan=False)]  # null = missing, LightGBM handles it
Category = Optional[str]  # null or an unseen value = missing


def _fields(spec: FeatureSpec, extra: dict) -> dict:
    fields = {f"f{i}": (Number, Field(..., alias=name)) for i, name in enumerate(spec.numeric)}
    offset = len(spec.numeric)
    fields |= {f"f{offset + i}": (Category, Field(..., alias=name)) for i, name in enumerate(spec.categorical)}
    return fields | extra


def user_record(spec: FeatureSpec, id_column: str) -> type[BaseModel]:
    """One user's features; every feature is required (null allowed), unknown fields are ignored."""
    return create_model(
        "UserRecord",
        __config__=ConfigDict(extra="ignore", populate_by_name=False),
        **_fields(spec, {"id": (UserId, Field(None, alias=id_column))}),
    )


def outcome_record(spec: FeatureSpec, id_column: str) -> type[BaseModel]:
    """A user's features plus what happened: group and actual spend, for the nudge effect."""
    extra = {
        "id": (UserId, Field(None, alias=id_column)),
        "group": (str, Field(..., description="control or nudged")),
        "actual_spend": (float, Field(..., ge=0, allow_inf_nan=False, description="actual 30-day spend")),
    }
    return create_model("OutcomeRecord", __config__=ConfigDict(extra="ignore"), **_fields(spec, extra))


class Prediction(BaseModel):
    user_id: UserId = None
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
