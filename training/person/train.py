"""Fine-tuning the person detector with ultralytics on a YOLO-format dataset, on the CPU."""

from __future__ import annotations

import tempfile
from pathlib import Path

from training.person import export

IMAGE_SIZE = 640
BATCH = 8


def fine_tune(weights: Path, data_yaml: Path, out: Path, epochs: int, image_size: int = IMAGE_SIZE, seed: int = 0) -> Path:
    """Train from `weights` on the dataset with every class as `person`; the best epoch's weights
    (by validation mAP) are copied to `out`."""
    model = export.yolo(weights)
    with tempfile.TemporaryDirectory() as scratch:
        model.train(data=str(data_yaml), epochs=epochs, imgsz=image_size, batch=BATCH, device="cpu", workers=0,
                    single_cls=True, seed=seed, deterministic=True, plots=False, amp=False, verbose=False,
                    project=scratch, name="run", exist_ok=True)
        best = Path(model.trainer.best)
        out.parent.mkdir(parents=True, exist_ok=True)
        best.replace(out)
    return out
