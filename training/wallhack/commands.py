"""The wallhack model's commands: `playserve data|train|predict|serve wallhack`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from playserve.console import (JsonOpt, PortOpt, RunsDirOpt, err, finish_training, model_option,
                               progress_display, user_errors)

ModelOpt = model_option("wallhack")


def data(
    out: Annotated[Path, typer.Option("--out", help="Output directory (images/ and labels.csv).", file_okay=False)],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of screenshots.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; frame i depends only on (seed, i).")] = 0,
    styles: Annotated[str, typer.Option("--styles", help="Comma-separated ESP styles for the positives [default: all].")] = "",
):
    """Synthetic FPS screenshots, half with ESP overlays (boxes, skeletons, glow, ...), all with a HUD."""
    from training.wallhack import data

    chosen = [s.strip() for s in styles.split(",") if s.strip()] or list(data.STYLES)
    with user_errors(), progress_display(f"drawing {n:,} screenshots"):
        labels = data.write(out, n, seed=seed, styles=chosen)
    print(json.dumps({"out": str(out), "images": len(labels), "positives": int(labels["label"].sum()),
                      "styles": {s: int(labels["styles"].str.split("|").apply(lambda x, s=s: s in x).sum()) for s in chosen},
                      "labels": str(out / data.LABELS_FILE)}))


def train(
    frames: Annotated[int, typer.Option("--frames", min=100, help="Training frames (validation: a fifth, test: a third).")] = 3_000,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the training frames.")] = 4,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated frame sets and of training.")] = 0,
    runs_dir: RunsDirOpt = Path("runs"),
    as_json: JsonOpt = False,
):
    """Fine-tune MobileNetV2 on synthetic screenshots (one ESP style held out), gate it against a
    colour/edge baseline, export to ONNX with a parity check, register it."""
    from training.wallhack import pipeline
    from training.wallhack.train import TrainConfig

    config = TrainConfig(train=frames, validation=max(100, frames // 5), test=max(200, frames // 3), epochs=epochs, seed=seed)
    with user_errors(), progress_display("training wallhack") as report:
        outcome = pipeline.run(config, runs_dir, report)
    return finish_training(outcome, as_json, show_metrics)


def show_metrics(report: dict) -> None:
    from training.wallhack.pipeline import METRIC_COLUMNS

    table = Table(title="held-out metrics (synthetic test frames, every style)")
    for column in ("model", *METRIC_COLUMNS):
        table.add_column(column, justify="right" if column != "model" else "left")
    for name, m in (("MobileNetV2 (this model)", report["metrics"]), ("colour/edge baseline", report["baseline"])):
        table.add_row(name, *(f"{m[c]:.3f}" if m[c] is not None else "-" for c in METRIC_COLUMNS))
    err.print(table)


def predict(
    paths: Annotated[list[Path], typer.Argument(exists=True, metavar="PATH", help="Image files or directories (JPEG, PNG, WebP).")],
    model: ModelOpt = "wallhack:latest",
    threshold: Annotated[Optional[float], typer.Option("--threshold", min=0, max=1, help="Decision threshold; default: the model's.")] = None,
):
    """One JSON line per image: path, probability, wallhack (the decision). An image that cannot be
    read gets a line with its error instead, and the command then exits 1."""
    from training.common.store import get
    from training.wallhack.scoring import image_files, score_files

    with user_errors():
        stored = get(model)
        files = image_files(paths)
        cut = stored.metadata["threshold"] if threshold is None else threshold
        failed = 0
        for result in score_files(stored.path, files, cut):
            failed += "error" in result
            print(json.dumps(result), flush=True)
    err.print(f"scored {len(files) - failed:,} of {len(files):,} images with {stored.tag} (threshold {cut:.3f})")
    if failed:
        raise typer.Exit(1)


def serve(port: PortOpt = 3000, model: ModelOpt = "wallhack:latest"):
    """Serve the wallhack classifier with BentoML on 127.0.0.1 (Ctrl-C stops it)."""
    from playserve import services

    with user_errors():
        services.exec_serve("wallhack", port=port, tag=model)


COMMANDS = {"data": data, "train": train, "predict": predict, "serve": serve}
