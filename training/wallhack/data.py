"""Synthetic wallhack screenshots (DOMAIN.md, section 2). No real cheat screenshots exist
offline, so frames are generated: a first-person room with cover, characters (some behind it)
and a HUD; positives add ESP overlays in one or two of seven styles; both classes carry the
legitimate look-alikes (teammate outlines, objective markers, hit and damage indicators, red UI).

One style, HELD_OUT_STYLE, never appears in training data: recall on it is the honest test of
whether the model learned "overlay through walls" or only the styles it was shown.

Frame i of a set is a pure function of (seed, i), so sets are reproducible and any frame can be
regenerated alone. `playserve data wallhack --n N --out DIR` writes DIR/images/ and DIR/labels.csv."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from training.wallhack import overlays, scene

from training.wallhack.serving import preprocess

STYLES = tuple(overlays.ESP)
HELD_OUT_STYLE = "skeleton"
TRAIN_STYLES = tuple(s for s in STYLES if s != HELD_OUT_STYLE)
FORMATS = {"jpeg": 0.8, "png": 0.1, "webp": 0.1}  # how screenshots arrive
LABELS_FILE = "labels.csv"


@dataclass
class Sample:
    image: bytes  # encoded as it would be uploaded
    format: str
    label: int  # 1 = ESP overlay present
    styles: tuple[str, ...]
    look_alikes: tuple[str, ...]
    width: int
    height: int
    quality: int  # JPEG/WebP quality; 100 for PNG


def render(seed: int, index: int, positive: bool, styles: Sequence[str] = STYLES) -> Sample:
    rng = np.random.default_rng([seed, index])
    size = scene.RESOLUTIONS[rng.integers(len(scene.RESOLUTIONS))]
    image, horizon, _ = scene.room(rng, size)
    people = scene.place_characters(rng, size, horizon, enemies=int(rng.integers(1 if positive else 0, 5)),
                                    teammates=int(rng.integers(0, 3)), hidden_share=0.6)
    draw = ImageDraw.Draw(image)
    for person in people:
        if person.visibility != "hidden":
            scene.draw_character(draw, person, rng)
        if person.visibility != "visible":
            scene.draw_cover(draw, person, rng, size)
    look_alikes = draw_look_alikes(image, people, rng)
    chosen = ()
    if positive:
        chosen = tuple(rng.choice(list(styles), size=1 if rng.random() < 0.7 else 2, replace=False).tolist())
        enemies = [p for p in people if p.team == "enemy"]
        for style in chosen:
            overlays.ESP[style](image, enemies, overlays.ESP_COLOURS[rng.integers(len(overlays.ESP_COLOURS))], rng)
    scene.hud(image, rng, [p for p in people if p.team == "enemy"])
    image = scene.soften(image, float(rng.choice([0, 0, 0, 0.6, 1.0])))
    encoded, fmt, quality = encode(image, rng)
    return Sample(encoded, fmt, int(positive), chosen, look_alikes, *size, quality)


def draw_look_alikes(image: Image.Image, people: list[scene.Character], rng: np.random.Generator) -> tuple[str, ...]:
    """Each legitimate highlight with its own chance, the same for both classes."""
    drawn = []
    teammates = [p for p in people if p.team == "team" and p.visibility == "visible"]
    if teammates and rng.random() < 0.5:
        overlays.teammate_outline(image, teammates, rng)
        drawn.append("teammate_outline")
    for name, chance in (("objective_marker", 0.35), ("damage_indicator", 0.25), ("hit_marker", 0.25)):
        if rng.random() < chance:
            getattr(overlays, name)(image, rng)
            drawn.append(name)
    return tuple(drawn)


def encode(image: Image.Image, rng: np.random.Generator) -> tuple[bytes, str, int]:
    fmt = str(rng.choice(list(FORMATS), p=list(FORMATS.values())))
    quality = 100 if fmt == "png" else int(rng.integers(30, 96))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt.upper(), **({} if fmt == "png" else {"quality": quality}))
    return buffer.getvalue(), fmt, quality


def sample(seed: int, index: int, styles: Sequence[str] = STYLES, positive_share: float = 0.5) -> Sample:
    """Frame `index` of the set `seed`: positive when its own draw says so (independent of the set's size)."""
    positive = np.random.default_rng([seed, index, 1]).random() < positive_share
    return render(seed, index, positive, styles)


def check_styles(styles: Sequence[str]) -> None:
    unknown = set(styles) - set(STYLES)
    if unknown or not styles:
        raise ValueError(f"styles: expected some of {', '.join(STYLES)}, got {sorted(unknown) or 'none'}")


def generate(n: int, seed: int = 0, styles: Sequence[str] = STYLES, positive_share: float = 0.5) -> Iterator[Sample]:
    if n < 1:
        raise ValueError(f"n: must be at least 1, got {n}")
    check_styles(styles)
    for index in range(n):
        yield sample(seed, index, styles, positive_share)


def letterboxed(chunk: tuple[int, int, int, Sequence[str]]) -> tuple[np.ndarray, list[dict]]:
    """Frames start..stop of set `seed`, decoded and letterboxed as the service sees them, with
    their labels; a picklable unit of work for a process pool (imports no torch)."""
    seed, start, stop, styles = chunk
    pixels, rows = [], []
    for index in range(start, stop):
        frame = sample(seed, index, styles)
        pixels.append(preprocess.letterbox(preprocess.decode(frame.image)))
        rows.append({"label": frame.label, "styles": frame.styles, "look_alikes": frame.look_alikes,
                     "width": frame.width, "height": frame.height, "format": frame.format, "quality": frame.quality})
    return np.stack(pixels), rows


def write(out: Path, n: int, seed: int = 0, styles: Sequence[str] = STYLES) -> pd.DataFrame:
    """DIR/images/<index>.<format> and DIR/labels.csv (file, label, styles, look_alikes, size, format, quality)."""
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, sample in enumerate(generate(n, seed, styles)):
        name = f"images/{index:06d}.{'jpg' if sample.format == 'jpeg' else sample.format}"
        (out / name).write_bytes(sample.image)
        rows.append({"file": name, "label": sample.label, "styles": "|".join(sample.styles),
                     "look_alikes": "|".join(sample.look_alikes), "width": sample.width, "height": sample.height,
                     "format": sample.format, "quality": sample.quality, "seed": seed, "index": index})
    labels = pd.DataFrame(rows)
    labels.to_csv(out / LABELS_FILE, index=False)
    return labels
