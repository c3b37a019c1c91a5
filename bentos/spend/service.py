"""Spend predictor service: expected 30-day spend, payer probability, nudge effect."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import bentoml
from pydantic import Field

from bentos.common import batching, limits, pools
from bentos.common.middleware import guard
from bentos.common.observability import ServiceMetrics
from bentos.spend import schemas
from bentos.spend.frames import Encoder
from bentos.spend import tables
from bentos.spend.tables import UploadError, read_upload
from training.common import lazy
from training.common.integrity import verified
from training.spend.spec import SPEC as CONTRACT
from training.spend.serving.features import FeatureSpec, SchemaError
from training.spend.serving.nudge import BOOTSTRAP_SAMPLES, nudge_effect

# Resolve "latest" once, so every worker serves the same exact version.
STORED = verified(bentoml.models.get(os.environ.get("PLAYSERVE_SPEND_MODEL", "spend:latest")))
SPEC = FeatureSpec.from_dict(STORED.info.metadata["features"])
ID_COLUMN = STORED.info.metadata.get("id_column", "user_id")
UserRecord = schemas.user_record(SPEC, ID_COLUMN)
OutcomeRecord = schemas.outcome_record(SPEC, ID_COLUMN)
ENCODER = Encoder(SPEC)
Users = Annotated[list[UserRecord], Field(min_length=1, max_length=schemas.MAX_USERS_PER_REQUEST)]
Outcomes = Annotated[list[OutcomeRecord], Field(min_length=4, max_length=schemas.MAX_USERS_PER_REQUEST)]
# The batcher sheds (503) requests it predicts will wait longer than this; it must cover a
# full-size request (20,000 users take ~0.6 s), not only single records.
MAX_LATENCY_MS = 3_000
# Two workers, one per core of a replica: the fast path answers one user in Python, which one process
# runs on one core at a time (one user: 0.94 of the mounted echo at 8 clients against 0.77 with one,
# python -m load.bench spend, 2026-12-03). ~430 MB at rest for both; their drift windows are added up
# (training.common.drift.SharedCounts).
WORKERS = 2


@bentoml.service(name="spend", workers=WORKERS, traffic=limits.traffic(timeout_s=CONTRACT.timeout_s))
class Spend:
    model_ref = bentoml.models.BentoModel(STORED.tag)

    def __init__(self) -> None:
        # Imported here, in the worker: BentoML's supervisor imports this module too, only to read the
        # service. LightGBM imports scikit-learn where it is installed, for an API serving never uses
        # (1.6 s of a worker's start in the project environment; the image has no scikit-learn).
        lazy.absent("sklearn")
        from training.spend.serving.model import SpendModel

        lazy.load(tables.pd, tables.fastparquet)
        self.model = SpendModel.load(self.model_ref.path)
        self.version = str(self.model_ref.tag)
        self.metrics = ServiceMetrics("spend", self.version, STORED.info.labels.get("git_sha", "unknown"),
                                      reference=STORED.info.metadata.get("reference"))

    @bentoml.api(batchable=batching.enabled(), max_batch_size=schemas.MAX_USERS_PER_REQUEST, max_latency_ms=MAX_LATENCY_MS)
    def predict(self, users: Users) -> list[schemas.Prediction]:
        rows = ENCODER.rows(users)
        expected, probability = self.model.predict_frame(ENCODER.matrix(rows))
        self.metrics.observe("predict", {"expected_spend": expected, "payer_probability": probability}, rows)
        return [{"user_id": u.get("id"), "expected_spend": e, "payer_probability": p, "model_version": self.version}
                for u, e, p in zip(users, expected.tolist(), probability.tolist())]

    # The bulk routes run on their own threads (pools "bulk"), never on the one /predict's batches use.
    @bentoml.api
    async def predict_table(self, table: Path) -> schemas.TablePrediction:
        """Bulk scoring: upload a Parquet or CSV table (up to 1,000,000 users); columns come back."""
        return await pools.run("bulk", self.score_table, table)

    def score_table(self, table: Path) -> schemas.TablePrediction:
        try:
            frame = read_upload(table)
            expected, probability = self.model.predict(frame, refuse_unseen=True)
        except (UploadError, SchemaError) as error:
            raise bentoml.exceptions.InvalidArgument(str(error)) from error
        self.metrics.observe("predict_table", {"expected_spend": expected, "payer_probability": probability}, frame)
        ids = frame[ID_COLUMN].tolist() if ID_COLUMN in frame.columns else None
        return schemas.TablePrediction.model_construct(
            model_version=self.version, user_id=ids, expected_spend=expected.tolist(), payer_probability=probability.tolist()
        )

    @bentoml.api
    async def nudge_effect(self, users: Outcomes, bootstrap: Annotated[int, Field(ge=100, le=10_000)] = BOOTSTRAP_SAMPLES) -> schemas.NudgeEffect:
        return await pools.run("bulk", self.measure_nudge, users, bootstrap)

    def measure_nudge(self, users: list, bootstrap: int) -> schemas.NudgeEffect:
        groups = {u["group"] for u in users}
        if not groups <= {"control", "nudged"}:
            raise bentoml.exceptions.InvalidArgument(f"group: expected 'control' or 'nudged', got {sorted(groups - {'control', 'nudged'})}")
        predicted, _ = self.model.predict_frame(ENCODER.matrix(ENCODER.rows(users)))
        try:
            effect = nudge_effect(
                [u["actual_spend"] for u in users], predicted, [u["group"] == "nudged" for u in users], samples=bootstrap
            )
        except (ValueError, SchemaError) as error:
            raise bentoml.exceptions.InvalidArgument(str(error)) from error
        return schemas.NudgeEffect(model_version=self.version, **{**effect, "uplift": effect["uplift"].tolist()})


# 20,000 users are ~11 MB of JSON; a 1,000,000-row CSV ~100 MB.
guard(Spend, CONTRACT, {"predict": 32 * limits.MIB, "nudge_effect": 32 * limits.MIB, "predict_table": 256 * limits.MIB})
