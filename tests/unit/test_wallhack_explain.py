"""Occlusion explanation: which cell is hidden, how the heat is scored, and where the strongest
cell lands in the uploaded image's pixels."""

import numpy as np

from training.wallhack.serving import explain
from training.wallhack.serving.preprocess import INPUT_SIZE, PAD


def test_each_variant_hides_exactly_one_cell():
    frame = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
    variants = explain.occluded(frame, grid=4)
    assert variants.shape == (16, INPUT_SIZE, INPUT_SIZE, 3)
    cell = INPUT_SIZE // 4
    hidden = (variants == np.array(PAD, np.uint8)).all(axis=-1)
    assert hidden.sum(axis=(1, 2)).tolist() == [cell * cell] * 16
    assert hidden[5, cell:2 * cell, cell:2 * cell].all()  # row 1, column 1


def test_heat_is_the_logit_drop_and_never_negative():
    occluded = np.zeros(16)
    occluded[6], occluded[9] = -3.0, 4.0  # hiding cell 6 lowers the score, hiding 9 raises it
    heat = explain.heat_map(2.0, occluded + 2.0, grid=4)
    assert heat.shape == (4, 4) and heat[1, 2] == 3.0 and heat[2, 1] == 0 and heat.sum() == 3.0


def test_strongest_region_maps_back_through_the_letterbox():
    heat = np.zeros((8, 8))
    heat[4, 0] = 1.0  # left edge, just below the middle
    width, height = 1280, 640  # letterboxed to 256x128, bars of 64 rows above and below
    x0, y0, x1, y1 = explain.strongest_region(heat, (width, height))
    assert (x0, x1) == (0, 160)  # a 32-pixel cell is 160 original pixels wide
    assert (y0, y1) == (320, 480)
