"""The shared service-metrics helper: 400 answers classified by field and reason, bulk histogram
observation identical to prometheus_client's own, and the metric names services expose."""

import json
import time

import numpy as np
import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest

from bentos.common.errors import problem
from bentos.common.observability import ServiceMetrics, failure_reasons, observe_many


def test_pydantic_errors_become_field_and_type_without_record_indices():
    body = json.dumps({"error": "2 validation errors", "detail": [
        {"type": "missing", "loc": ["users", 0, "age"], "msg": "Field required"},
        {"type": "missing", "loc": ["users", 1, "age"], "msg": "Field required"},
        {"type": "finite_number", "loc": ["users", 1, "topup_amount"], "msg": "Input should be a finite number"},
    ]}).encode()
    assert failure_reasons(problem(400, body)) == {("users.age", "missing"), ("users.topup_amount", "finite_number")}


def test_service_errors_name_their_field():
    assert failure_reasons(problem(400, b'[{"error": "table: truncated Parquet file"}]')) == {("table", "invalid_argument")}
    assert failure_reasons(problem(400, b'[{"error": "images[3]: the file is truncated"}]')) == {("images", "invalid_argument")}
    assert failure_reasons(problem(400, b'[{"error": "something odd"}]')) == {("<request>", "invalid_argument")}


@pytest.mark.parametrize("body", [b"", b"not json", b'{"unexpected": 1}'])
def test_unknown_bodies_are_counted_not_raised(body):
    assert failure_reasons(problem(400, body)) == {("<body>", "unparsed")}


def _exposition(registry) -> list[str]:
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


@pytest.mark.parametrize("values", [np.r_[np.random.default_rng(0).lognormal(8, 2, 5_000), [0.0, 100.0, np.nan]],
                                    np.array([0.0, 100.0, np.nan, 7.0, 60_000.0])], ids=["counted with numpy", "a few, one by one"])
def test_observe_many_counts_exactly_like_observe(values):
    one, many = CollectorRegistry(), CollectorRegistry()
    single = Histogram("h", "h", buckets=[0, 100, 1_000, 50_000], registry=one)
    bulk = Histogram("h", "h", buckets=[0, 100, 1_000, 50_000], registry=many)
    for value in values[~np.isnan(values)]:
        single.observe(value)
    observe_many(bulk, values)
    buckets = lambda lines: [line for line in lines if "_bucket" in line or "_count" in line]  # noqa: E731
    assert buckets(_exposition(one)) == buckets(_exposition(many))
    assert float(_exposition(many)[-1].split()[-1]) == pytest.approx(np.nansum(values))


def test_service_metrics_expose_info_predictions_rows_and_drift():
    import pandas as pd

    reference = {"x": {"edges": [1.0, 2.0], "shares": [0.3, 0.4, 0.3], "missing_share": 0.0}}
    metrics = ServiceMetrics("unit", "unit:v1", "abc123", reference=reference, window=10)
    metrics.drift.min_rows = 10
    metrics.observe("predict", {"score": [0.2, 0.7, 0.9]}, pd.DataFrame({"x": [5.0] * 10}))
    for _ in range(100):  # PSI is counted in a thread of its own, once rows have arrived
        text = "\n".join(_exposition(REGISTRY))
        if "playserve_feature_psi{" in text:
            break
        time.sleep(0.05)
    assert 'playserve_model_info{git_sha="abc123",model="unit",version="unit:v1"} 1.0' in text
    assert 'playserve_prediction_bucket{le="0.5",model="unit",output="score"} 1.0' in text
    assert 'playserve_input_rows_count{endpoint="predict",model="unit"} 1.0' in text
    psi = float(next(line for line in text.splitlines() if line.startswith('playserve_feature_psi{feature="x",model="unit"}')).split()[-1])
    assert psi > 1  # every row above the top decile edge
