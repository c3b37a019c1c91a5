"""Held-out metrics for a screenshot classifier: ranking (ROC-AUC, PR-AUC), precision at the
recall anti-cheat operates at, recall per ESP style (the held-out one reported apart), and the
false-positive rate on each legitimate look-alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from training.wallhack.data import HELD_OUT_STYLE, STYLES
from training.wallhack.overlays import HARD_NEGATIVES


def precision_at_recall(probability: np.ndarray, labels: np.ndarray, recall: float) -> float:
    precision, achieved, _ = precision_recall_curve(labels, probability)
    return float(precision[achieved >= recall].max())


def evaluate(probability: np.ndarray, meta: pd.DataFrame, threshold: float, target_recall: float = 0.95) -> dict:
    labels = meta["label"].to_numpy()
    flagged = probability >= threshold
    positives, negatives = labels == 1, labels == 0

    def recall_where(mask: np.ndarray) -> float | None:
        return float(flagged[mask].mean()) if mask.any() else None

    styles = meta["styles"].apply(tuple)
    looks = meta["look_alikes"].apply(tuple)
    return {
        "roc_auc": float(roc_auc_score(labels, probability)),
        "pr_auc": float(average_precision_score(labels, probability)),
        f"precision_at_{round(target_recall * 100)}_recall": precision_at_recall(probability, labels, target_recall),
        "threshold": threshold,
        "recall": recall_where(positives),
        "precision": float(labels[flagged].mean()) if flagged.any() else 0.0,
        "false_positive_rate": recall_where(negatives),
        # Frames whose only overlay is the style training never saw: generalisation, honestly.
        "held_out_style_recall": recall_where(positives & (styles == (HELD_OUT_STYLE,)).to_numpy()),
        "recall_by_style": {s: recall_where(positives & styles.apply(lambda t, s=s: s in t).to_numpy()) for s in STYLES},
        "false_positive_rate_by_look_alike": {
            name: recall_where(negatives & looks.apply(lambda t, n=name: n in t).to_numpy()) for name in HARD_NEGATIVES
        },
        "positives": int(positives.sum()),
        "negatives": int(negatives.sum()),
    }
