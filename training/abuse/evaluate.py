"""Held-out metrics of a ranking for human review (DOMAIN.md, section 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from training.abuse.serving.data import NORMAL

REVIEW_CAPACITY = 100  # users a review team checks in a day: the k of precision at k


def is_abuse(labels: pd.Series) -> np.ndarray:
    """Truth from a label column: booleans, 0/1, or abuse types with NORMAL (or empty) for none."""
    if pd.api.types.is_bool_dtype(labels) or pd.api.types.is_numeric_dtype(labels):
        return labels.fillna(0).astype(float).to_numpy() > 0
    text = labels.fillna("").astype(str).str.strip().str.lower()
    return ~text.isin([NORMAL, "", "0", "false", "normal"]).to_numpy()


def ranking_metrics(abuse: np.ndarray, score: np.ndarray, types: np.ndarray | None, k: int = REVIEW_CAPACITY) -> dict:
    """ROC-AUC, PR-AUC, precision at k and, when the label names types, each type's recall at k."""
    k = min(k, len(score))
    top = np.argsort(-score, kind="stable")[:k]
    both = 0 < abuse.sum() < len(abuse)
    metrics = {"roc_auc": float(roc_auc_score(abuse, score)) if both else float("nan"),
               "pr_auc": float(average_precision_score(abuse, score)) if both else float("nan"),
               "precision_at_k": float(abuse[top].mean()), "k": k}
    if types is not None:
        metrics["recall_at_k"] = {str(t): float((types[top] == t).sum() / (types == t).sum()) for t in sorted(set(types[abuse]))}
    return metrics
