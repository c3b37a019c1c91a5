"""A small person-detection dataset in YOLO format, generated offline to test fine-tuning's
mechanics: drawn figures (head, torso, arms, legs in random clothes, sizes and poses) on crops of
real textures and scenes shipped with scikit-image. The figures are not people; a model tuned on
them is marked synthetic and must not be served (training/person/pipeline.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml

SPLITS = {"train": 0.7, "val": 0.15, "test": 0.15}
IMAGE_SIZE = 320
BACKGROUNDS = ("brick", "grass", "gravel", "moon", "hubble_deep_field", "coins", "page", "text", "cell")
SKIN = ((224, 172, 105), (141, 85, 36), (255, 219, 172), (198, 134, 66), (96, 60, 30))
GENERATED_MARK = "generated-by-playserve"  # a data.yaml key: what is tuned on this is synthetic


def backgrounds() -> list[np.ndarray]:
    import skimage.data

    images = []
    for name in BACKGROUNDS:
        image = getattr(skimage.data, name)()
        image = (image * 255).astype(np.uint8) if image.dtype != np.uint8 else image
        images.append(np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image[..., :3])
    return images


def background(rng: np.random.Generator, sources: list[np.ndarray]) -> np.ndarray:
    source = sources[rng.integers(len(sources))]
    side = int(rng.integers(min(source.shape[:2]) // 2, min(source.shape[:2]) + 1))
    y, x = rng.integers(0, source.shape[0] - side + 1), rng.integers(0, source.shape[1] - side + 1)
    crop = cv2.resize(source[y:y + side, x:x + side], (IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32)
    tint = rng.uniform(0.6, 1.3, size=3)
    return np.clip(crop * tint, 0, 255).astype(np.uint8)


def draw_person(image: np.ndarray, rng: np.random.Generator) -> tuple[int, int, int, int] | None:
    """Draw one figure at a random place and size; its box (x0, y0, x1, y1), or None if it would
    not fit."""
    height = int(rng.integers(IMAGE_SIZE // 5, IMAGE_SIZE * 9 // 10))
    width = max(6, int(height * rng.uniform(0.28, 0.42)))
    x0 = int(rng.integers(0, IMAGE_SIZE - width))
    y0 = int(rng.integers(0, IMAGE_SIZE - height))
    head = height // 8
    cx = x0 + width // 2
    skin = tuple(int(c) for c in SKIN[rng.integers(len(SKIN))])
    shirt, trousers = (tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(2))
    limb = max(2, width // 6)
    torso_top, hip = y0 + 2 * head, y0 + int(height * 0.55)
    stride = int(rng.uniform(0.1, 0.4) * width)
    cv2.line(image, (cx - limb // 2, hip), (cx - stride, y0 + height - 1), trousers, limb)    # legs
    cv2.line(image, (cx + limb // 2, hip), (cx + stride, y0 + height - 1), trousers, limb)
    swing = int(rng.uniform(-0.2, 0.5) * height)
    cv2.line(image, (cx - width // 3, torso_top), (x0, torso_top + height // 3 - swing // 3), skin, limb)  # arms
    cv2.line(image, (cx + width // 3, torso_top), (x0 + width - 1, torso_top + height // 3 + swing // 3), skin, limb)
    cv2.rectangle(image, (cx - width // 3, torso_top), (cx + width // 3, hip), shirt, -1)      # torso
    cv2.ellipse(image, (cx, y0 + head), (max(2, head * 3 // 4), head), 0, 0, 360, skin, -1)    # head
    cv2.line(image, (cx, y0 + 2 * head - 2), (cx, torso_top), skin, max(2, limb // 2))         # neck
    return x0, y0, x0 + width, y0 + height


def scene(rng: np.random.Generator, sources: list[np.ndarray], max_people: int = 4) -> tuple[np.ndarray, list]:
    """An RGB image with 0 to `max_people` figures and their boxes; figures overlap at most a little."""
    image = background(rng, sources)
    boxes = []
    for _ in range(int(rng.integers(0, max_people + 1))):
        candidate = image.copy()
        box = draw_person(candidate, rng)
        if all(overlap(box, other) < 0.3 for other in boxes):
            image, boxes = candidate, boxes + [box]
    return image, boxes


def overlap(a, b) -> float:
    """Share of the smaller box covered by the other."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / smaller if smaller else 0.0


def yolo_label(box, size: int = IMAGE_SIZE) -> str:
    x0, y0, x1, y1 = box
    return f"0 {(x0 + x1) / 2 / size:.6f} {(y0 + y1) / 2 / size:.6f} {(x1 - x0) / size:.6f} {(y1 - y0) / size:.6f}"


def write(out: Path, images: int = 120, seed: int = 0) -> Path:
    """Write `images` scenes split 70/15/15 into `out` in YOLO format; returns its data.yaml."""
    rng = np.random.default_rng(seed)
    sources = backgrounds()
    names = list(SPLITS)
    cut = np.cumsum([int(round(images * share)) for share in SPLITS.values()])
    for index in range(images):
        split = names[int(np.searchsorted(cut, index, side="right"))] if index < cut[-1] else names[-1]
        image, boxes = scene(rng, sources)
        for kind in ("images", "labels"):
            (out / kind / split).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out / "images" / split / f"{index:05d}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        (out / "labels" / split / f"{index:05d}.txt").write_text("".join(yolo_label(b) + "\n" for b in boxes))
    config = {"path": str(out.resolve()), **{split: f"images/{split}" for split in SPLITS},
              "names": {0: "person"}, GENERATED_MARK: True}
    (out / "data.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return out / "data.yaml"
