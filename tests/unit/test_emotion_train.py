"""The fine-tuning pipeline's inputs and gate: the generated expression folder, reading a labelled
folder (and refusing a bad one by name), the split, and what fails the quality gate."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from training.emotion import data, export, pipeline, train
from training.emotion.serving.expression import EMOTIONS, INPUT_SIZE


def test_generated_folder_has_every_emotion_and_marks_itself(tmp_path):
    assert data.write_folder(tmp_path, 12, seed=3) == 12 * len(EMOTIONS)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == sorted(EMOTIONS)
    assert (tmp_path / data.MARKER).exists()
    faces, labels = train.load_folder(tmp_path)
    assert faces.shape == (12 * len(EMOTIONS), INPUT_SIZE, INPUT_SIZE) and np.bincount(labels).tolist() == [12] * len(EMOTIONS)


def test_drawn_smiles_and_frowns_read_as_such_to_the_packaged_model():
    """The generator draws expressions a real-face model recognises, at least the clearest two."""
    faces, labels = data.generate(30, seed=5)
    crops = np.stack([cv2.resize(f, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA) for f in faces])
    predicted = export.keras_probabilities(export.load(), crops).argmax(1)
    for emotion in ("happy", "sad"):
        label = EMOTIONS.index(emotion)
        assert np.mean(predicted[labels == label] == label) > 0.6, emotion


def test_split_is_stratified_70_15_15():
    labels = np.repeat(np.arange(7), 20)
    (_, train_y), (_, val_y), (_, test_y) = train.split(np.zeros((140, 2, 2)), labels, seed=0)
    assert (len(train_y), len(val_y), len(test_y)) == (98, 21, 21)
    assert np.bincount(test_y, minlength=7).tolist() == [3] * 7


def test_bad_folders_are_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        train.load_folder(tmp_path / "missing")
    (tmp_path / "joy").mkdir()
    with pytest.raises(ValueError, match="joy are not emotions"):
        train.load_folder(tmp_path)
    (tmp_path / "joy").rmdir()
    data.write_folder(tmp_path, 5)
    with pytest.raises(ValueError, match="at least 10 images"):
        train.load_folder(tmp_path)
    (tmp_path / "happy" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(ValueError, match="broken.png is not a readable image"):
        train.load_folder(tmp_path)


def passing_report() -> dict:
    detection = {"lfw_face_recall": 0.99}
    return {"detection": detection, "detection_baseline": {"lfw_face_recall": 0.8}, "onnx_parity_max_abs_probability": 1e-6,
            "real_faces": {"astronaut": "happy"},
            "fine_tuning": {"metrics": {"macro_f1": 0.9}, "base": {"macro_f1": 0.3}, "majority": {"macro_f1": 0.04}}}


@pytest.mark.parametrize("change, failure", [
    (lambda r: r["detection"].update(lfw_face_recall=0.9), "face recall on lfw_subset 0.90"),
    (lambda r: r["detection_baseline"].update(lfw_face_recall=0.995), "does not beat the Haar cascade"),
    (lambda r: r.update(onnx_parity_max_abs_probability=1e-3), "ONNX differs from Keras"),
    (lambda r: r["real_faces"].update(astronaut="sad"), "astronaut reads as 'sad'"),
    (lambda r: r["fine_tuning"]["metrics"].update(macro_f1=0.2), "does not beat the packaged model"),
])
def test_gate_names_what_failed(change, failure):
    assert pipeline.gate(passing_report()) == []
    report = passing_report()
    change(report)
    assert any(failure in f for f in pipeline.gate(report)), pipeline.gate(report)
