"""The fast path's share of the guard (bentos/common/fastpath.py), as ASGI: it answers only what
the layers behind it would let through, and leaves every refusal to them. The app behind stands
for BentoML's path and says whether a request reached it."""

from __future__ import annotations

import asyncio

import bentoml
import orjson
import pydantic

from bentos.common import traffic
from bentos.common.auth import KeysFile, keys_line, new_key
from bentos.common.fastpath import FastPath
from bentos.common.traffic import IDLE_BODY, InFlight, Pod

KEY = new_key()


class Row(pydantic.BaseModel):
    x: float


@bentoml.service(name="fastpath-unit")
class Echo:
    @bentoml.api
    def predict(self, rows: list[Row]) -> list[Row]:
        return rows


def guarded(tmp_path, pod: Pod, behind) -> FastPath:
    keys = tmp_path / "api-keys"
    keys.write_text(keys_line("tests", KEY) + "\n")
    return FastPath(behind, Echo, frozenset({"/predict"}), "echo", pod, KeysFile(keys))


async def bentoml_path(scope, receive, send):
    scope["reached"] = True
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"BentoML's answer"})


def post(app, key: str | None = KEY, arrives: bool = True) -> tuple[dict, int, dict]:
    body = orjson.dumps({"rows": [{"x": 1.0}]})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "method": "POST", "path": "/predict", "headers": headers + ([(b"x-api-key", key.encode())] if key else [])}
    sent = []

    async def receive():
        if not arrives:
            await asyncio.sleep(3600)
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, starts  # one answer, whoever gives it
    return scope, starts[0]["status"], dict(starts[0]["headers"])


def test_a_full_pod_refuses_a_fast_request_with_inflights_429(tmp_path):
    pod = Pod(slots=1, bulk_slots=1, body_bytes={"memory": 1 << 20, "disk": 1 << 20})
    pod.answering = 1  # one request is being answered: every slot is taken
    scope, status, headers = post(guarded(tmp_path, pod, InFlight(bentoml_path, pod, frozenset())))
    assert status == 429 and headers[b"retry-after"]  # InFlight's: BentoML's path is started, its receive says the client left
    assert pod.answering == 1 and pod.budgets["memory"].used == 0  # what the request held is given back


def test_a_request_without_a_valid_key_is_left_to_apikeys(tmp_path):
    pod = Pod(slots=4, bulk_slots=1, body_bytes={"memory": 1 << 20, "disk": 1 << 20})
    for key in (None, "not-a-key"):
        scope, status, _ = post(guarded(tmp_path, pod, bentoml_path), key=key)
        assert scope.get("reached") and "playserve.client" not in scope


def test_a_body_that_does_not_fit_the_pod_s_budget_is_left_to_inflight(tmp_path):
    pod = Pod(slots=4, bulk_slots=1, body_bytes={"memory": 10, "disk": 1 << 20})
    _, status, headers = post(guarded(tmp_path, pod, InFlight(bentoml_path, pod, frozenset())))
    assert status == 503 and headers[b"retry-after"]


def test_a_body_that_never_arrives_is_a_408(tmp_path, monkeypatch):
    monkeypatch.setattr(traffic, "BODY_IDLE_S", 0.05)
    pod = Pod(slots=4, bulk_slots=1, body_bytes={"memory": 1 << 20, "disk": 1 << 20})
    scope, status, _ = post(guarded(tmp_path, pod, bentoml_path), arrives=False)
    assert status == 408 and "reached" not in scope and pod.budgets["memory"].used == 0
    assert IDLE_BODY.startswith("request body: nothing arrived")
