"""The serving floor (load/floor.py) in a bounded run: the three echo servers answer every request
hey sends, with the echo's own bytes, and the report says what was measured."""

from __future__ import annotations

import json

import httpx
import orjson
import pytest

from load import floor, hey
from playserve import services


def test_every_echo_answers_the_record_it_was_sent():
    for kind in floor.KINDS:
        process, url = floor.serve(kind)
        try:
            answer = httpx.post(url, content=floor.BODY, headers={"content-type": "application/json"}, timeout=10)
            assert answer.status_code == 200 and orjson.loads(answer.content) == [floor.RECORD], (kind, answer.text)
            wrong = httpx.post(url, content=b'{"records": [{"user_id": 1}]}', headers={"content-type": "application/json"}, timeout=10)
            assert wrong.status_code != 200, kind  # each validates what it echoes
        finally:
            services.stop(process)


def test_the_floor_is_measured_by_hey_at_every_concurrency(tmp_path):
    floor.main(["--requests", "64", "--results", str(tmp_path)])
    report = json.loads((tmp_path / "floor.json").read_text())
    assert set(report["floor"]) == set(floor.KINDS)
    for kind, rows in report["floor"].items():
        assert [r["concurrency"] for r in rows] == [1, 8, 32]
        assert all(r["errors"] == 0 and r["requests_per_s"] > 0 and r["p50_ms"] <= r["p99_ms"] for r in rows), (kind, rows)
    # Python's ASGI floor carries none of BentoML's layers: on any machine it answers more
    assert max(r["requests_per_s"] for r in report["floor"]["asgi"]) > max(r["requests_per_s"] for r in report["floor"]["bentoml_api"])
    assert "uvicorn (httptools)" in (tmp_path / "floor.md").read_text()


def test_hey_figures_count_unanswered_and_refused_requests_as_errors():
    rows = [{"response-time": "0.002", "offset": "0.000", "status-code": "200"},
            {"response-time": "0.004", "offset": "0.001", "status-code": "503"}]
    figures = hey.figures(hey.answers(rows, requests=3, concurrency=1))
    assert figures["errors"] == 2 and figures["requests"] == 3
    assert figures["requests_per_s"] == 1 / 0.005  # answered 200s over the run's span
    assert figures["p50_ms"] == 3.0


def test_hey_runs_taken_as_one_add_their_requests_answers_and_time():
    first = hey.answers([{"response-time": "0.002", "offset": "0.000", "status-code": "200"}], requests=1, concurrency=1)
    second = hey.answers([{"response-time": "0.004", "offset": "0.004", "status-code": "200"},
                          {"response-time": "0.006", "offset": "0.008", "status-code": "200"}], requests=2, concurrency=1)
    figures = hey.figures(first, second)
    assert figures["requests"] == 3 and figures["errors"] == 0
    assert figures["requests_per_s"] == pytest.approx(3 / (0.002 + 0.014))  # each run's own span, added
    assert figures["p50_ms"] == 4.0


def test_the_service_and_the_floor_take_turns_at_each_level():
    from load import bench

    calls = []

    def target(name):
        def run(concurrency, requests):
            calls.append((name, concurrency, requests))
            return hey.Run(concurrency, hey.sent(requests, concurrency), hey.sent(requests, concurrency), 1.0, (0.001,))
        return run

    rows = bench.in_turns({"service": target("service"), "echo": target("echo")}, (1, 8), 40)
    assert calls[:4] == [("service", 1, 8), ("echo", 1, 8)] * 2 and len(calls) == 2 * (5 + 5)
    assert [r["requests"] for r in rows["service"]] == [bench.paired_sent(40, 1), bench.paired_sent(40, 8)] == [40, 40]
    assert bench.rounds(40, 32) == 1 and bench.paired_sent(40, 32) == 32  # fewer turns than one request per connection needs
