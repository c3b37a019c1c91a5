"""`playserve data / train / predict abuse` as an ML engineer runs them, and a bad table's message."""

from __future__ import annotations

import json

import pandas as pd

from tests.conftest import run_cli


def test_data_writes_features_labels_and_events(abuse_table):
    table = pd.read_parquet(abuse_table)
    events = pd.read_parquet(abuse_table.with_name("events.parquet"))
    assert len(table) == 6000 and table["user_id"].is_unique and set(events["user_id"]) <= set(table["user_id"])
    assert set(table["abuse"]) == {"none", "craft_macro", "duplication", "exchange", "farming"}


def test_train_prints_held_out_metrics_and_predict_writes_id_and_score(abuse_trained, abuse_table, tmp_path):
    assert abuse_trained["tag"].startswith("abuse:") and abuse_trained["data"]["synthetic"] is False
    assert set(abuse_trained["test"]) == {"autoencoder + reward residual", "isolation forest", "rules"}
    out = tmp_path / "scores.csv"
    result = run_cli("predict", "abuse", "--data", str(abuse_table), "--out", str(out), "--model", abuse_trained["tag"])
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["user_id", "score"] and len(scores) == 6000 and "wrote 6,000 scores" in result.stderr


def test_a_table_missing_a_feature_is_refused_by_name(abuse_trained, abuse_table, tmp_path):
    broken = tmp_path / "broken.csv"
    pd.read_parquet(abuse_table).drop(columns="trade_return").to_csv(broken, index=False)
    result = run_cli("predict", "abuse", "--data", str(broken), "--out", str(tmp_path / "x.csv"), "--model", abuse_trained["tag"], check=False)
    assert result.returncode == 2 and "trade_return: missing column" in result.stderr


def test_training_on_a_table_without_the_named_label_fails_clearly(abuse_table):
    result = run_cli("train", "abuse", "--data", str(abuse_table), "--label", "is_cheater", check=False)
    assert result.returncode == 2 and "is_cheater: no such column" in result.stderr


def test_generated_default_reports_json(tmp_path):
    result = run_cli("train", "abuse", "--users", "2000", "--epochs", "10", "--review-capacity", "30", "--runs-dir", str(tmp_path), "--json", check=False)
    report = json.loads(result.stdout)
    assert report["data"]["synthetic"] is True and report["columns"]["label"] == "abuse" and report["rows"]["test"] > 500
