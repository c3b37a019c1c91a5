"""Held-out metrics for zero-inflated spend targets (DOMAIN.md, section 1)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_score, recall_score, roc_auc_score

MAPE_OFFSET = 1_000.0  # keeps zero spenders from dividing by zero, as in the published study
PAYER_RECALL = 0.9  # the domain's conservative payer classifier: it misses few payers (DOMAIN.md, section 1)


def mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y - pred)))


def rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - pred) ** 2)))


def mape_offset(y: np.ndarray, pred: np.ndarray, offset: float = MAPE_OFFSET) -> float:
    """mean(|y - pred| / (y + offset)), as a fraction (0.28 = 28%)."""
    return float(np.mean(np.abs(y - pred) / (y + offset)))


def total_ratio(y: np.ndarray, pred: np.ndarray) -> float:
    """Sum predicted / sum actual: 1.0 means the aggregate is right, which effect measurement needs."""
    total = float(np.sum(y))
    return float(np.sum(pred)) / total if total else float("nan")


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    return {
        "mae": mae(y, pred),
        "rmse": rmse(y, pred),
        "mape_1000": mape_offset(y, pred),
        "total_ratio": total_ratio(y, pred),
    }


def threshold_for_recall(probability: np.ndarray, labels: np.ndarray, recall: float) -> float:
    """The highest threshold that still flags at least `recall` of the positives."""
    positives = np.sort(probability[labels == 1])[::-1]
    return float(positives[int(np.ceil(recall * len(positives))) - 1])


def payer_metrics(is_payer: np.ndarray, probability: np.ndarray, threshold: float) -> dict[str, float]:
    """Classifier quality on the payer / non-payer split at `threshold`."""
    decided = probability >= threshold
    both_classes = 0 < is_payer.sum() < len(is_payer)
    return {
        "payer_threshold": float(threshold),
        "payer_recall": float(recall_score(is_payer, decided, zero_division=0)),
        "payer_precision": float(precision_score(is_payer, decided, zero_division=0)),
        "non_payer_recall": float(recall_score(~is_payer, ~decided, zero_division=0)),
        "payer_roc_auc": float(roc_auc_score(is_payer, probability)) if both_classes else float("nan"),
    }
