"""Train -> evaluate against the baselines -> gate -> export -> register for the abuse scorer, on the
generated game-economy table or any numeric feature table (a label, when given, only evaluates)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from training.abuse import baselines, export, model
from training.abuse.evaluate import REVIEW_CAPACITY, is_abuse, ranking_metrics
from training.abuse.serving.features import CONTEXT, GAIN, InputError
from training.abuse.serving.scorer import ONNX_FILE, Spec, matrix, quantiles
from training.abuse.spec import SHIPPED
from training.common import store
from training.common.drift import reference_statistics
from training.common.model_card import table as md_table

MODEL_NAME = "abuse"
TEST_SHARE = 0.3
METRICS = ["roc_auc", "pr_auc", "precision_at_k"]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Columns:
    id: str
    label: str | None
    features: list[str]
    gain: str | None
    context: list[str]


def columns(frame: pd.DataFrame, id_column: str, label: str | None, gain: str | None = None) -> Columns:
    """Every numeric column but the id and the label is a feature. The reward model needs the gain
    and its context: found by name in the game's own table, or `gain` named (context: the rest)."""
    for name in (id_column, label, gain):
        if name is not None and name not in frame.columns:
            raise InputError(name, "no such column in the table")
    numeric = [c for c in frame.columns if c not in (id_column, label) and pd.api.types.is_numeric_dtype(frame[c])]
    if len(numeric) < 2:
        raise InputError("table", f"needs at least 2 numeric feature columns, found {numeric}")
    if gain is None and GAIN in numeric and set(CONTEXT) <= set(numeric):
        return Columns(id_column, label, numeric, GAIN, list(CONTEXT))
    if gain is not None and gain not in numeric:
        raise InputError(gain, "the gain column must be numeric")
    return Columns(id_column, label, numeric, gain, [c for c in numeric if c != gain] if gain else [])


def split(n: int, seed: int) -> np.ndarray:
    """True for the held-out rows."""
    return np.random.default_rng(seed).random(n) < TEST_SHARE


def held_out(shipped: np.ndarray, forest: np.ndarray, rules: np.ndarray, labels: pd.Series | None, k: int) -> dict | None:
    if labels is None:
        return None
    abuse = is_abuse(labels)
    types = None if pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels) else labels.astype(str).to_numpy()
    return {name: ranking_metrics(abuse, score, types, k) for name, score in
            ((SHIPPED, shipped), ("isolation forest", forest), ("rules", rules))}


def gate(report: dict) -> list[str]:
    failures = []
    if report["onnx_parity"]["score"] > export.MAX_SCORE_DIFFERENCE:
        failures.append(f"ONNX scores differ from PyTorch's by {report['onnx_parity']['score']:.2e}")
    test = report["test"]
    if test is None:
        return failures
    ours = test[SHIPPED]
    for name in ("isolation forest", "rules"):
        for metric in METRICS:
            worse = ours[metric] < test[name][metric] if metric == "precision_at_k" else ours[metric] <= test[name][metric]
            if worse or np.isnan(ours[metric]):
                failures.append(f"held-out {metric} {ours[metric]:.3f} does not beat {name}'s {test[name][metric]:.3f}")
    return failures


def train(features: np.ndarray, labels: pd.Series | None, cols: Columns, seed: int, epochs: int, k: int,
          progress: Progress) -> tuple[model.AbuseNet, dict]:
    test = split(len(features), seed)
    index = {c: i for i, c in enumerate(cols.features)}
    net = model.fit(features[~test], [index[c] for c in cols.context], index.get(cols.gain),
                    model.FitConfig(seed=seed, epochs=epochs), progress)
    progress("baselines")
    forest = baselines.isolation_forest(features[~test], seed)
    rules = baselines.RuleSet.fit(features[~test], cols.features)
    shipped = model.predict(net, features[test])[0]
    held_labels = labels[test].reset_index(drop=True) if labels is not None else None
    report = {"rows": {"train": int((~test).sum()), "test": int(test.sum())},
              "test": held_out(shipped, baselines.forest_score(forest, features[test]), rules.score(features[test]), held_labels, k),
              "train_score_quantiles": quantiles(model.predict(net, features[~test])[0])}
    return net, report


def run(frame: pd.DataFrame, cols: Columns, source: str, synthetic: bool, runs_dir: Path, progress: Progress,
        seed: int = 0, epochs: int = model.EPOCHS, k: int = REVIEW_CAPACITY) -> store.TrainOutcome:
    features = matrix(frame, cols.features)
    net, report = train(features, frame[cols.label] if cols.label else None, cols, seed, epochs, k, progress)
    spec = Spec(cols.features, cols.gain, cols.context, report.pop("train_score_quantiles"))
    reference = reference_statistics(pd.DataFrame(features, columns=cols.features), cols.features)  # the services' drift baseline
    sha, data_hash = store.git_sha(), store.data_hash(frame)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export.to_onnx(net, Path(tmp) / ONNX_FILE)
        report["onnx_parity"] = export.parity(net, onnx_path, features[:2000])
        report |= {"model": MODEL_NAME, "columns": cols.__dict__, "reward_model": cols.gain is not None,
                   "data": {"source": source, "synthetic": synthetic, "hash": data_hash}, "git_sha": sha}
        report["gate_failures"] = gate(report)
        report["passed_gate"] = not report["gate_failures"]
        card = lambda version: model_card(report, version)  # noqa: E731
        stored = None
        if report["passed_gate"]:
            progress("registering")

            def write(directory: Path) -> None:
                (directory / ONNX_FILE).write_bytes(onnx_path.read_bytes())
                spec.save(directory)

            labels = {"git_sha": sha, "data_hash": data_hash, "stage": store.STAGE_CANDIDATE,
                      "synthetic": str(synthetic).lower(), "evaluated": str(report["test"] is not None).lower()}
            stored = store.register(MODEL_NAME, write, labels, {**report, "id_column": cols.id, "reference": reference}, card)
    run_dir = store.record_run(runs_dir, MODEL_NAME, stored, report, card)
    return store.TrainOutcome(report, stored, run_dir)


def model_card(report: dict, version: str) -> str:
    cols, data = report["columns"], report["data"]
    kind = ("**synthetic** (generated by `playserve data abuse`; every figure below is a synthetic-data metric)"
            if data["synthetic"] else "user-provided table")
    test = report["test"]
    if test:
        rows = [{"model": name, **{m: v for m, v in metrics.items() if m != "recall_at_k"}} for name, metrics in test.items()]
        recall = [{"model": name, **metrics.get("recall_at_k", {})} for name, metrics in test.items()]
        types = sorted(test[SHIPPED].get("recall_at_k", {}))
        evaluation = md_table(rows, ["model", *METRICS, "k"])
        if types:
            evaluation += f"\n\nRecall at k (share of each abuse type's users in the top k):\n\n{md_table(recall, ['model', *types])}"
    else:
        evaluation = "No label column: the scorer was not evaluated, only trained (registered with `evaluated: false`)."
    reward = (f"Reward model: fair `{cols['gain']}` from {', '.join(cols['context'])}." if cols["gain"]
              else "No reward model (no gain column): the score is the autoencoder's alone.")
    return f"""# Model card: abuse scorer `{MODEL_NAME}:{version}`

Ranks users by how unlike normal play their behaviour in a window is, for human review (DOMAIN.md,
section 5). Higher = more suspicious; the review team reads the top of the list.

- Git sha: `{report["git_sha"]}`
- Training data: {kind}; source `{data["source"]}`; sha256 `{data["hash"]}`
- Rows: {", ".join(f"{k} {v:,}" for k, v in report["rows"].items())}; id column `{cols["id"]}`; label `{cols["label"]}` (evaluation only)
- Features ({len(cols["features"])}): {", ".join(cols["features"])}

## Model
PyTorch: an autoencoder of presumed-normal windows (per-feature reconstruction error) and {reward}
Score = each feature's error beyond what 95% of normal windows show, plus half the mean error, plus
twice the reward residual beyond one standard deviation (training/abuse/model.py). Served as one ONNX
graph; ONNX Runtime against PyTorch, largest relative difference per output: {", ".join(f"{k} {v:.1e}" for k, v in report["onnx_parity"].items())}.

## Held-out metrics ({TEST_SHARE:.0%} of the rows)
{evaluation}

## Quality gate
ROC-AUC and PR-AUC above, and precision at k at least, those of an IsolationForest and of a rule set
(thresholds at the training windows' 99.5th percentile), when a label is given; ONNX parity always.
Result: {"passed" if report["passed_gate"] else "FAILED: " + "; ".join(report["gate_failures"])}.

## Limitations
- Trained without labels: it finds the unusual, not the forbidden. A new kind of normal play (an
  event, a patch) scores high until the model is retrained; human review of the top stays necessary.
- Camouflaged abuse (abusers who mimic normal play) is found less often; see recall per type.
"""
