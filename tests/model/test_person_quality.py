"""The person detector from a clean store: the packaged YOLO weights registered by default, exact
counts on real photos against OpenCV's HOG, ONNX parity with PyTorch and with ultralytics' own
predictions, and fine-tuning's mechanics on a generated dataset."""

from __future__ import annotations

import json
import os

import numpy as np

from tests.conftest import run_cli
from training.common.store import get
from training.person import export, photos
from training.person.serving import detector
from training.person.serving.audience import Audience
from training.person.pipeline import packaged_weights


def test_real_photos_are_counted_exactly_where_hog_is_not(person_trained):
    real = person_trained["real_photos"]
    counts = {row["photo"]: row for row in real["photos"]}
    for name in ("bus", "zidane", "astronaut", "camera", "china", "motorcycle", "coffee", "rocket"):
        assert counts[name]["yolo"] == photos.PEOPLE[name], name
    assert counts["bus"]["hog"] < 4 and counts["zidane"]["hog"] < 2
    yolo, hog = real["summary"]["yolo"], real["summary"]["hog"]
    assert yolo["exact_count"] >= 8 > hog["exact_count"] and yolo["people_found"] >= 8 > hog["people_found"]
    # the misses the model card names: Grace Hopper's portrait, a person seen in a flower and a cat
    assert (counts["grace_hopper"]["yolo"], counts["flower"]["yolo"] > 0, counts["chelsea"]["yolo"]) == (0, True, 1)


def test_onnx_matches_pytorch_and_ultralytics(person_trained):
    check = person_trained["onnx_parity"]
    assert check["raw_max_score"] < 1e-4 and check["raw_max_box_px"] < 0.05
    assert check["ultralytics_counts_equal"] == check["images"] == len(photos.PEOPLE) and check["confident_people_matched"] >= 14
    assert check["ultralytics_min_iou"] > export.PARITY_MIN_IOU


def test_the_stored_model_counts_and_judges_attention_without_torch(person_trained):
    stored = get(person_trained["tag"])
    assert stored.labels["source"] == "packaged" and stored.labels["synthetic"] == "false"
    assert {f.name for f in stored.path.iterdir()} >= {detector.ONNX_FILE, "model_card.md"} and not list(stored.path.glob("*.pt"))
    card = (stored.path / "model_card.md").read_text()
    assert "AGPL-3.0" in card and "| bus | 4 | 4 |" in card and "Result: passed" in card
    bus, zidane = Audience(stored.path).frames([photos.load("bus"), photos.load("zidane")])
    assert (len(bus), len(zidane)) == (4, 2)
    assert sum(v.looking for v in zidane) == 2 and 2 <= sum(v.looking for v in bus) <= 4


def test_the_served_pipeline_finds_the_people_ultralytics_finds():
    """Directly, on the packaged weights: every person ultralytics predicts on bus.jpg is one of ours."""
    ours = detector.PersonDetector(get("person:latest").path / detector.ONNX_FILE).detect([photos.load("bus")])[0]
    theirs = export.ultralytics_people(packaged_weights(), photos.load("bus"))
    pairs = export.matched(ours, theirs)
    assert len(ours) == len(theirs) == 4 and min(p[0] for p in pairs) > export.PARITY_MIN_IOU
    assert max(p[1] for p in pairs) < 0.05 and np.all([p.confidence >= detector.MIN_CONFIDENCE for p in ours])


def test_fine_tuning_on_a_yolo_dataset_beats_the_packaged_weights_and_hog_held_out(tmp_path):
    """On generated figures, in a store of its own so the served default stays the packaged model."""
    folder = tmp_path / "people"
    created = json.loads(run_cli("data", "person", "--out", str(folder), "--images", "60", "--seed", "1").stdout)
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "store")}
    result = run_cli("train", "person", "--data", created["data"], "--epochs", "3", "--image-size", "320",
                     "--runs-dir", str(tmp_path / "runs"), "--json", env=env)
    report = json.loads(result.stdout)
    test = report["fine_tuning"]["test"]
    assert report["passed_gate"] and report["fine_tuning"]["synthetic"] is True
    assert test["fine-tuned"]["map50"] > 0.3 and test["fine-tuned"]["map50_95"] > max(test["packaged"]["map50_95"], test["hog"]["map50_95"])
    assert test["fine-tuned"]["count_mae"] < test["hog"]["count_mae"]
    card = (tmp_path / "runs").rglob("model_card.md").__next__().read_text()
    assert "drawn figures, not people" in card and "must not be served" in card
