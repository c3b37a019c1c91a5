"""The benchmark harness in a bounded form: every mode and the floor run, driven by hey, without
errors, and the ratios are what the measured throughputs say."""

from __future__ import annotations

import json
import os

import pytest

from load import bench, floor
from load.workloads import abuse as abuse_workload
from load.workloads import emotion as emotion_workload
from playserve import local_redis


def trained_tag(model: str, request) -> str:
    if model == "spend":
        return str(request.getfixturevalue("trained").model.tag)
    return request.getfixturevalue(f"{model}_trained")["tag"]


def test_bench_measures_bare_served_unbatched_and_the_floor_at_every_concurrency(trained, tmp_path):
    bench.main(["spend", "--model-tag", str(trained.model.tag), "--requests", "64", "--results", str(tmp_path)])
    report = json.loads((tmp_path / "bench-spend.json").read_text())
    assert set(report["modes"]) == {"bare", "batching", "no_batching"}
    check_modes(report, 64)
    for i, (ratio, a, b, c) in enumerate(zip(report["ratios"], *report["modes"].values())):
        assert ratio["batching_over_bare"] == b["requests_per_s"] / a["requests_per_s"]
        assert ratio["batching_over_no_batching"] == b["requests_per_s"] / c["requests_per_s"]
        for kind, rows in report["floor"].items():
            assert ratio[f"batching_over_{kind}"] == b["requests_per_s"] / rows[i]["requests_per_s"]
    # one user per request: answered in the event loop (bentos/common/fastpath.py), never batched
    assert report["batches"]["no_batching"]["calls"] == report["batches"]["batching"]["calls"] == 0
    text = (tmp_path / "bench-spend.md").read_text()
    assert "(b)/(c) throughput" in text and "(c) service, batching off called the model 0 times" in text
    assert "(b)/mounted echo throughput" in text and "uvicorn (httptools)" in text


def test_wallhack_bench_measures_screenshots_bare_served_and_batched_in_process(request, tmp_path):
    """No adaptive batching in the wallhack service, so no (c); (a) runs c threads of one screenshot."""
    bench.main(["wallhack", "--model-tag", trained_tag("wallhack", request), "--requests", "32", "--results", str(tmp_path)])
    report = json.loads((tmp_path / "bench-wallhack.json").read_text())
    assert set(report["modes"]) == {"bare", "batching"} and not report["batched"] and not report["adaptive"]
    check_modes(report, 32)
    assert report["extra"]["bare_batched_per_s"] > 0
    text = (tmp_path / "bench-wallhack.md").read_text()
    assert "(b) service (no adaptive batching)" in text and "On batches of 8 screenshots" in text


def check_modes(report: dict, requests: int, levels: tuple[int, ...] = bench.CONCURRENCY) -> None:
    """Every row, the floor's included, ran all its requests without errors. Every row is sent in
    turns; in each, a bare batched row calls the model on whole batches of `concurrency` inputs, so
    it rounds up, and hey sends the same number on each connection, so a served row rounds down."""
    def bare_sent(c: int) -> int:
        turns = bench.rounds(requests, c)
        per_turn = requests // turns
        return turns * (-(-per_turn // c) * c if report["batched"] else per_turn)

    for mode, results in [*report["modes"].items(), *report["floor"].items()]:
        assert [r["concurrency"] for r in results] == list(levels), mode
        for r in results:
            c = r["concurrency"]
            sent = bare_sent(c) if mode == "bare" else bench.paired_sent(requests, c)
            assert r["errors"] == 0 and r["requests"] == sent and r["requests_per_s"] > 0, (mode, r)
    assert set(report["floor"]) == set(floor.KINDS)
    capacity = report["capacity"]
    assert capacity["served_over_bare"] == capacity["best_served_per_s"] / capacity["best_bare_per_s"]
    assert capacity["replica_per_day"] == capacity["best_served_per_s"] * 86_400


def test_emotion_bench_measures_frames_bare_and_served_and_a_session_report(request, tmp_path, monkeypatch):
    """No adaptive batching in the emotion service, so no (c); the session video is cut to 6 s here."""
    monkeypatch.setattr(emotion_workload, "SESSION_MINUTES", 0.1)
    bench.main(["emotion", "--model-tag", trained_tag("emotion", request), "--requests", "16", "--results", str(tmp_path)])
    report = json.loads((tmp_path / "bench-emotion.json").read_text())
    assert set(report["modes"]) == {"bare", "batching"} and not report["adaptive"]
    check_modes(report, 16)
    assert all(set(r) == {"concurrency", "batching_over_bare", *(f"batching_over_{kind}" for kind in floor.KINDS)} for r in report["ratios"])
    extra = report["extra"]
    assert extra["sampled_frames"] == 12 and extra["bare_report_s"] > 0 and extra["served_frames_per_s"] == 12 / extra["served_report_s"]
    text = (tmp_path / "bench-emotion.md").read_text()
    assert "(b) service (no adaptive batching)" in text and "(b)/(c)" not in text and "live sessions" in text and "Session report" in text


def test_person_bench_measures_frames_bare_and_served_and_the_hog_comparison(request, tmp_path):
    """No adaptive batching in the person service, so no (c); (a) runs c threads of one frame."""
    bench.main(["person", "--model-tag", trained_tag("person", request), "--requests", "8", "--concurrency", "1", "8",
                "--results", str(tmp_path)])
    report = json.loads((tmp_path / "bench-person.json").read_text())
    assert set(report["modes"]) == {"bare", "batching"} and not report["batched"] and not report["adaptive"]
    check_modes(report, 8, (1, 8))
    text = (tmp_path / "bench-person.md").read_text()
    assert "(b) service (no adaptive batching)" in text and "| bus | 4 | 4 | 1 |" in text and "**all 11 photos** | 9 | 8 found" in text


def test_abuse_bench_measures_windows_bare_and_served_and_events_into_redis(request, tmp_path):
    bench.main(["abuse", "--model-tag", trained_tag("abuse", request), "--requests", "32", "--results", str(tmp_path)])
    report = json.loads((tmp_path / "bench-abuse.json").read_text())
    assert set(report["modes"]) == {"bare", "batching", "no_batching"} and report["batched"]
    check_modes(report, 32)
    extra = report["extra"]
    assert extra["events"] == abuse_workload.EVENTS and extra["events_errors"] == 0 == extra["batched_errors"]
    assert extra["bare_events_per_s"] > 0 and extra["served_events_per_s"] > 0
    # a request of 100 windows scores far more users a second than 100 requests of one
    assert extra["served_users_per_s_batched"] > 3 * report["capacity"]["best_served_per_s"]
    assert len(extra["served_users_per_s_runs"]) == bench.ROUNDS and min(extra["served_users_per_s_runs"]) > 0
    text = (tmp_path / "bench-abuse.md").read_text()
    assert "Game events into the online feature store" in text and "Users scored in 100-window requests" in text
    assert local_redis.ENV not in os.environ  # the run's own Redis, stopped with it


@pytest.mark.parametrize("option", [["--concurrency", "1", "0"], ["--requests", "-5"]])
def test_bench_refuses_a_count_below_one_before_starting_anything(option, capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(["spend", *option])
    assert exit_.value.code == 2 and "at least 1 expected" in capsys.readouterr().err
