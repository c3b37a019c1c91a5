"""The abuse service over real HTTP with a real Redis: windows scored in batches, events ingested
into the online store and a user scored from it exactly as from the batch features, bad input
refused by field, and the service still serving afterwards."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from tests.conftest import post, run_cli, start_server, stop_server
from training.abuse.serving.features import FEATURES


@pytest.fixture(scope="module")
def abuse_url(abuse_server) -> str:
    return abuse_server.url


def windows(table: pd.DataFrame) -> list[dict]:
    return table[["user_id", *FEATURES]].to_dict(orient="records")


def test_windows_are_scored_ranked_and_explained(abuse_url, abuse_table):
    table = pd.read_parquet(abuse_table)
    sample = pd.concat([table[table["abuse"] == "none"].head(40), table[table["abuse"] == "craft_macro"].head(5)])
    response = post(f"{abuse_url}/score", json={"windows": windows(sample)}, timeout=60)
    assert response.status_code == 200, response.text
    results = response.json()
    assert [r["user_id"] for r in results] == sample["user_id"].tolist()
    assert all(r["model_version"].startswith("abuse:") and len(r["top_features"]) == 3 for r in results)
    normal, macros = results[:40], results[-5:]
    # percentiles are among all training users, abusers included: the top 1% (flagged) is mostly abusers
    assert all(r["percentile"] > 97 for r in macros) and any(r["flagged"] for r in macros)
    assert sum(r["flagged"] for r in normal) <= 2 and np.median([r["percentile"] for r in normal]) < 80
    assert {f["feature"] for r in macros for f in r["top_features"]} <= set(FEATURES)


def test_events_ingested_online_score_as_the_batch_features(abuse_url, abuse_table):
    events = pd.read_parquet(abuse_table.with_name("events.parquet"))
    users = events["user_id"].drop_duplicates().sample(6, random_state=1).tolist()
    chosen = events[events["user_id"].isin(users)].sort_values("time", kind="stable")
    for start in range(0, len(chosen), 2000):
        batch = chosen.iloc[start:start + 2000].to_dict(orient="records")
        response = post(f"{abuse_url}/events", json={"events": batch}, timeout=60)
        assert response.status_code == 200 and response.json()["events"] == len(batch), response.text
    table = pd.read_parquet(abuse_table).set_index("user_id").loc[users].reset_index()
    batch_scores = {r["user_id"]: r["score"] for r in post(f"{abuse_url}/score", json={"windows": windows(table)}, timeout=60).json()}
    for user in users:
        online = post(f"{abuse_url}/score_user", json={"user_id": user}, timeout=60)
        assert online.status_code == 200, online.text
        assert online.json()["score"] == pytest.approx(batch_scores[user], rel=1e-5, abs=1e-5)


def test_a_retried_events_batch_with_event_ids_leaves_the_score_as_it_was(abuse_url):
    """The issue's case: the same 20-event batch sent again after a timeout raised the user's score."""
    batch = [{"user_id": "retry-1", "time": 100.0 + i, "kind": "reward", "gain": 500.0, "event_id": f"retry-1-{i}"} for i in range(20)]
    first = post(f"{abuse_url}/events", json={"events": batch}, timeout=60).json()
    score = post(f"{abuse_url}/score_user", json={"user_id": "retry-1"}, timeout=60).json()["score"]
    again = post(f"{abuse_url}/events", json={"events": batch}, timeout=60).json()
    assert (first["events"], first["duplicates"], again["events"], again["duplicates"]) == (20, 0, 0, 20)
    assert post(f"{abuse_url}/score_user", json={"user_id": "retry-1"}, timeout=60).json()["score"] == score


@pytest.mark.parametrize(("path", "body", "field"), [
    ("score", {"windows": []}, "windows"),
    ("score", {"windows": [{"user_id": "a"}]}, "gain_total"),
    ("score", "CORRUPT", None),
    ("events", {"events": [{"user_id": "a", "time": 1, "kind": "teleport"}]}, "kind"),
    ("events", {"events": [{"user_id": "a", "time": -5, "kind": "craft"}]}, "time"),
    ("events", {"events": [{"user_id": "a", "time": 1, "kind": "craft", "gain": "lots"}]}, "gain"),
    ("events", {"events": [{"user_id": "", "time": 1, "kind": "craft"}]}, "user_id"),
])
def test_bad_input_is_a_4xx_naming_the_field(abuse_url, path, body, field):
    response = (post(f"{abuse_url}/{path}", content=body, headers={"content-type": "application/json"}, timeout=30)
                if isinstance(body, str) else post(f"{abuse_url}/{path}", json=body, timeout=30))
    assert 400 <= response.status_code < 500, response.text
    if field:
        assert field in response.text


def test_nan_infinity_and_unknown_users_are_refused(abuse_url, abuse_table):
    row = windows(pd.read_parquet(abuse_table).head(1))[0]
    for bad in (math.nan, math.inf):
        body = json.dumps({"windows": [{**row, "trade_return": bad}]})  # NaN / Infinity, as Python's json writes them
        response = post(f"{abuse_url}/score", content=body, headers={"content-type": "application/json"}, timeout=30)
        assert response.status_code == 400 and "trade_return" in response.text
    response = post(f"{abuse_url}/score_user", json={"user_id": "nobody"}, timeout=30)
    assert response.status_code == 404 and "user_id: no events for 'nobody'" in response.text
    huge = {"windows": [row] * 10_001}
    assert post(f"{abuse_url}/score", json=huge, timeout=60).status_code == 400
    assert post(f"{abuse_url}/score", json={"windows": [row]}, timeout=30).status_code == 200  # still serving
    assert np.isfinite(post(f"{abuse_url}/score", json={"windows": [row]}, timeout=30).json()[0]["score"])


def test_a_model_of_another_table_scores_its_windows_but_refuses_the_event_store(abuse_table, redis_url, tmp_path):
    """A model trained on a user's own table has other features than the event store keeps: /score
    takes that table's rows, /score_user is a 400 saying why."""
    columns = {f: f"sensor_{i}" for i, f in enumerate(FEATURES[:10])}
    own = pd.read_parquet(abuse_table).head(3000)[["user_id", *columns]].rename(columns=columns)
    own.to_parquet(tmp_path / "own.parquet")
    report = json.loads(run_cli("train", "abuse", "--data", str(tmp_path / "own.parquet"), "--epochs", "5",
                                "--runs-dir", str(tmp_path / "runs"), "--json").stdout)
    server = start_server("abuse", report["tag"], tmp_path / "abuse.log", "--redis-url", redis_url)
    try:
        scored = post(f"{server.url}/score", json={"windows": own.head(3).to_dict(orient="records")}, timeout=30)
        assert scored.status_code == 200 and [r["user_id"] for r in scored.json()] == own["user_id"].head(3).tolist()
        refused = post(f"{server.url}/score_user", json={"user_id": own["user_id"].iloc[0]}, timeout=30)
        assert refused.status_code == 400 and "user_id: this model was trained on another table's features" in refused.text
    finally:
        stop_server(server.process)
