"""The paired bootstrap the gates decide on: a real margin is evidence, a seed's worth of noise is not."""

import numpy as np
import pytest

from training.common.evidence import paired_bootstrap
from training.common.metrics import rmse

RNG = np.random.default_rng(0)
Y = RNG.gamma(0.3, 100.0, 20_000)
GOOD = Y + RNG.normal(0, 30, len(Y))


def test_a_clearly_better_model_is_significantly_better():
    worse = Y + RNG.normal(0, 40, len(Y))
    margin = paired_bootstrap(Y, GOOD, {"worse": worse}, rmse, "rmse", lower_is_better=True, samples=300)["worse"]
    assert margin.better and not margin.worse
    assert margin.margin == pytest.approx(1 - rmse(Y, GOOD) / rmse(Y, worse))
    assert margin.low < margin.margin < margin.high


def test_a_tie_within_noise_is_neither_better_nor_worse():
    """The spend gate's old failure: 0.07% of RMSE between two models is chance on these rows."""
    twin = Y + RNG.normal(0, 30, len(Y))  # as good, with its own errors
    margin = paired_bootstrap(Y, GOOD, {"twin": twin}, rmse, "rmse", lower_is_better=True, samples=300)["twin"]
    assert not margin.better and not margin.worse and margin.low < 0 < margin.high


def test_higher_is_better_metrics_point_the_same_way():
    from sklearn.metrics import roc_auc_score

    labels = (RNG.random(4_000) < 0.1).astype(int)
    sharp, blunt = labels + RNG.normal(0, 0.5, 4_000), labels + RNG.normal(0, 2.0, 4_000)
    margin = paired_bootstrap(labels, sharp, {"blunt": blunt}, roc_auc_score, "roc_auc", lower_is_better=False, samples=200)["blunt"]
    assert margin.better and margin.ours > margin.theirs
    assert margin.to_dict()["better"] is True and "roc_auc +" in margin.describe()


def test_the_same_rows_are_drawn_for_every_comparison():
    same = paired_bootstrap(Y, GOOD, {"a": Y * 1.1, "b": Y * 1.1}, rmse, "rmse", lower_is_better=True, samples=100)
    assert same["a"] == same["b"]
