"""Fit the spend hurdle model on the control group, compare it with baselines, gate it.

Stages: split -> payer classifier -> amount regressors (target transforms x objectives,
chosen on validation) -> baselines -> held-out metrics -> quality gate. Registration is
the caller's job, and only after the gate passed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from training.common.drift import reference_statistics
from training.common.metrics import payer_metrics, regression_metrics
from training.spend import data as synthetic
from training.spend.serving.features import FeatureSpec, SchemaError, infer_spec, to_model_frame
from training.spend.serving.model import SpendModel, TargetTransform

# Target transforms x objectives compared for the amount regressor (the published study's grid,
# plus Tweedie). Min-max is a monotone rescaling, so for trees it should tie with identity.
REGRESSOR_CANDIDATES = [
    ("identity", "regression"),
    ("identity", "regression_l1"),
    ("identity", "tweedie"),
    ("log", "regression"),
    ("log", "regression_l1"),
    ("minmax", "regression"),
    ("minmax", "regression_l1"),
]
KNN_NEIGHBOURS = 20
KNN_MAX_TRAIN = 50_000  # brute-force KNN cost grows with train x test rows
RATIO_BOUNDS = (0.9, 1.1)
BASE_PARAMS = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "verbose": -1,
    "num_threads": os.cpu_count() or 1,
    "seed": 0,
    "deterministic": True,
}
MAX_ROUNDS = 2_000
EARLY_STOP = 50

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    target: str = synthetic.TARGET
    id: str = synthetic.ID
    group: str = synthetic.GROUP
    control: str = synthetic.CONTROL
    valid_share: float = 0.15
    test_share: float = 0.15
    seed: int = 0


@dataclass
class TrainResult:
    model: SpendModel
    metrics: dict  # held-out test metrics of the shipped model
    baselines: dict[str, dict]  # name -> held-out test metrics
    candidates: list[dict]  # validation comparison of target transforms and objectives
    chosen: dict
    gate_failures: list[str]
    reference: dict  # training-data statistics, the drift baseline
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.gate_failures


def control_rows(table: pd.DataFrame, config: TrainConfig) -> pd.DataFrame:
    """Only users the nudge never touched: the model must learn the un-nudged world."""
    for column in (config.target, config.id):
        if column not in table.columns:
            raise SchemaError(column, "missing column")
    target = pd.to_numeric(table[config.target], errors="coerce")
    if target.isna().any():
        raise SchemaError(config.target, f"{int(target.isna().sum())} rows are missing or not numbers")
    if (target < 0).any() or np.isinf(target).any():
        raise SchemaError(config.target, "spend must be finite and not negative")
    if config.group in table.columns:
        table = table[table[config.group].astype(str) == config.control]
        if table.empty:
            raise SchemaError(config.group, f"no rows with value {config.control!r}")
    return table


def split(n: int, config: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.random.default_rng(config.seed).permutation(n)
    n_test, n_valid = int(n * config.test_share), int(n * config.valid_share)
    return order[n_test + n_valid :], order[n_test : n_test + n_valid], order[:n_test]


def _fit(params: dict, x: pd.DataFrame, y: np.ndarray, x_valid: pd.DataFrame, y_valid: np.ndarray) -> lgb.Booster:
    return lgb.train(
        {**BASE_PARAMS, **params},
        lgb.Dataset(x, y),
        num_boost_round=MAX_ROUNDS,
        valid_sets=[lgb.Dataset(x_valid, y_valid)],
        callbacks=[lgb.early_stopping(EARLY_STOP, verbose=False)],
    )


def fit_regressor(kind: str, objective: str, x, amount, x_valid, amount_valid) -> tuple[lgb.Booster, TargetTransform]:
    transform = TargetTransform(kind, low=float(amount.min()), high=float(amount.max()))
    booster = _fit({"objective": objective}, x, transform.forward(amount), x_valid, transform.forward(amount_valid))
    if kind == "log":
        # Duan's smearing turns a log-scale prediction into a mean. Out-of-sample residuals:
        # in-sample ones are too small and would bias every prediction low.
        residual = np.log1p(amount_valid) - booster.predict(x_valid)
        transform = TargetTransform(kind, smearing=float(np.mean(np.exp(residual))))
    return booster, transform


def knn_baseline(spec: FeatureSpec, x_train: pd.DataFrame, y_train: np.ndarray, seed: int):
    encode = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), spec.numeric),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(spec.categorical)),
        ]
    )
    knn = make_pipeline(encode, KNeighborsRegressor(n_neighbors=KNN_NEIGHBOURS, algorithm="brute", n_jobs=-1))
    rows = np.random.default_rng(seed).permutation(len(x_train))[:KNN_MAX_TRAIN]
    categorical = x_train.iloc[rows].astype({c: object for c in spec.categorical})
    return knn.fit(categorical, y_train[rows])


def gate(model_metrics: dict, baselines: dict[str, dict]) -> list[str]:
    """Why the model must not ship; empty when it may. RMSE and total ratio are the gate, not MAE:
    predicting zero wins MAE on a zero-inflated target and is useless for measuring effects."""
    failures = [
        f"RMSE {model_metrics['rmse']:.1f} is not below baseline {name} ({m['rmse']:.1f})"
        for name, m in baselines.items()
        if not model_metrics["rmse"] < m["rmse"]
    ]
    low, high = RATIO_BOUNDS
    if not low <= model_metrics["total_ratio"] <= high:
        failures.append(f"total-spend ratio {model_metrics['total_ratio']:.3f} is outside {low}-{high}")
    return failures


def train(table: pd.DataFrame, config: TrainConfig = TrainConfig(), progress: Progress = lambda _: None) -> TrainResult:
    table = control_rows(table, config)
    spec = infer_spec(table, exclude={config.target, config.id, config.group})
    x_all = to_model_frame(table, spec)
    y_all = table[config.target].to_numpy(dtype=float)
    tr, va, te = split(len(table), config)
    if min(len(tr), len(va), len(te)) < 50:
        raise SchemaError("<table>", f"{len(table)} control rows is too few to train and hold out data")
    x, y = x_all.iloc[tr], y_all[tr]
    x_valid, y_valid = x_all.iloc[va], y_all[va]
    x_test, y_test = x_all.iloc[te], y_all[te]
    payer, payer_valid = y > 0, y_valid > 0
    if payer.sum() < 20 or (~payer).sum() < 20:
        raise SchemaError(config.target, "need at least 20 payers and 20 non-payers in the training split")

    progress("payer classifier")
    classifier = _fit({"objective": "binary"}, x, payer.astype(float), x_valid, payer_valid.astype(float))

    candidates, fitted = [], []
    for kind, objective in REGRESSOR_CANDIDATES:
        progress(f"amount regressor: {kind} target, {objective}")
        booster, transform = fit_regressor(kind, objective, x[payer], y[payer], x_valid[payer_valid], y_valid[payer_valid])
        model = SpendModel(spec, classifier, booster, transform)
        candidates.append({"transform": kind, "objective": objective, **regression_metrics(y_valid, model.predict_frame(x_valid)[0])})
        fitted.append(model)
    best = min(range(len(candidates)), key=lambda i: candidates[i]["rmse"])
    model = fitted[best]

    progress("baselines: zero, mean, KNN, single Tweedie LightGBM")
    tweedie = _fit({"objective": "tweedie", "tweedie_variance_power": 1.5}, x, y, x_valid, y_valid)
    knn = knn_baseline(spec, x, y, config.seed)
    baseline_predictions = {
        "zero": np.zeros(len(y_test)),
        "mean": np.full(len(y_test), y.mean()),
        "knn": knn.predict(x_test.astype({c: object for c in spec.categorical})),
        "tweedie_lgbm": tweedie.predict(x_test),
    }

    progress("held-out evaluation")
    expected, probability = model.predict_frame(x_test)
    metrics = {**regression_metrics(y_test, expected), **payer_metrics(y_test > 0, probability)}
    baselines = {name: regression_metrics(y_test, pred) for name, pred in baseline_predictions.items()}
    return TrainResult(
        model=model,
        metrics=metrics,
        baselines=baselines,
        candidates=candidates,
        chosen={"transform": model.transform.kind, "objective": candidates[best]["objective"]},
        gate_failures=gate(metrics, baselines),
        reference=reference_statistics(x, spec.numeric, spec.categorical),
        rows={"control": len(table), "train": len(tr), "valid": len(va), "test": len(te), "train_payers": int(payer.sum())},
    )
