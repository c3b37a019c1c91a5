"""Real photos with a known number of people, all shipped offline inside installed packages:
ultralytics' bus.jpg (4 people) and zidane.jpg (2), matplotlib's Grace Hopper portrait (1),
scikit-image's astronaut and cameraman (1 each), and photos with nobody in them (a pagoda and a
flower from scikit-learn, a motorcycle in a garage, coffee, a rocket on its pad, a cat's face)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

PEOPLE = {"bus": 4, "zidane": 2, "grace_hopper": 1, "astronaut": 1, "camera": 1,
          "china": 0, "flower": 0, "motorcycle": 0, "coffee": 0, "rocket": 0, "chelsea": 0}


@dataclass(frozen=True)
class Photo:
    name: str
    rgb: np.ndarray
    people: int


def ultralytics_asset(name: str) -> Path:
    """A sample photo in the installed ultralytics package (found without importing it: the import
    patches PIL, see training/person/export.py)."""
    return Path(importlib.util.find_spec("ultralytics").submodule_search_locations[0]) / "assets" / name


def load(name: str) -> np.ndarray:
    """uint8 RGB pixels of one of the photos."""
    import matplotlib
    import skimage.data
    import sklearn.datasets

    if name in ("bus", "zidane"):
        return np.asarray(Image.open(ultralytics_asset(f"{name}.jpg")).convert("RGB"))
    if name == "grace_hopper":
        return np.asarray(Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").convert("RGB"))
    if name in ("china", "flower"):
        return sklearn.datasets.load_sample_image(f"{name}.jpg")
    if name == "motorcycle":
        return skimage.data.stereo_motorcycle()[0]
    image = getattr(skimage.data, name)()
    return np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image[..., :3]


def photos() -> list[Photo]:
    return [Photo(name, load(name), people) for name, people in PEOPLE.items()]
