"""The abuse scorer on held-out generated users (synthetic data): it beats the IsolationForest and
the rule set on every ranking metric, finds each abuse type, and its ONNX export scores as PyTorch does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.abuse import export, model, pipeline
from training.abuse.serving.features import InputError
from training.abuse.serving.scorer import Scorer, matrix, percentile
from training.abuse.scoring import score_table
from training.common import store


def test_the_scorer_beats_both_baselines_on_held_out_users(abuse_trained):
    test = abuse_trained["test"]
    ours = test[pipeline.SHIPPED]
    for baseline in ("isolation forest", "rules"):
        assert ours["roc_auc"] > test[baseline]["roc_auc"] and ours["pr_auc"] > test[baseline]["pr_auc"]
        assert ours["precision_at_k"] >= test[baseline]["precision_at_k"]
    assert ours["pr_auc"] > 0.7 and ours["precision_at_k"] >= 0.8  # 50 reviews: at least 40 are abusers
    assert set(ours["recall_at_k"]) == {"craft_macro", "duplication", "exchange", "farming"}
    assert ours["recall_at_k"]["craft_macro"] >= 0.8 and ours["recall_at_k"]["duplication"] >= 0.5


def test_onnx_parity_and_the_stored_model_scores_the_table(abuse_trained, abuse_table):
    assert abuse_trained["onnx_parity"]["score"] <= export.MAX_SCORE_DIFFERENCE
    table = pd.read_parquet(abuse_table)
    scored, tag = score_table(abuse_trained["tag"], table)
    assert tag == abuse_trained["tag"] and list(scored.columns) == ["user_id", "score"]
    top = table.set_index("user_id").loc[scored.nlargest(100, "score")["user_id"], "abuse"]
    assert (top != "none").mean() >= 0.8
    with pytest.raises(InputError, match="^trade_return: must be a finite number"):
        score_table(abuse_trained["tag"], table.assign(trade_return=np.inf))


def test_percentile_flags_and_contributing_features(abuse_trained, abuse_table):
    scorer = Scorer(store.get(abuse_trained["tag"]).path)
    table = pd.read_parquet(abuse_table)
    scores = scorer.score(matrix(table, scorer.spec.features))
    assert np.all(np.diff(scores.percentile[np.argsort(scores.score)]) >= 0) and 0 <= scores.percentile.min() and scores.percentile.max() <= 100
    flagged = (scores.percentile >= 99).mean()
    assert 0.005 < flagged < 0.05  # about the top 1% of the training population
    macros = np.flatnonzero(table["abuse"].to_numpy() == "craft_macro")
    named = [name for row in scorer.top_features(scores.errors[macros])[0] for name in row]
    assert max(set(named), key=named.count) in {"crafts_per_minute", "craft_count", "share_craft", "craft_gap_cv", "sale_gap_cv"}
    exchange = table["abuse"].to_numpy() == "exchange"
    assert np.median(scores.residual[exchange]) > 10 * max(np.median(scores.residual[~exchange]), 1.0)  # they gain more than their play explains
    assert percentile(np.array([-1e9, 1e9]), scorer.spec.score_quantiles).tolist() == [0.0, 100.0]


def test_a_generic_table_without_a_label_trains_unevaluated(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(600, 4)), columns=list("abcd")).assign(row=range(600))
    cols = pipeline.columns(frame, "row", None)
    outcome = pipeline.run(frame, cols, "tests", False, tmp_path, lambda _: None, epochs=5)
    assert outcome.report["test"] is None and outcome.report["reward_model"] is False and outcome.model is not None
    assert outcome.model.labels["evaluated"] == "false" and "not evaluated" in (outcome.run_dir / "model_card.md").read_text()


def test_the_reward_model_sees_only_the_context(abuse_table):
    table = pd.read_parquet(abuse_table).head(500)
    cols = pipeline.columns(table, "user_id", "abuse")
    net = model.fit(matrix(table, cols.features), [cols.features.index(c) for c in cols.context], cols.features.index(cols.gain),
                    model.FitConfig(epochs=2))
    assert net.gain == cols.features.index("gain_total") and "gain_total" not in cols.context
