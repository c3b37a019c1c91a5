"""JSON requests answered past BentoML's API layer (bentos/common/fastpath.py), over real HTTP: in
the event loop up to SMALL_BODY and on a thread past it, with the same bytes and headers as
BentoML's own path, which a chunked body still takes, and which the adaptive batcher's own metric
tells apart."""

from __future__ import annotations

import re

import httpx
import orjson
import pandas as pd
import pytest

from bentos.common.fastpath import SMALL_BODY
from tests.conftest import error_of, post
from training.abuse.serving.features import FEATURES
from training.spend import data


def one_user() -> bytes:
    frame = data.generate(3, seed=11).frame.drop(columns=[data.TARGET, data.GROUP])
    return orjson.dumps({"users": orjson.loads(frame.head(1).to_json(orient="records"))})


@pytest.fixture(params=["spend", "abuse"])
def route(request, spend_server, abuse_server, abuse_table):
    if request.param == "spend":
        return spend_server.url, "/predict", one_user()
    window = pd.read_parquet(abuse_table)[["user_id", *FEATURES]].head(1)
    return abuse_server.url, "/score", orjson.dumps({"windows": orjson.loads(window.to_json(orient="records"))})


def batched_calls(url: str, route: str) -> float:
    """The adaptive batcher's calls of the route's method so far (BentoML's own metric)."""
    pattern = re.compile(rf'^bentoml_service_adaptive_batch_size_count\{{[^}}]*method_name="{route.strip("/")}"[^}}]*\}} ([0-9.e+]+)$', re.M)
    return sum(float(value) for value in pattern.findall(httpx.get(f"{url}/metrics", timeout=10).text))


def padded(body: bytes, size: int) -> bytes:
    """The same JSON, `size` bytes long."""
    return body[:-1] + b" " * (size - len(body)) + body[-1:]


def test_a_request_is_answered_as_bentoml_answers_it_without_the_batcher(route):
    url, path, body = route
    headers = {"content-type": "application/json"}
    before = batched_calls(url, path)
    fast = post(f"{url}{path}", content=body, headers=headers, timeout=30)
    threaded = post(f"{url}{path}", content=padded(body, 4 * SMALL_BODY), headers=headers, timeout=30)
    assert len(body) <= SMALL_BODY
    assert batched_calls(url, path) == before  # neither went through BentoML's API layer
    slow = post(f"{url}{path}", content=iter([body]), headers=headers, timeout=30)  # chunked: no declared length
    assert batched_calls(url, path) == before + 1
    assert fast.status_code == threaded.status_code == slow.status_code == 200, (fast.text, slow.text)
    assert fast.content == threaded.content == slow.content
    assert fast.headers["content-type"] == slow.headers["content-type"] == "application/json"
    assert fast.headers["server"] == slow.headers["server"] and fast.headers["server"].startswith("BentoML Service/")
    assert re.fullmatch(r"[0-9a-f]{16}", fast.headers["x-bentoml-request-id"])
    assert fast.headers["x-bentoml-request-id"] != slow.headers["x-bentoml-request-id"]


def test_a_small_bad_request_gets_bentomls_400_naming_the_field(route):
    url, path, body = route
    broken = body.replace(b'"user_id":', b'"user_id":{"nested":1},"_":', 1)
    response = post(f"{url}{path}", content=broken, headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["fields"] and all(".user_id" in f["field"] for f in error["fields"]) and "user_id" in error["message"]
