"""Spend predictor service: expected 30-day spend, payer probability, nudge effect."""

from __future__ import annotations

import os
from typing import Annotated

import bentoml
from pydantic import Field

from bentos.spend import schemas
from bentos.spend.frames import records_to_frame
from training.spend.features import FeatureSpec, SchemaError
from training.spend.model import SpendModel
from training.spend.nudge import BOOTSTRAP_SAMPLES, nudge_effect

# Resolve "latest" once, so every worker serves the same exact version.
STORED = bentoml.models.get(os.environ.get("PLAYSERVE_SPEND_MODEL", "spend:latest"))
SPEC = FeatureSpec.from_dict(STORED.info.metadata["features"])
ID_COLUMN = STORED.info.metadata.get("id_column", "user_id")
UserRecord = schemas.user_record(SPEC, ID_COLUMN)
OutcomeRecord = schemas.outcome_record(SPEC, ID_COLUMN)
Users = Annotated[list[UserRecord], Field(min_length=1, max_length=schemas.MAX_USERS_PER_REQUEST)]
Outcomes = Annotated[list[OutcomeRecord], Field(min_length=4, max_length=schemas.MAX_USERS_PER_REQUEST)]


@bentoml.service(name="spend", traffic={"timeout": 60})
class Spend:
    model_ref = bentoml.models.BentoModel(STORED.tag)

    def __init__(self) -> None:
        self.model = SpendModel.load(self.model_ref.path)
        self.version = str(self.model_ref.tag)

    @bentoml.api(batchable=True, max_batch_size=schemas.MAX_USERS_PER_REQUEST, max_latency_ms=50)
    def predict(self, users: Users) -> list[schemas.Prediction]:
        expected, probability = self.model.predict_frame(records_to_frame(users, SPEC))
        return [
            schemas.Prediction(user_id=u.id, expected_spend=e, payer_probability=p, model_version=self.version)
            for u, e, p in zip(users, expected.tolist(), probability.tolist())
        ]

    @bentoml.api
    def nudge_effect(self, users: Outcomes, bootstrap: Annotated[int, Field(ge=100, le=10_000)] = BOOTSTRAP_SAMPLES) -> schemas.NudgeEffect:
        groups = {u.group for u in users}
        if not groups <= {"control", "nudged"}:
            raise bentoml.exceptions.InvalidArgument(f"group: expected 'control' or 'nudged', got {sorted(groups - {'control', 'nudged'})}")
        predicted, _ = self.model.predict_frame(records_to_frame(users, SPEC))
        try:
            effect = nudge_effect(
                [u.actual_spend for u in users], predicted, [u.group == "nudged" for u in users], samples=bootstrap
            )
        except (ValueError, SchemaError) as error:
            raise bentoml.exceptions.InvalidArgument(str(error)) from error
        return schemas.NudgeEffect(model_version=self.version, **{**effect, "uplift": effect["uplift"].tolist()})
