import numpy as np
import pytest

from training.spend.serving.nudge import bootstrap_means, nudge_effect


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small = nudge_effect(rng.normal(5, 10, 400), np.zeros(400), np.arange(400) % 2 == 0, samples=500)
    large = nudge_effect(rng.normal(5, 10, 40_000), np.zeros(40_000), np.arange(40_000) % 2 == 0, samples=500)
    for result in (small, large):
        low, high = result["nudged"]["ci95"]
        assert low < 5 < high
    assert np.diff(large["nudged"]["ci95"])[0] < np.diff(small["nudged"]["ci95"])[0] / 5


def test_effect_placebo_and_bias_adjustment():
    rng = np.random.default_rng(1)
    n = 20_000
    nudged = rng.random(n) < 0.5
    predicted = rng.gamma(2.0, 1_000.0, n)
    actual = predicted * 1.05 + rng.normal(0, 300, n) + nudged * 400  # model under-predicts 5%, effect 400
    result = nudge_effect(actual, predicted, nudged, samples=400)
    assert result["uplift"] == pytest.approx(actual - predicted)
    assert result["nudged"]["users"] == nudged.sum() and result["control_placebo"]["users"] == (~nudged).sum()
    low, high = result["control_placebo"]["ci95"]
    assert low > 0  # the placebo exposes the model's bias ...
    low, high = result["bias_adjusted"]["ci95"]
    assert low < 400 < high  # ... and the difference removes it


def test_groups_too_small_are_refused():
    with pytest.raises(ValueError, match="nudged"):
        nudge_effect(np.ones(3), np.ones(3), np.array([False, False, False]))


def test_bootstrap_means_are_reproducible():
    values = np.arange(100.0)
    a = bootstrap_means(values, 120, np.random.default_rng(3))
    b = bootstrap_means(values, 120, np.random.default_rng(3))
    assert np.array_equal(a, b) and len(a) == 120
