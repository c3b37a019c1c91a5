"""Request and response schemas of the abuse service. The scoring request is generated from the
served model's feature list (a model trained on a user's own table has that table's columns), so
the OpenAPI page shows the real fields and a missing field, a wrong type, NaN or infinity is
refused with a 4xx naming the field."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from bentos.common.fields import MAX_ID_CHARS, UserId, record
from training.abuse.serving.data import KINDS

MAX_WINDOWS_PER_REQUEST = 10_000   # also the adaptive batch cap
MAX_EVENTS_PER_REQUEST = 10_000
# The scorer computes in float32: a value past its range (3.4e38) would become infinite there.
# Strict: "30" for a number is a caller's bug, not 30 (booleans are sent as 0 or 1).
Finite = Annotated[float, Field(allow_inf_nan=False, ge=-3.4e38, le=3.4e38, strict=True)]
# Per event: amounts beyond a trillion or times beyond the year 2096 are not game events, and their
# running sums would overflow the store's counters.
Amount = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12, strict=True)]


def window_record(features: list[str], id_column: str) -> type:
    """One user's window of features, keyed f0, f1, ... in `features` order (and `id` when sent):
    every feature required, unknown fields ignored."""
    fields = {f"f{i}": Annotated[Finite, Field(alias=name)] for i, name in enumerate(features)}
    return record("Window", fields, {"id": Annotated[UserId, Field(alias=id_column)]})


class Event(BaseModel):
    """One game event, as the event stream sends it (see training/abuse/serving/data.py for the kinds)."""
    model_config = ConfigDict(extra="forbid")
    user_id: Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
    time: Annotated[float, Field(ge=0, le=4e9, allow_inf_nan=False, strict=True, description="seconds since the game's epoch")]
    kind: Literal[KINDS]  # type: ignore[valid-type]
    value: Amount = 0.0
    gain: Amount = 0.0
    event_id: Annotated[Optional[str], Field(min_length=1, max_length=MAX_ID_CHARS, description=(
        "The event's own id: sent again (a retry after a timeout), the event is counted once"))] = None


# The answers are TypedDicts, not models: the route's output model validates 100 of them in a third
# of the time (no object per record), and they are written the same way.
class Contribution(TypedDict):
    feature: str
    share: Annotated[float, Field(description="share of the autoencoder's error this feature carries")]


class Scored(TypedDict):
    user_id: UserId
    score: Annotated[float, Field(description="higher = more suspicious; about 1 or less is normal play")]
    percentile: Annotated[float, Field(description="share of the training windows (in %) that scored lower")]
    flagged: bool
    top_features: list[Contribution]
    reward_residual: Annotated[float, Field(description="actual minus fair gain, in the gain column's units (0 without a reward model)")]
    model_version: str


class Ingested(BaseModel):
    events: Annotated[int, Field(description="events counted now")]
    duplicates: Annotated[int, Field(description="events whose event_id was already counted (or came twice in the batch): not counted again")]
    users: int
    model_version: str
