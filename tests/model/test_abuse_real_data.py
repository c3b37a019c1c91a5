"""Bring your own table, on real data: the NASA shuttle sensor readings that ship with river (49,097
rows, 7% anomalies; the ODDS benchmark's version). The autoencoder finds the anomalies, but an
IsolationForest ranks them better on these nine near-discrete sensors, and the gate refuses to
register a scorer that does not beat it."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pandas as pd

from tests.conftest import run_cli


def shuttle_csv(folder: Path) -> Path:
    """river's copy of the data set, read from the installed package without importing river."""
    data = Path(importlib.util.find_spec("river").submodule_search_locations[0]) / "datasets" / "shuttle.csv.gz"
    with gzip.open(data) as rows:
        table = pd.read_csv(rows)
    path = folder / "shuttle.csv"
    table.rename_axis("row").reset_index().to_csv(path, index=False)
    return path


def test_on_real_sensor_data_the_gate_refuses_a_scorer_that_does_not_beat_the_forest(tmp_path):
    result = run_cli("train", "abuse", "--data", str(shuttle_csv(tmp_path)), "--id", "row", "--label", "anomaly",
                     "--review-capacity", "500", "--epochs", "20", "--runs-dir", str(tmp_path), "--json", check=False)
    report = json.loads(result.stdout)
    assert result.returncode == 3 and "quality gate failed, nothing registered" in result.stderr and report["tag"] is None
    ours, forest = report["test"]["autoencoder + reward residual"], report["test"]["isolation forest"]
    assert report["rows"] == {"train": 34_529, "test": 14_568} and report["reward_model"] is False
    assert ours["roc_auc"] > 0.95 and ours["roc_auc"] > report["test"]["rules"]["roc_auc"]  # it does find them
    assert forest["pr_auc"] > ours["pr_auc"]
    assert any("isolation forest" in failure for failure in report["gate_failures"])
