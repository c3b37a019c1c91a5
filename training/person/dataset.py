"""Reading a person-detection dataset in YOLO format (a data.yaml naming image folders; beside
each `images/` folder a `labels/` folder with one `class cx cy w h` line per box, normalised):
what fine-tuning takes and what it is evaluated on. Every class counts as a person."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class DatasetError(ValueError):
    """A dataset that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Example:
    image: Path
    boxes: np.ndarray  # (K, 4) x0 y0 x1 y1 in the image's pixels


def config(data_yaml: Path) -> dict:
    """The data.yaml with `path` resolved; `test` falls back to `val`."""
    data_yaml = Path(data_yaml)
    if not data_yaml.is_file():
        raise DatasetError(f"{data_yaml}: no such file")
    try:
        loaded = yaml.safe_load(data_yaml.read_text())
    except yaml.YAMLError as error:
        raise DatasetError(f"{data_yaml}: not YAML ({error})") from None
    if not isinstance(loaded, dict) or not all(key in loaded for key in ("train", "val", "names")):
        raise DatasetError(f"{data_yaml}: needs `train`, `val` and `names` (the ultralytics data.yaml format)")
    root = Path(loaded.get("path") or data_yaml.parent)
    root = root if root.is_absolute() else (data_yaml.parent / root).resolve()
    return {**loaded, "path": str(root), "test": loaded.get("test") or loaded["val"]}


def examples(settings: dict, split: str) -> list[Example]:
    folder = Path(settings["path"]) / settings[split]
    images = sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
    if not images:
        raise DatasetError(f"{split}: no images in {folder}")
    return [Example(image, boxes(image)) for image in images]


def label_path(image: Path) -> Path:
    parts = list(image.parts)
    index = len(parts) - 1 - parts[::-1].index("images")  # ultralytics' rule: the last images/ becomes labels/
    return Path(*parts[:index], "labels", *parts[index + 1:]).with_suffix(".txt")


def boxes(image: Path) -> np.ndarray:
    """The image's boxes in pixels; no label file means no people."""
    path = label_path(image)
    if not path.exists() or not path.read_text().strip():
        return np.zeros((0, 4), np.float32)
    try:
        rows = np.loadtxt(path, ndmin=2, dtype=np.float32)
    except ValueError as error:
        raise DatasetError(f"{path}: not `class cx cy w h` rows ({error})") from None
    if rows.shape[1] != 5 or not np.isfinite(rows).all() or (rows[:, 1:] < 0).any() or (rows[:, 1:] > 1).any():
        raise DatasetError(f"{path}: each row must be `class cx cy w h` with coordinates in [0, 1]")
    with Image.open(image) as opened:
        width, height = opened.size
    cx, cy, w, h = rows[:, 1:].T * np.array([[width], [height], [width], [height]], np.float32)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
