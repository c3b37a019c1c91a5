"""The synthetic screenshot generator: reproducible, varied, labelled truthfully, and its ESP
overlays draw where the hidden enemies are."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from tests.conftest import run_cli
from training.wallhack import data, overlays, scene

FRAMES = list(data.generate(120, seed=11))


def decoded(sample: data.Sample) -> Image.Image:
    image = Image.open(io.BytesIO(sample.image))
    image.load()
    return image


def test_a_frame_depends_only_on_seed_and_index():
    assert data.render(4, 7, True).image == data.render(4, 7, True).image
    assert data.render(4, 7, True).image != data.render(5, 7, True).image
    assert [s.image for s in data.generate(6, seed=2)][3] == list(data.generate(4, seed=2))[3].image


def test_frames_vary_in_size_format_quality_and_content():
    assert len({(s.width, s.height) for s in FRAMES}) >= 6
    assert {s.format for s in FRAMES} == set(data.FORMATS)
    qualities = [s.quality for s in FRAMES if s.format == "jpeg"]
    assert min(qualities) < 45 and max(qualities) > 85
    for sample in FRAMES:
        image = decoded(sample)
        assert image.size == (sample.width, sample.height) and image.format.lower() == sample.format


def test_labels_are_truthful_and_both_classes_carry_the_look_alikes():
    positives = [s for s in FRAMES if s.label]
    negatives = [s for s in FRAMES if not s.label]
    assert 0.35 < len(positives) / len(FRAMES) < 0.65
    assert all(1 <= len(s.styles) <= 2 for s in positives) and all(s.styles == () for s in negatives)
    assert {style for s in positives for style in s.styles} == set(data.STYLES)
    for look_alike in overlays.HARD_NEGATIVES:
        assert any(look_alike in s.look_alikes for s in negatives), look_alike
        assert any(look_alike in s.look_alikes for s in positives), look_alike


def test_the_held_out_style_never_appears_when_training_styles_are_asked_for():
    assert data.HELD_OUT_STYLE not in data.TRAIN_STYLES
    styles = {style for s in data.generate(60, seed=3, styles=data.TRAIN_STYLES) for style in s.styles}
    assert data.HELD_OUT_STYLE not in styles and styles


@pytest.mark.parametrize("style", data.STYLES)
def test_each_esp_style_draws_on_an_enemy_hidden_behind_cover(style):
    rng = np.random.default_rng(0)
    image, horizon, _ = scene.room(rng, (640, 360))
    enemy = scene.Character((420.0, 300.0), 150.0, "enemy", "hidden", 0.3)
    scene.draw_cover(ImageDraw.Draw(image), enemy, rng, image.size)
    before = np.asarray(image, np.int16).copy()
    overlays.ESP[style](image, [enemy], (255, 0, 255), rng)
    changed = np.abs(np.asarray(image, np.int16) - before).sum(axis=2) > 30
    x0, y0, x1, y1 = (int(v) for v in enemy.box)
    near = changed[max(0, y0 - 30):y1 + 30, max(0, x0 - 30):x1 + 30]
    assert near.sum() > 40, f"{style} drew {near.sum()} pixels at the enemy"
    far = changed[:, :200]  # the left third holds no enemy; only a snapline may cross it
    assert far.sum() == 0 or style == "snapline"


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="styles"):
        list(data.generate(2, styles=["laser"]))
    with pytest.raises(ValueError, match="n"):
        list(data.generate(0))


def test_cli_writes_images_and_a_labels_file(tmp_path):
    summary = json.loads(run_cli("data", "wallhack", "--n", "12", "--out", str(tmp_path), "--seed", "9").stdout)
    labels = pd.read_csv(tmp_path / "labels.csv", keep_default_na=False)
    assert summary["images"] == len(labels) == 12 and summary["positives"] == labels["label"].sum()
    assert list(labels.columns[:4]) == ["file", "label", "styles", "look_alikes"]
    for row in labels.itertuples():
        assert Image.open(tmp_path / row.file).size == (row.width, row.height)
        assert (row.styles != "") == bool(row.label)
    result = run_cli("data", "wallhack", "--n", "2", "--out", str(tmp_path / "x"), "--styles", "box,laser", check=False)
    assert result.returncode == 2 and "laser" in result.stderr
