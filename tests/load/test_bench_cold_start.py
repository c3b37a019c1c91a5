from load.bench_cold_start import render


def test_the_table_gives_each_model_and_place_its_median_and_verdict():
    report = {"when": "now", "machine": "here", "command": "python -m load.bench_cold_start", "target_s": 5.0,
              "runs_s": {"spend": {"project environment": [4.0, 6.0, 3.0], "image": [5.5, 6.5, 5.1]}}}
    table = render(report)
    assert "| spend | project environment | 4.0 | 4.0 / 6.0 / 3.0 | met |" in table
    assert "| spend | image | 5.5 | 5.5 / 6.5 / 5.1 | MISSED |" in table
