"""The held-out metrics, checked on cases small enough to count by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.common.metrics import threshold_for_recall
from training.wallhack.evaluate import evaluate, precision_at_recall

PROBABILITY = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
LABELS = np.array([1, 1, 0, 1, 0, 1, 0, 0])


def test_threshold_for_recall_is_the_highest_that_reaches_it():
    assert threshold_for_recall(PROBABILITY, LABELS, 0.75) == 0.6  # 3 of 4 positives at >= 0.6
    assert threshold_for_recall(PROBABILITY, LABELS, 1.0) == 0.4


def test_precision_at_recall():
    assert precision_at_recall(PROBABILITY, LABELS, 1.0) == pytest.approx(4 / 6)
    assert precision_at_recall(PROBABILITY, LABELS, 0.5) == 1.0


def test_evaluate_counts_styles_held_out_frames_and_look_alikes():
    meta = pd.DataFrame({
        "label": LABELS,
        "styles": [("box",), ("skeleton",), (), ("skeleton", "box"), (), ("glow",), (), ()],
        "look_alikes": [(), (), ("hit_marker",), (), ("hit_marker",), (), ("teammate_outline",), ()],
    })
    m = evaluate(PROBABILITY, meta, threshold=0.55)
    assert m["recall"] == 0.75 and m["precision"] == 0.75 and m["false_positive_rate"] == 0.25
    assert m["held_out_style_recall"] == 1.0  # only frame 1 has the held-out style alone
    assert m["recall_by_style"]["box"] == 1.0 and m["recall_by_style"]["glow"] == 0.0
    assert m["recall_by_style"]["name_tag"] is None
    assert m["false_positive_rate_by_look_alike"] == {"teammate_outline": 0.0, "objective_marker": None,
                                                      "damage_indicator": None, "hit_marker": 0.5}
