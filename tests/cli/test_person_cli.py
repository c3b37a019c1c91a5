"""`playserve predict person` on real photos and a recording, and a bad file named in its line."""

from __future__ import annotations

import json

from tests.conftest import run_cli
from training.person import photos


def test_predict_counts_people_per_image_and_per_video_frame(person_trained, ad_video, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(photos.ultralytics_asset("bus.jpg").read_bytes()[:3000])
    result = run_cli("predict", "person", str(photos.ultralytics_asset("bus.jpg")), str(photos.ultralytics_asset("zidane.jpg")),
                     str(ad_video), str(broken), "--model", person_trained["tag"], "--rate", "1", check=False)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    bus, zidane, *frames, error = lines
    assert result.returncode == 1 and "truncated" in error["error"] and error["path"] == str(broken)
    assert (bus["count"], zidane["count"], zidane["looking"]) == (4, 2, 2)
    assert all(set(p) == {"box", "confidence", "looking"} for p in bus["people"])
    assert [f["time_s"] for f in frames] == list(range(28)) and max(f["count"] for f in frames) == 4
    assert [f["count"] for f in frames if 7 <= f["time_s"] < 11] == [2, 2, 2, 2]
    zidane_tracks = {p["track_id"] for f in frames if 7 <= f["time_s"] < 11 for p in f["people"]}
    assert len(zidane_tracks) == 2  # the same two people through the scene
    assert "analysed 3 of 4 files" in result.stderr
