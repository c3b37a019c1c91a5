"""The spend service as a real process over real HTTP."""

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from bentos.common.observability import DRIFT_REFRESH_S
from playserve.paths import REPO_ROOT
from tests.conftest import error_of, post, start_server, stop_server
from training.common.drift import DEFAULT_WINDOW
from training.spend import data
from training.spend.scoring import load

EXAMPLE = json.loads((REPO_ROOT / "bentos/spend/example_request.json").read_text())
USER = EXAMPLE["users"][0]


def records(frame):
    return json.loads(frame.to_json(orient="records"))


def test_health_and_metrics(spend_server):
    assert httpx.get(f"{spend_server.url}/livez").status_code == 200
    assert httpx.get(f"{spend_server.url}/readyz").status_code == 200
    metrics = httpx.get(f"{spend_server.url}/metrics").text
    assert "bentoml_service_request_total" in metrics or "bentoml_service_request_duration_seconds" in metrics


def metric(server, name: str, **labels) -> float:
    """The value of one series from /metrics, 0 when it is not there yet."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(httpx.get(f"{server.url}/metrics").text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return sample.value
    return 0.0


def test_model_metrics_follow_traffic(trained, tmp_path):
    """On a server of its own, so earlier tests' traffic is in no worker's drift window. Each drift
    refresh adds all workers' windows up, so the PSI is the replica's whichever worker refreshed."""
    server = start_server("spend", trained.model.tag, tmp_path / "spend.log")
    try:
        assert metric(server, "playserve_model_info", model="spend", version=trained.model.tag) == 1
        usual = data.generate(DEFAULT_WINDOW, seed=31).frame.drop(columns=[data.TARGET, data.GROUP])
        chunks = [records(usual.iloc[start:start + 100]) for start in range(0, len(usual), 100)]
        with ThreadPoolExecutor(8) as pool:  # spread over the workers
            assert set(pool.map(lambda users: predict(server, users), chunks)) == {200}
        assert metric(server, "playserve_prediction_count", model="spend", output="expected_spend") == DEFAULT_WINDOW
        assert 0 < age_psi(server, lambda psi: psi > 0) < 0.1  # the training population: stable
        assert predict(server, records(usual.assign(age=usual.age + 30))) == 200  # all in one worker's window
        assert age_psi(server, lambda psi: psi > 0.25) > 0.25
        for _ in range(4):  # refreshes of either worker, each with the shifted rows (before, a worker
            # that had none of them set the gauge to its own window's PSI)
            assert predict(server, chunks[0][:1]) == 200
            time.sleep(2 * DRIFT_REFRESH_S)
            assert metric(server, "playserve_feature_psi", model="spend", feature="age") > 0.25
    finally:
        stop_server(server.process)


def predict(server, users) -> int:
    return post(f"{server.url}/predict", json={"users": users}, timeout=60).status_code


def age_psi(server, settled, timeout: float = 10.0) -> float:
    """The age feature's PSI once `settled` says so (a refresh follows new rows within DRIFT_REFRESH_S)."""
    deadline = time.monotonic() + timeout
    while not settled(psi := metric(server, "playserve_feature_psi", model="spend", feature="age")) and time.monotonic() < deadline:
        time.sleep(0.1)
    return psi


def test_bad_input_is_counted_by_reason_and_field(spend_server):
    labels = {"model": "spend", "endpoint": "predict", "reason": "finite_number", "field": "users.topup_amount"}
    before = metric(spend_server, "playserve_validation_failures_total", **labels)
    bad = {"users": [{**USER, "topup_amount": float("inf")}]}
    response = post(f"{spend_server.url}/predict", content=json.dumps(bad), headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert metric(spend_server, "playserve_validation_failures_total", **labels) == before + 1


def test_predictions_match_the_model_in_process(spend_server, trained):
    frame = data.generate(2_000, seed=77).frame
    response = post(f"{spend_server.url}/predict", json={"users": records(frame)}, timeout=60)
    assert response.status_code == 200
    body = response.json()
    expected, probability = load(trained.model.tag)[1].predict(frame)
    assert [r["user_id"] for r in body] == frame[data.ID].tolist()
    np.testing.assert_allclose([r["expected_spend"] for r in body], expected, rtol=1e-9)
    np.testing.assert_allclose([r["payer_probability"] for r in body], probability, rtol=1e-9)
    assert {r["model_version"] for r in body} == {trained.model.tag}


def test_concurrent_small_requests_are_batched_correctly(spend_server):
    frame = data.generate(64, seed=5).frame
    users = records(frame)

    def one(i):
        return post(f"{spend_server.url}/predict", json={"users": [users[i]]}, timeout=30).json()[0]

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(len(users))))
    assert [a["user_id"] for a in answers] == frame[data.ID].tolist()  # each caller got its own row back


BAD = [
    ({"users": [{**USER, "age": "old"}]}, "age"),
    ({"users": [{k: v for k, v in USER.items() if k != "topup_count"}]}, "topup_count"),
    ({"users": []}, "users"),
    ({"users": [{**USER, "gender": 3}]}, "gender"),
    ({"users": [{**USER, "gender": "robot"}]}, "'female', 'male' or 'unknown'"),
    ({"users": [{**USER, "age": "30"}]}, "age"),
    ({"customers": [USER]}, "users"),
    ({"users": [USER] * 20_001}, "users"),
]


@pytest.mark.parametrize("body, field", BAD, ids=["wrong type", "missing column", "empty list", "number as category", "unknown category", "number as string", "wrong key", "too many"])
def test_bad_input_is_a_4xx_naming_the_field(spend_server, body, field):
    response = post(f"{spend_server.url}/predict", json=body, timeout=60)
    assert response.status_code == 400
    assert field in json.dumps(error_of(response)["fields"]), response.text


def test_a_category_in_another_case_is_the_same_category(spend_server):
    answers = [post(f"{spend_server.url}/predict", json={"users": [{**USER, "gender": g}]}, timeout=30).json()[0] for g in ("male", "MALE")]
    assert answers[0] == answers[1]


@pytest.mark.parametrize("raw", [b'{"users": [{"age": NaN}]}', b'{"users": [ {', b"", b"\xff\xfe"])
def test_nan_and_broken_json_are_4xx(spend_server, raw):
    body = raw.replace(b'{"age": NaN}', json.dumps({**USER, "age": math.nan}).encode()) if b"NaN" in raw else raw
    response = post(f"{spend_server.url}/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    if b"NaN" in raw:
        assert "age" in response.text


def test_still_serving_after_bad_input(spend_server):
    for body, _ in BAD[:3]:
        post(f"{spend_server.url}/predict", json=body)
    response = post(f"{spend_server.url}/predict", json=EXAMPLE)
    assert response.status_code == 200 and len(response.json()) == len(EXAMPLE["users"])


def test_nudge_effect_endpoint(spend_server):
    fresh = data.generate(8_000, seed=321)
    frame = fresh.frame.rename(columns={data.TARGET: "actual_spend"})
    response = post(f"{spend_server.url}/nudge_effect", json={"users": records(frame), "bootstrap": 300}, timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["nudged"]["users"] + body["control_placebo"]["users"] == len(frame)
    assert len(body["uplift"]) == len(frame)
    low, high = body["bias_adjusted"]["ci95"]
    assert low < fresh.injected_effect < high


def test_nudge_effect_refuses_unknown_groups(spend_server):
    users = [{**USER, "group": g, "actual_spend": 100.0} for g in ("control", "control", "nudged", "treatment")]
    response = post(f"{spend_server.url}/nudge_effect", json={"users": users})
    assert response.status_code == 400 and "group" in response.text


def upload(server, raw: bytes, name: str = "users.parquet"):
    return post(f"{server.url}/predict_table", files={"table": (name, raw)}, timeout=60)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_bulk_table_upload_matches_the_model(spend_server, trained, kind, tmp_path):
    frame = data.generate(5_000, seed=78).frame
    path = tmp_path / f"users.{kind}"
    frame.to_parquet(path) if kind == "parquet" else frame.to_csv(path, index=False)
    response = upload(spend_server, path.read_bytes(), path.name)
    assert response.status_code == 200, response.text
    body = response.json()
    expected, probability = load(trained.model.tag)[1].predict(frame)
    assert body["user_id"] == frame[data.ID].tolist() and body["model_version"] == trained.model.tag
    np.testing.assert_allclose(body["expected_spend"], expected, rtol=1e-9)
    np.testing.assert_allclose(body["payer_probability"], probability, rtol=1e-9)


def _parquet(frame) -> bytes:
    return frame.to_parquet()  # pyarrow writes it, as clients' tools do


BAD_UPLOADS = {
    "empty": (b"", "empty upload"),
    "truncated parquet": (_parquet(data.generate(50, seed=1).frame)[:-100], "truncated"),
    "missing column": (_parquet(data.generate(50, seed=1).frame.drop(columns=["topup_amount"])), "topup_amount"),
    "wrong type": (_parquet(data.generate(50, seed=1).frame.assign(age="old")), "age"),
    "unknown category": (_parquet(data.generate(50, seed=1).frame.assign(gender="robot")), "allowed: female, male, unknown"),
    "not a table": (bytes(range(256)) * 4, "not a readable"),
    "header only": (b"user_id,age\n", "no rows"),
}


@pytest.mark.parametrize("raw, message", BAD_UPLOADS.values(), ids=BAD_UPLOADS.keys())
def test_bad_uploads_are_4xx_naming_the_problem(spend_server, raw, message):
    response = upload(spend_server, raw)
    assert response.status_code == 400 and message in response.text, response.text
