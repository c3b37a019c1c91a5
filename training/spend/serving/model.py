"""The spend model: two LightGBM boosters, a payer classifier and a regressor. As a hurdle, the
expected spend is P(payer) x E[amount | payer]; as a single stage, the regressor predicts the
spend of every user itself (zeros included) and the classifier only answers P(payer). Training
chooses between them on held-out data (training/spend/train.py).

This module is all the service needs to predict: LightGBM, NumPy and pandas, no
training stack. Boosters are stored in LightGBM's own text format, not pickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from training.common.lightgbm_row import RowPredictor
from training.spend.serving.features import FeatureSpec, to_model_frame

CLASSIFIER_FILE = "payer_classifier.txt"
REGRESSOR_FILE = "amount_regressor.txt"
SPEC_FILE = "model.json"


@dataclass(frozen=True)
class TargetTransform:
    """How the amount regressor's target was transformed, and how to invert it to a mean."""

    kind: str  # "identity" | "log" | "minmax"
    low: float = 0.0  # minmax range
    high: float = 1.0
    smearing: float = 1.0  # Duan's factor: E[exp(residual)] turns a log-scale mean into a mean

    def forward(self, amount: np.ndarray) -> np.ndarray:
        if self.kind == "log":
            return np.log1p(amount)
        if self.kind == "minmax":
            return (amount - self.low) / (self.high - self.low)
        return amount

    def inverse(self, raw: np.ndarray) -> np.ndarray:
        if self.kind == "log":
            return np.expm1(raw) * self.smearing + (self.smearing - 1.0)
        if self.kind == "minmax":
            return raw * (self.high - self.low) + self.low
        return raw


HURDLE, SINGLE = "hurdle", "single"


@dataclass
class SpendModel:
    spec: FeatureSpec
    classifier: lgb.Booster
    regressor: lgb.Booster
    transform: TargetTransform
    structure: str = HURDLE  # HURDLE | SINGLE

    def predict_frame(self, features: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected 30-day spend and payer probability for an encoded feature frame, or its matrix
        (bentos/spend/frames.py: categories as their codes). One row of a matrix takes LightGBM's
        single-row path (equal answers, a tenth of the time)."""
        if isinstance(features, np.ndarray) and features.shape[0] == 1:
            classifier, regressor = self.row_predictors
            probability, raw = np.array([classifier.predict(features[0])]), np.array([regressor.predict(features[0])])
        else:
            probability, raw = self.classifier.predict(features), self.regressor.predict(features)
        amount = np.clip(self.transform.inverse(raw), 0.0, None)
        return (probability * amount if self.structure == HURDLE else amount), probability

    @cached_property
    def row_predictors(self) -> tuple[RowPredictor, RowPredictor]:
        return RowPredictor(self.classifier), RowPredictor(self.regressor)

    def predict(self, table: pd.DataFrame, refuse_unseen: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Same, for a raw table: selects and encodes the feature columns first (see to_model_frame)."""
        return self.predict_frame(to_model_frame(table, self.spec, refuse_unseen))

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        self.classifier.save_model(directory / CLASSIFIER_FILE)
        self.regressor.save_model(directory / REGRESSOR_FILE)
        meta = {"features": self.spec.to_dict(), "transform": self.transform.__dict__, "structure": self.structure}
        (directory / SPEC_FILE).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: Path) -> "SpendModel":
        directory = Path(directory)
        meta = json.loads((directory / SPEC_FILE).read_text())
        return cls(
            spec=FeatureSpec.from_dict(meta["features"]),
            classifier=lgb.Booster(model_file=str(directory / CLASSIFIER_FILE)),
            regressor=lgb.Booster(model_file=str(directory / REGRESSOR_FILE)),
            transform=TargetTransform(**meta["transform"]),
            structure=meta.get("structure", HURDLE),  # models registered before single stages were hurdles
        )
