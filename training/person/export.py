"""ultralytics YOLO weights -> ONNX, and the parity checks against the native model: the raw
network output under ONNX Runtime against PyTorch's on the same input, and the served pipeline's
people (letterbox, ONNX Runtime, NMS) against ultralytics' own predictions."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("YOLO_OFFLINE", "1")   # ultralytics must not try the network (no hub, no fonts)
os.environ.setdefault("YOLO_VERBOSE", "False")  # its progress lines go to stdout, where `--json` answers

from training.common.tracking import iou  # noqa: E402
from training.person.serving import detector  # noqa: E402

OPSET = 17
PARITY_MIN_IOU = 0.85       # ultralytics letterboxes to a centred rectangle, the service to a top-left square
PARITY_MARGIN = 0.1         # above the confidence floor: people both must find


def import_ultralytics():
    """ultralytics, with PIL's Image.open given back. Importing ultralytics 8.4.190 replaces it
    (ultralytics/utils/patches.py) with a wrapper that, for any file Pillow cannot identify, tries
    to pip-install pi-heif and then raises ModuleNotFoundError instead of UnidentifiedImageError:
    in this process every upload that is not an image would stop being a clean refusal (found by
    the wallhack decoder's test running after the person tests)."""
    import ultralytics
    from PIL import Image
    from ultralytics.utils import patches

    Image.open = patches._image_open
    return ultralytics


def yolo(weights: Path):
    return import_ultralytics().YOLO(str(weights))


def to_onnx(weights: Path, out: Path) -> Path:
    """Export with a dynamic batch (and image) size. ultralytics writes beside the weights, so they
    are copied to a scratch folder first (the packaged ones live in site-packages)."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "weights.pt"
        shutil.copy(weights, copy)
        exported = yolo(copy).export(format="onnx", imgsz=detector.SIZE, dynamic=True, simplify=True,
                                     opset=OPSET, device="cpu", verbose=False)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(exported, out)
    return out


def raw_difference(weights: Path, onnx_path: Path, images: list[np.ndarray]) -> tuple[float, float]:
    """Max |ONNX Runtime - PyTorch| over the raw outputs for the letterboxed images: boxes (canvas
    pixels), class scores (probabilities)."""
    import torch

    canvases = np.stack([detector.letterbox(image).canvas for image in images])
    network = yolo(weights).model.float().eval()
    with torch.no_grad():
        native = network(torch.from_numpy(detector.to_tensor(canvases)))[0].numpy()
    difference = np.abs(detector.raw(detector.session(onnx_path), canvases) - native)
    return float(difference[:, :4].max()), float(difference[:, 4:].max())


def ultralytics_people(weights: Path, rgb: np.ndarray, min_confidence: float = detector.MIN_CONFIDENCE) -> list[detector.Person]:
    """ultralytics' own prediction on an RGB image, every class counted as a person."""
    result = yolo(weights).predict(np.ascontiguousarray(rgb[..., ::-1]), imgsz=detector.SIZE, conf=min_confidence,
                                   agnostic_nms=True, device="cpu", verbose=False)[0]
    return [detector.Person(tuple(float(v) for v in box), float(conf))
            for box, conf in zip(result.boxes.xyxy.numpy(), result.boxes.conf.numpy())]


def matched(ours: list[detector.Person], theirs: list[detector.Person]) -> list[tuple[float, float]]:
    """For each of their people, the best IoU with one of ours and the confidence difference ((0, 1) when we have none)."""
    pairs = []
    for person in theirs:
        best = max(ours, key=lambda p: iou(p.box, person.box), default=None)
        pairs.append((iou(best.box, person.box), abs(best.confidence - person.confidence)) if best else (0.0, 1.0))
    return pairs
