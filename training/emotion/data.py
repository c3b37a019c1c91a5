"""Generated expression faces: a labelled image folder (one sub-folder per emotion) to test the
fine-tuning pipeline's mechanics on. No labelled expression photos ship offline, so these are
drawn faces whose brows, eyes and mouth take each emotion's shape at a random intensity, on
random lighting, tone, pose and noise. They are not people: a model tuned on them says nothing
about real faces (the model card says so)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from training.emotion.serving.expression import EMOTIONS

SIZE = 96
MARKER = "GENERATED.txt"  # marks a folder as drawn faces, so training labels its model synthetic
# Per emotion at full intensity: eye openness, brow lift and inner-brow tilt (px; +tilt = inner
# end raised), mouth curve (+ smile, - frown), mouth opening, mouth width (share of neutral).
SHAPES = {
    "neutral":  dict(eye=5, brow=0, tilt=0, curve=0, open=0, width=1.0),
    "happy":    dict(eye=3, brow=1, tilt=0, curve=9, open=2, width=1.25),
    "sad":      dict(eye=3, brow=-1, tilt=6, curve=-8, open=0, width=0.9),
    "angry":    dict(eye=3, brow=-5, tilt=-7, curve=-2, open=1, width=0.85),
    "surprise": dict(eye=9, brow=8, tilt=0, curve=0, open=12, width=0.6),
    "fear":     dict(eye=9, brow=5, tilt=5, curve=-3, open=6, width=1.3),
    "disgust":  dict(eye=2, brow=-3, tilt=-3, curve=-5, open=3, width=0.8),
}


def draw(emotion: str, rng: np.random.Generator) -> np.ndarray:
    """One uint8 (SIZE, SIZE) grey face showing `emotion` at a random intensity."""
    strength = rng.uniform(0.5, 1.0)
    shape = {k: SHAPES["neutral"][k] + strength * (v - SHAPES["neutral"][k]) for k, v in SHAPES[emotion].items()}
    image = np.full((SIZE, SIZE), rng.integers(20, 120), np.uint8)
    skin = int(rng.integers(120, 230))
    cx, cy = SIZE // 2 + int(rng.integers(-4, 5)), SIZE // 2 + int(rng.integers(-4, 5))
    cv2.ellipse(image, (cx, cy), (int(rng.integers(30, 36)), int(rng.integers(38, 44))), 0, 0, 360, skin, -1)
    ink = max(0, skin - int(rng.integers(90, 120)))
    for side in (-1, 1):
        ex, ey = cx + side * 14, cy - 10
        cv2.ellipse(image, (ex, ey), (6, max(1, round(shape["eye"]))), 0, 0, 360, ink, -1)
        inner, outer = (ex - side * 6, ey - 10 - round(shape["brow"] + shape["tilt"])), (ex + side * 7, ey - 10 - round(shape["brow"]))
        cv2.line(image, inner, outer, ink, 2)
    cv2.line(image, (cx, cy - 4), (cx - 2, cy + 8), ink, 1)
    mouth(image, (cx, cy + 20), shape, ink)
    angle, scale = rng.uniform(-12, 12), rng.uniform(0.85, 1.1)
    image = cv2.warpAffine(image, cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), angle, scale), (SIZE, SIZE), borderMode=cv2.BORDER_REPLICATE)
    image = image.astype(np.float32) * rng.uniform(0.6, 1.2) + rng.normal(0, rng.uniform(2, 12), image.shape)
    return cv2.GaussianBlur(np.clip(image, 0, 255).astype(np.uint8), (3, 3), rng.uniform(0.1, 1.2))


def mouth(image: np.ndarray, centre: tuple[int, int], shape: dict, ink: int) -> None:
    half = round(12 * shape["width"])
    xs = np.linspace(-half, half, 15)
    lips = centre[1] + shape["curve"] * (1 - (xs / half) ** 2) - shape["curve"] / 2  # image y grows downwards
    upper = np.stack([centre[0] + xs, lips - shape["open"] / 2], 1).round().astype(np.int32)
    lower = np.stack([centre[0] + xs, lips + shape["open"] / 2 * (1 - (xs / half) ** 2)], 1).round().astype(np.int32)
    if shape["open"] >= 1:
        cv2.fillPoly(image, [np.concatenate([upper, lower[::-1]])], max(0, ink - 20))
    cv2.polylines(image, [upper, lower], False, ink, 2)


def generate(per_emotion: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(N, SIZE, SIZE) uint8 faces and (N,) label indexes into EMOTIONS, `per_emotion` of each."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(EMOTIONS)), per_emotion)
    return np.stack([draw(EMOTIONS[label], rng) for label in labels]), labels


def write_folder(out: Path, per_emotion: int, seed: int = 0) -> int:
    """Write out/<emotion>/<n>.png; returns the number of images."""
    faces, labels = generate(per_emotion, seed)
    for index, (face, label) in enumerate(zip(faces, labels)):
        folder = Path(out) / EMOTIONS[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{index:05d}.png"), face)
    (Path(out) / MARKER).write_text("Drawn expression faces from `playserve data emotion`: not people, for testing the pipeline.\n")
    return len(faces)
