"""Face detection and expression reading on real photos (scikit-image), the crop the expression
model sees, and Keras -> ONNX parity."""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from playserve.paths import REPO_ROOT
from training.emotion import export, real_faces

from training.emotion.serving import expression
from training.common.faces import MIN_CONFIDENCE, FaceDetector, HaarDetector, packaged_detector
from training.common.tracking import iou

# The astronaut's face, boxed by eye in scikit-image's 512x512 photo.
ASTRONAUT_FACE = (180, 60, 270, 175)


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(packaged_detector())


@pytest.fixture(scope="module")
def photos() -> dict[str, real_faces.Photo]:
    return {p.name: p for p in real_faces.photos()}


def test_exact_face_counts_on_real_photos(detector, photos):
    counts = {name: len(detector.detect(photo.rgb)) for name, photo in photos.items()}
    assert counts == real_faces.PHOTOS  # one face each in the astronaut and the cameraman; none in the rest (a cat included)


def test_the_box_is_on_the_face(detector, photos):
    (face,) = detector.detect(photos["astronaut"].rgb)
    assert iou(face.box, ASTRONAUT_FACE) > 0.6 and face.confidence > 0.9


def test_recall_on_lfw_beats_the_haar_cascade():
    ssd = real_faces.detection_metrics(FaceDetector(packaged_detector()).detect)
    haar = real_faces.detection_metrics(HaarDetector().detect)
    assert ssd["lfw_face_recall"] >= 0.95 and ssd["lfw_non_face_false_positive_rate"] <= 0.05
    assert ssd["lfw_face_recall"] > haar["lfw_face_recall"]


def test_the_confidence_floor_is_what_keeps_the_cat_out(photos):
    loose = FaceDetector(packaged_detector(), min_confidence=0.5)
    assert len(loose.detect(photos["chelsea"].rgb)) == 1 and MIN_CONFIDENCE > 0.5


def test_crop_is_square_with_margin_and_pads_at_the_edges():
    gray = np.tile(np.arange(100, dtype=np.uint8), (80, 1))  # brightness = x
    inside = expression.crop(gray, (40, 20, 60, 60))  # 20 wide, 40 tall: squared to 40, grown to 48
    assert inside.shape == (expression.INPUT_SIZE, expression.INPUT_SIZE)
    assert inside[:, 0].mean() == pytest.approx(26, abs=2) and inside[:, -1].mean() == pytest.approx(73, abs=2)
    corner = expression.crop(gray, (0, 0, 30, 30))  # reaches past the top-left corner: edge pixels repeat
    assert corner[:, :5].max() <= 2


def test_normalise_maps_to_the_models_range():
    faces = np.array([[[0, 255]]], np.uint8)
    assert expression.normalise(faces).ravel().tolist() == [-1.0, 1.0]


@pytest.fixture(scope="module")
def converted():
    model = export.load()
    with tempfile.TemporaryDirectory() as tmp:
        yield model, export.export(model, Path(tmp) / expression.ONNX_FILE)


def real_crops(detector) -> np.ndarray:
    faces, _ = real_faces.lfw()
    return np.stack([expression.crop(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), f.box) for image in faces[:40] for f in detector.detect(image)])


def test_onnx_export_matches_keras_on_real_faces(converted, detector):
    model, path = converted
    crops = real_crops(detector)
    assert len(crops) >= 38
    assert export.max_abs_difference(model, path, crops) < 1e-4


def test_onnx_model_reads_the_smiling_astronaut_as_happy(converted, detector, photos):
    _, path = converted
    photo = photos["astronaut"]
    (face,) = detector.detect(photo.rgb)
    probabilities = expression.probabilities(expression.session(path), expression.crop(cv2.cvtColor(photo.rgb, cv2.COLOR_RGB2GRAY), face.box)[None])[0]
    assert probabilities.sum() == pytest.approx(1, abs=1e-4)
    assert expression.EMOTIONS[int(probabilities.argmax())] == "happy" and probabilities.max() > 0.9


def test_torch_still_imports_after_the_keras_model_code():
    """TensorFlow 2.21 loaded first used to crash a later torchvision import (tensorflow#124205);
    in a subprocess so that a crash is a failure here, not the end of the test run."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", "import training.emotion.export, keras, torchvision; print('alive')"],
                            capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0 and "alive" in result.stdout, result.stderr[-2000:]
