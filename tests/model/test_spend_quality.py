"""Model checks on held-out synthetic data (750,000 users, the domain's size)."""

import json

import pytest

from training.common import store
from training.spend import data
from training.spend.scoring import effect_for_table, load
from training.spend.train import RATIO_BOUNDS, TrainConfig, train


def test_beats_every_baseline_on_rmse_by_a_significant_margin_and_keeps_the_total(trained):
    m, baselines, margins = trained.report["metrics"], trained.report["baselines"], trained.report["margins"]
    for name, b in baselines.items():
        assert m["rmse"] < b["rmse"] and margins["baselines"][name]["better"], name
    assert margins["baselines"]["knn"]["low"] > 0.02  # the published baseline, by more than 2% of its RMSE
    assert RATIO_BOUNDS[0] <= m["total_ratio"] <= RATIO_BOUNDS[1]
    assert m["mae"] < baselines["knn"]["mae"]  # and better than the published baseline on MAE too
    assert baselines["zero"]["mae"] > m["mae"] * 0.9  # zero is a close MAE contender: the trap the gate avoids


def test_no_candidate_is_significantly_better_than_the_chosen_one(trained):
    report = trained.report
    assert not any(margin["worse"] for margin in report["margins"]["candidates"].values())
    best = min(c["test_rmse"] for c in report["candidates"])
    assert report["metrics"]["rmse"] <= best * 1.005


def test_payer_classifier_separates_payers_at_the_conservative_threshold(trained):
    m = trained.report["metrics"]
    assert m["payer_roc_auc"] > 0.8
    assert 0.88 <= m["payer_recall"] <= 0.92 and m["non_payer_recall"] > 0.4  # the domain's design: ~0.9 and ~0.5


def test_the_verdict_holds_across_seeds():
    """Seeds 2 and 3 used to split the verdict (2 refused for an RMSE 0.07% worse than a single
    Tweedie baseline's, 3 passed). Close candidates now compete instead, and the gate asks for
    margins over the baselines that the bootstrap says are not chance (seed 0 is the `trained` fixture)."""
    for seed in (2, 3):
        result = train(data.generate(data.DEFAULT_USERS, seed=seed).frame, TrainConfig(seed=seed))
        assert result.passed, (seed, result.gate_failures)
        assert result.margins["baselines"]["knn"].low > 0.01


def test_registered_with_labels_metadata_and_card(trained):
    stored = store.get(trained.model.tag)
    assert set(stored.labels) >= {"git_sha", "data_hash", "stage"}
    assert len(stored.labels["data_hash"]) == 64 and stored.labels["stage"] == store.STAGE_CANDIDATE
    for key in ("metrics", "baselines", "features", "reference", "candidates"):
        assert stored.metadata[key], key
    card = (stored.path / "model_card.md").read_text()
    assert stored.version in card and "synthetic" in card and "single stage (tweedie)" in card and "95% interval" in card
    assert json.loads((trained.run_dir / "metrics.json").read_text())["passed_gate"] is True


def test_nudge_effect_recovers_the_injected_effect():
    """Fresh users the model never saw. The bias-adjusted interval covers the known effect; the
    placebo measures the model's own bias on this population (small, but at 300,000 users the
    intervals are narrow enough to see it, which is why the adjusted estimate is the one to report)."""
    fresh = data.generate(300_000, seed=123)
    _, model = load("spend:latest")
    effect = effect_for_table(model, fresh.frame, data.TARGET, data.GROUP, data.NUDGED, samples=400)
    truth = fresh.injected_effect
    low, high = effect["bias_adjusted"]["ci95"]
    assert low < truth < high, (low, truth, high)
    mean_spend = fresh.frame[data.TARGET].mean()
    assert abs(effect["control_placebo"]["average"]) < 0.03 * mean_spend
    assert effect["nudged"]["average"] == pytest.approx(truth, rel=0.15)
    assert effect["nudged"]["average"] - effect["control_placebo"]["average"] == pytest.approx(effect["bias_adjusted"]["average"])
