"""What the models must beat: an IsolationForest and the kind of rule set they replace."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import IsolationForest

from training.abuse.model import signed_log

# The log-monitoring rules a game's operations team writes: one feature past a threshold each.
# The thresholds are set where the team would set them, at the edge of the history they have
# (RULE_QUANTILE of the training windows). ">" flags high values, "<" low ones (a script's clock).
GAME_RULES = (
    ("crafts_per_minute", ">"), ("craft_gap_cv", "<"), ("rewards_per_minute", ">"), ("reward_gap_cv", "<"),
    ("quick_pickup_share", ">"), ("sale_gain", ">"), ("trade_return", ">"), ("gain_per_minute", ">"),
)
RULE_QUANTILE = 0.995
FOREST_TREES = 200


@dataclass(frozen=True)
class RuleSet:
    columns: list[int]
    high: np.ndarray      # True: the rule fires above its threshold
    thresholds: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray, names: list[str]) -> RuleSet:
        """The game's rules when the table has their features; otherwise one upper-tail rule per
        feature, which is what a rule set over an unknown table amounts to."""
        rules = [(names.index(f), op == ">") for f, op in GAME_RULES if f in names] or [(i, True) for i in range(len(names))]
        columns, high = [c for c, _ in rules], np.array([h for _, h in rules])
        values = features[:, columns]
        thresholds = np.where(high, np.quantile(values, RULE_QUANTILE, axis=0), np.quantile(values, 1 - RULE_QUANTILE, axis=0))
        return cls(columns, high, thresholds)

    def score(self, features: np.ndarray) -> np.ndarray:
        """Rules fired, and within the same count, how far past their thresholds (below 1)."""
        values = features[:, self.columns]
        past = np.where(self.high, values - self.thresholds, self.thresholds - values) / (np.abs(self.thresholds) + 1e-9)
        excess = np.clip(past, 0, None).sum(axis=1)
        return (past > 0).sum(axis=1) + excess / (1 + excess)


def isolation_forest(features: np.ndarray, seed: int) -> IsolationForest:
    return IsolationForest(n_estimators=FOREST_TREES, random_state=seed).fit(signed_log(features))


def forest_score(forest: IsolationForest, features: np.ndarray) -> np.ndarray:
    return -forest.score_samples(signed_log(features))  # higher = more anomalous, as the scorer's
