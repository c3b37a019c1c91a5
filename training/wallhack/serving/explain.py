"""Occlusion maps for human reviewers: grey out one cell of the frame at a time and see how much
the wallhack score drops; the cells that matter most are where the overlay is. Scores are logits:
a confident probability saturates near 1, so its drops vanish, while the log-odds still move."""

from __future__ import annotations

import numpy as np

from training.wallhack.serving.preprocess import INPUT_SIZE, PAD

GRID = 8


def occluded(frame: np.ndarray, grid: int = GRID) -> np.ndarray:
    """uint8 (S, S, 3) -> (grid*grid, S, S, 3): the frame with one cell at a time painted PAD."""
    size = frame.shape[0]
    edges = np.linspace(0, size, grid + 1).round().astype(int)
    variants = np.repeat(frame[None], grid * grid, axis=0)
    for row in range(grid):
        for col in range(grid):
            variants[row * grid + col, edges[row]:edges[row + 1], edges[col]:edges[col + 1]] = PAD
    return variants


def heat_map(logit: float, occluded_logits: np.ndarray, grid: int = GRID) -> np.ndarray:
    """How much hiding each cell lowers the logit (0 where hiding it does not)."""
    return np.clip(logit - occluded_logits, 0, None).reshape(grid, grid)


def strongest_region(heat: np.ndarray, original_size: tuple[int, int], size: int = INPUT_SIZE) -> list[int]:
    """The most important cell as a box [x0, y0, x1, y1] in the uploaded image's pixels."""
    grid = heat.shape[0]
    row, col = np.unravel_index(int(np.argmax(heat)), heat.shape)
    width, height = original_size
    scale = size / max(width, height)
    pad_x, pad_y = (size - round(width * scale)) // 2, (size - round(height * scale)) // 2
    cell = size / grid

    def back(value: float, pad: int, limit: int) -> int:
        return int(np.clip((value - pad) / scale, 0, limit))

    return [back(col * cell, pad_x, width), back(row * cell, pad_y, height),
            back((col + 1) * cell, pad_x, width), back((row + 1) * cell, pad_y, height)]
