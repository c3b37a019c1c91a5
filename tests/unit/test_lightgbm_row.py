"""LightGBM's single-row path (training/common/lightgbm_row.py) answers exactly as Booster.predict."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from training.common.lightgbm_row import RowPredictor


def booster(objective: str, rounds: int, **params) -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(2_000, 6))
    features[rng.random(features.shape) < 0.15] = np.nan
    target = np.nan_to_num(features[:, 0]) + 0.5 * np.nan_to_num(features[:, 1]) ** 2
    label = (target > 0.3).astype(float) if objective == "binary" else np.abs(target)
    return lgb.train({"objective": objective, "verbose": -1, **params}, lgb.Dataset(features, label), rounds), features


@pytest.mark.parametrize("objective", ["binary", "regression", "tweedie"])
def test_every_row_is_predicted_to_the_bit_as_predict_does(objective):
    model, features = booster(objective, 60)
    predictor = RowPredictor(model)
    assert np.array_equal([predictor.predict(row) for row in features], model.predict(features))


def test_a_recorded_best_iteration_is_where_both_stop():
    model, features = booster("regression", 40)
    model.best_iteration = 10  # as early stopping leaves it
    assert np.array_equal([RowPredictor(model).predict(row) for row in features[:200]], model.predict(features[:200]))
    assert not np.array_equal(model.predict(features[:200]), model.predict(features[:200], num_iteration=40))


def test_a_row_of_the_wrong_shape_or_type_is_refused():
    model, features = booster("regression", 5)
    predictor = RowPredictor(model)
    for wrong in (features[0, :5], features[:2].ravel(), features[0].astype(np.float32), features[:, 0]):
        with pytest.raises(ValueError, match="row: expected 6 contiguous float64"):
            predictor.predict(wrong)


def test_a_multiclass_booster_is_refused():
    rng = np.random.default_rng(0)
    model = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1}, lgb.Dataset(rng.normal(size=(300, 3)), rng.integers(0, 3, 300)), 3)
    with pytest.raises(ValueError, match="one output per row"):
        RowPredictor(model)
