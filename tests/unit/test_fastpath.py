"""The fast path's share of the guard (bentos/common/fastpath.py), as ASGI: it answers only what
the layers behind it would let through, admits a body as InFlight does (traffic.Admission) and
leaves every other refusal to them. The app behind stands for BentoML's path and says whether a
request reached it."""

from __future__ import annotations

import asyncio

import bentoml
import orjson
import pydantic

from bentos.common import fastpath, traffic
from bentos.common.auth import KeysFile, keys_line, new_key
from bentos.common.fastpath import FastPath
from bentos.common.middleware import write_json_answers_in_one_pass
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
    return FastPath(behind, Echo, frozenset({"/predict"}), "echo", pod, keys=KeysFile(keys))


async def bentoml_path(scope, receive, send):
    scope["reached"] = True
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"BentoML's answer"})


def post(app, key: str | None = KEY, arrives: bool = True, body: bytes = orjson.dumps({"rows": [{"x": 1.0}]}),
         pieces: int = 1, declared: bool = True) -> tuple[dict, int, dict, bytes]:
    """The request's scope after the app, and the answer's status, headers and body; the body
    arrives in `pieces` messages, with its length declared or (chunked) not."""
    headers = [(b"content-type", b"application/json"), *([(b"content-length", str(len(body)).encode())] if declared else [])]
    scope = {"type": "http", "method": "POST", "path": "/predict", "headers": headers + ([(b"x-api-key", key.encode())] if key else [])}
    size = -(-len(body) // pieces)
    messages = [{"type": "http.request", "body": body[i:i + size], "more_body": i + size < len(body)} for i in range(0, len(body), size)]
    sent = []

    async def receive():
        if not arrives:
            await asyncio.sleep(3600)
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, starts  # one answer, whoever gives it
    return scope, starts[0]["status"], dict(starts[0]["headers"]), b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_a_full_pod_refuses_a_fast_request_with_the_admissions_429(tmp_path):
    pod = Pod(slots=1, bulk_slots=1, body_bytes={"memory": 1 << 20, "disk": 1 << 20})
    pod.answering = 1  # one request is being answered: every slot is taken
    scope, status, headers, _ = post(guarded(tmp_path, pod, InFlight(bentoml_path, pod, frozenset())))
    assert status == 429 and headers[b"retry-after"] and "reached" not in scope  # InFlight's answer, from the same Admission
    assert pod.answering == 1 and pod.budgets["memory"].used == 0  # what the request held is given back


def test_a_request_without_a_valid_key_is_left_to_apikeys(tmp_path):
    pod = Pod(slots=4, bulk_slots=1, body_bytes={"memory": 1 << 20, "disk": 1 << 20})
    for key in (None, "not-a-key"):
        scope, status, _, _ = post(guarded(tmp_path, pod, bentoml_path), key=key)
        assert scope.get("reached") and "playserve.client" not in scope


def test_a_body_that_does_not_fit_the_pod_s_budget_is_left_to_inflight(tmp_path):
    pod = Pod(slots=4, bulk_slots=1, body_bytes={"memory": 10, "disk": 1 << 20})
    _, status, headers, _ = post(guarded(tmp_path, pod, InFlight(bentoml_path, pod, frozenset())))
    assert status == 503 and headers[b"retry-after"]


def test_a_body_that_never_arrives_is_a_408(tmp_path, monkeypatch):
    monkeypatch.setattr(traffic, "BODY_IDLE_S", 0.05)
    pod = Pod(slots=4, bulk_slots=1, body_bytes={"memory": 1 << 20, "disk": 1 << 20})
    scope, status, _, _ = post(guarded(tmp_path, pod, bentoml_path), arrives=False)
    assert status == 408 and "reached" not in scope and pod.budgets["memory"].used == 0
    assert IDLE_BODY.startswith("request body: nothing arrived")


def echoed(monkeypatch) -> None:
    """The service's method, as the fast path calls it inside a running service."""
    monkeypatch.setattr(FastPath, "call", lambda self, name: Echo().predict)


def test_a_body_in_pieces_is_answered_whole_and_gives_back_what_it_held(tmp_path, monkeypatch):
    echoed(monkeypatch)
    pod = Pod(slots=4, bulk_slots=1, body_bytes={"memory": 1 << 20, "disk": 1 << 20})
    rows = [{"x": float(i)} for i in range(50)]
    scope, status, headers, answer = post(guarded(tmp_path, pod, bentoml_path), body=orjson.dumps({"rows": rows}), pieces=3)
    assert status == 200 and "reached" not in scope and orjson.loads(answer) == rows
    assert headers[b"content-length"] == str(len(answer)).encode()  # in one piece
    assert pod.answering == 0 and pod.budgets["memory"].used == 0


def test_a_body_past_small_body_is_answered_on_a_thread_and_a_chunked_one_left_to_bentoml(tmp_path, monkeypatch):
    echoed(monkeypatch)
    threads = []
    monkeypatch.setattr(fastpath.pools, "run", lambda pool, func, *args: threads.append(pool) or asyncio.sleep(0, func(*args)))
    pod = Pod(slots=4, bulk_slots=1, body_bytes={"memory": 1 << 22, "disk": 1 << 20})
    rows = orjson.dumps({"rows": [{"x": 1.0}]})
    larger = rows[:-1] + b" " * fastpath.SMALL_BODY + rows[-1:]
    scope, status, _, answer = post(guarded(tmp_path, pod, bentoml_path), body=larger, pieces=4)
    assert status == 200 and "reached" not in scope and orjson.loads(answer) == [{"x": 1.0}] and threads == ["answer"]
    scope, _, _, _ = post(guarded(tmp_path, pod, bentoml_path), body=rows, declared=False)
    assert scope.get("reached") and threads == ["answer"]


def test_json_answers_are_written_by_pydantic_core_in_one_pass_on_both_paths():
    @bentoml.service(name="answers-unit")
    class Answers:
        @bentoml.api
        def predict(self, rows: list[Row]) -> list[dict[str, float]]:
            return [{"x": row.x} for row in rows]

    spec = Answers.apis["predict"].output_spec
    answer = [{"x": 0.5}, {"x": float("nan")}, {"x": 1e-05}]
    assert spec(answer).model_dump_json() == '[{"x": 0.5}, {"x": NaN}, {"x": 1e-05}]'  # BentoML's: not JSON
    write_json_answers_in_one_pass(Answers)
    write_json_answers_in_one_pass(Answers)  # once is enough: a second call changes nothing
    assert spec(answer).model_dump_json() == '[{"x":0.5},{"x":null},{"x":0.00001}]'
