"""`playserve predict emotion`, `report emotion` and `data emotion` as a user runs them, agreeing
with the service on the same stored model."""

from __future__ import annotations

import json

import cv2
import pytest
import skimage.data

from tests.conftest import post, run_cli


@pytest.fixture(scope="module")
def files(tmp_path_factory, session_video):
    folder = tmp_path_factory.mktemp("media")
    cv2.imwrite(str(folder / "astronaut.jpg"), skimage.data.astronaut()[..., ::-1])
    cv2.imwrite(str(folder / "coffee.png"), skimage.data.coffee()[..., ::-1])
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    return folder


def test_predict_images_and_a_video_as_json_lines_matching_the_service(files, session_video, emotion_trained, emotion_server):
    paths = [files / "astronaut.jpg", files / "coffee.png", session_video, files / "broken.jpg"]
    result = run_cli("predict", "emotion", *map(str, paths), "--model", emotion_trained["tag"], "--rate", "1", check=False)
    assert result.returncode == 1 and "analysed 3 of 4 files" in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    astronaut, coffee, *frames, broken = lines
    assert coffee == {"path": str(files / "coffee.png"), "faces": []}
    assert astronaut["faces"][0]["dominant"] == "happy" and set(astronaut["faces"][0]["emotions"]) >= {"happy", "neutral"}
    assert [f["time_s"] for f in frames] == [float(s) for s in range(24)] and all(f["path"] == str(session_video) for f in frames)
    assert [len(f["faces"]) for f in frames][:6] == [1, 1, 1, 1, 0, 0] and frames[0]["faces"][0]["track_id"] == 1
    assert broken["path"].endswith("broken.jpg") and "error" in broken
    served = post(f"{emotion_server.url}/predict", files=[("images", ("a.jpg", (files / "astronaut.jpg").read_bytes()))], timeout=60).json()
    assert served["results"][0]["faces"][0]["emotions"] == astronaut["faces"][0]["emotions"]


def test_report_writes_the_html_page_and_json(session_video, emotion_trained, tmp_path):
    page, data = tmp_path / "report.html", tmp_path / "report.json"
    result = run_cli("report", "emotion", str(session_video), "--out", str(page), "--json", str(data), "--model", emotion_trained["tag"])
    assert "48 frames analysed" in result.stderr and "main reaction" in result.stderr
    report = json.loads(data.read_text())
    assert report["summary"]["faces_tracked"] == 4 and len(report["timeline"]) == 24
    assert page.read_text().startswith("<!doctype html>") and "<svg" in page.read_text()


def test_report_on_a_file_that_is_not_a_video_names_the_problem(files, tmp_path):
    result = run_cli("report", "emotion", str(files / "astronaut.jpg"), "--out", str(tmp_path / "r.html"), check=False)
    assert result.returncode == 2 and "not a video" in result.stderr and not (tmp_path / "r.html").exists()


def test_train_refuses_a_folder_that_is_not_labelled_by_emotion(tmp_path):
    (tmp_path / "smiles").mkdir()
    result = run_cli("train", "emotion", "--data", str(tmp_path), "--runs-dir", str(tmp_path / "runs"), check=False)
    assert result.returncode == 2 and "smiles are not emotions" in result.stderr
