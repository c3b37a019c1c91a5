"""Batch scoring of a feature table with a stored abuse scorer (the CLI's; the service scores rows)."""

from __future__ import annotations

import pandas as pd

from training.abuse.scorer import Scorer, matrix
from training.common import store


def score_table(tag: str, table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The id column (when the table has it) and `score`, and the exact model tag used."""
    stored = store.get(tag)
    scorer = Scorer(stored.path)
    scores = scorer.score(matrix(table, scorer.spec.features))
    id_column = stored.metadata.get("id_column")
    ids = table[[id_column]].reset_index(drop=True) if id_column in table.columns else pd.DataFrame(index=range(len(table)))
    return ids.assign(score=scores.score), stored.tag
