"""Real photos to measure face detection on, all shipped offline with scikit-image: lfw_subset's
100 faces and 100 non-faces (25x25 grey crops of Labeled Faces in the Wild), and whole photos
with a known number of faces (the astronaut, the cameraman) or none (coffee, a cat, a rocket,
microscopy, a printed page)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import skimage.data

PHOTOS = {"astronaut": 1, "camera": 1, "coffee": 0, "chelsea": 0, "rocket": 0, "immunohistochemistry": 0,
          "hubble_deep_field": 0, "page": 0, "text": 0}
LFW_SIZE = 150  # lfw_subset's 25x25 crops are scaled up to a size a webcam face has


@dataclass(frozen=True)
class Photo:
    name: str
    rgb: np.ndarray
    faces: int  # how many faces it shows


def rgb(image: np.ndarray) -> np.ndarray:
    image = (image * 255).round().astype(np.uint8) if image.dtype != np.uint8 else image
    return np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image[..., :3]


def photos() -> list[Photo]:
    return [Photo(name, rgb(getattr(skimage.data, name)()), faces) for name, faces in PHOTOS.items()]


def lfw() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """lfw_subset as (faces, non-faces), each an RGB image of LFW_SIZE pixels."""
    images = [cv2.resize(rgb(image), (LFW_SIZE, LFW_SIZE), interpolation=cv2.INTER_CUBIC) for image in skimage.data.lfw_subset()]
    return images[:100], images[100:]


def detection_metrics(detect: Callable[[np.ndarray], list]) -> dict:
    """Recall on lfw_subset's faces, the share of its non-faces with a detection, and on the photos
    the faces found against the faces there (exact count per photo, false detections)."""
    faces, non_faces = lfw()
    per_photo = {photo.name: len(detect(photo.rgb)) for photo in photos()}
    return {
        "lfw_face_recall": float(np.mean([len(detect(image)) > 0 for image in faces])),
        "lfw_non_face_false_positive_rate": float(np.mean([len(detect(image)) > 0 for image in non_faces])),
        "photos_exact_count": float(np.mean([per_photo[p] == n for p, n in PHOTOS.items()])),
        "photos_false_faces": int(sum(max(0, per_photo[p] - n) for p, n in PHOTOS.items())),
        "faces_per_photo": per_photo,
    }
