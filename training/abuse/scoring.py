"""Batch scoring of a feature table with a stored abuse scorer (the CLI's; the service scores rows)."""

from __future__ import annotations

import pandas as pd

from training.abuse.serving.scorer import Scorer, matrix
from training.common import store
from training.common.tables import id_frame


def score_table(tag: str, table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The id column (when the table has it) and `score`, and the exact model tag used."""
    stored = store.get(tag)
    scorer = Scorer(stored.path)
    scores = scorer.score(matrix(table, scorer.spec.features))
    return id_frame(table, stored.metadata.get("id_column")).assign(score=scores.score), stored.tag
