import numpy as np
import pytest

from training.common import metrics


def test_regression_metrics_by_hand():
    y = np.array([0.0, 0.0, 1000.0, 3000.0])
    pred = np.array([100.0, 0.0, 500.0, 3500.0])
    m = metrics.regression_metrics(y, pred)
    assert m["mae"] == pytest.approx((100 + 0 + 500 + 500) / 4)
    assert m["rmse"] == pytest.approx(np.sqrt((100**2 + 500**2 + 500**2) / 4))
    assert m["mape_1000"] == pytest.approx((100 / 1000 + 0 + 500 / 2000 + 500 / 4000) / 4)
    assert m["total_ratio"] == pytest.approx(4100 / 4000)


def test_predicting_zero_wins_mae_but_not_total_ratio():
    y = np.array([0.0] * 8 + [10_000.0, 30_000.0])
    zero = metrics.regression_metrics(y, np.zeros_like(y))
    mean = metrics.regression_metrics(y, np.full_like(y, y.mean()))
    assert zero["mae"] < mean["mae"]
    assert zero["total_ratio"] == 0 and mean["total_ratio"] == pytest.approx(1.0)


def test_payer_metrics():
    is_payer = np.array([True, True, False, False])
    probability = np.array([0.9, 0.4, 0.6, 0.1])
    m = metrics.payer_metrics(is_payer, probability, 0.5)
    assert m["payer_recall"] == 0.5 and m["payer_precision"] == 0.5 and m["non_payer_recall"] == 0.5
    assert m["payer_roc_auc"] == pytest.approx(0.75) and m["payer_threshold"] == 0.5
    lower = metrics.payer_metrics(is_payer, probability, 0.4)  # the conservative side: every payer, one non-payer too many
    assert lower["payer_recall"] == 1.0 and lower["non_payer_recall"] == 0.5
    assert np.isnan(metrics.payer_metrics(np.array([True, True]), np.array([0.2, 0.9]), 0.5)["payer_roc_auc"])


def test_the_payer_threshold_is_the_highest_that_keeps_the_recall():
    is_payer = np.array([True] * 10 + [False] * 10)
    probability = np.concatenate([np.linspace(0.1, 1.0, 10), np.linspace(0.0, 0.5, 10)])
    threshold = metrics.threshold_for_recall(probability, is_payer, metrics.PAYER_RECALL)
    assert threshold == pytest.approx(0.2)  # 9 of the 10 payers are at or above it
    assert metrics.payer_metrics(is_payer, probability, threshold)["payer_recall"] == 0.9
