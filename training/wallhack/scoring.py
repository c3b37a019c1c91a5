"""Score screenshot files with a stored model, outside the service: `playserve predict wallhack`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from training.wallhack.serving import onnx_model, preprocess

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
BATCH = 32


def image_files(paths: Iterable[Path]) -> list[Path]:
    """Files as given; directories expanded to the images under them, in name order."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(path)
    return files


def score_files(model_dir: Path, files: list[Path], threshold: float) -> Iterator[dict]:
    """One result per file, in order: path, probability and decision, or path and the error."""
    session = onnx_model.session(model_dir / onnx_model.ONNX_FILE)
    for start in range(0, len(files), BATCH):
        frames, results = [], []
        for path in files[start:start + BATCH]:
            try:
                frames.append(preprocess.letterbox(preprocess.decode(path.read_bytes())))
                results.append({"path": str(path)})
            except preprocess.ImageError as error:
                results.append({"path": str(path), "error": str(error)})
        scored = (r for r in results if "error" not in r)
        if frames:
            for result, p in zip(scored, onnx_model.probability(onnx_model.logits(session, preprocess.normalise(np.stack(frames))))):
                result.update(probability=float(p), wallhack=bool(p >= threshold))
        yield from results
