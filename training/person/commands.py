"""The person model's commands: `playserve data|train|predict|serve person`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from playserve.console import (JsonOpt, PortOpt, RateOpt, RunsDirOpt, err, fail, finish_training, model_option,
                               print_file_results, progress_display, user_errors)

ModelOpt = model_option("person")


def data(
    out: Annotated[Path, typer.Option("--out", help="Output folder: a YOLO-format dataset with data.yaml.", file_okay=False)],
    images: Annotated[int, typer.Option("--images", min=20, help="Images, split 70/15/15 into train, val and test.")] = 120,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
):
    """Drawn figures (not people) on real textures, in YOLO format, to test `playserve train person --data`."""
    from training.person import data

    with progress_display(f"drawing {images:,} scenes"):
        data_yaml = data.write(out, images, seed)
    print(json.dumps({"out": str(out), "data": str(data_yaml), "images": images}))


def train(
    data: Annotated[Optional[Path], typer.Option("--data", help="A YOLO-format dataset's data.yaml to fine-tune on; without it "
                                                 "the packaged weights are measured and registered.", dir_okay=False)] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Fine-tuning passes over the training images.")] = 10,
    image_size: Annotated[int, typer.Option("--image-size", min=128, max=1280, help="Fine-tuning image size (a multiple of 32).")] = 640,
    runs_dir: RunsDirOpt = Path("runs"),
    as_json: JsonOpt = False,
):
    """YOLO person detector: fine-tune with ultralytics on --data if given (held-out mAP50, mAP50-95
    and count error against the packaged weights and HOG), export to ONNX with parity checks, count
    people on real photos against OpenCV's HOG, gate, register."""
    from training.person import pipeline

    if image_size % 32:
        raise fail(f"--image-size: {image_size} is not a multiple of 32")
    with user_errors(), progress_display("training person") as report:
        outcome = pipeline.run(data, epochs, image_size, runs_dir, report)
    return finish_training(outcome, as_json, show_metrics)


def show_metrics(report: dict) -> None:
    real = report["real_photos"]
    table = Table(title=f"people on {real['images']} real photos ({real['people']} people)")
    for column in ("detector", "exact_count", "people_found", "false_people", "ms_per_image"):
        table.add_column(column, justify="right" if column != "detector" else "left")
    for name, key in (("YOLO (this model)", "yolo"), ("OpenCV HOG (baseline)", "hog")):
        table.add_row(name, *(str(v) for v in real["summary"][key].values()))
    err.print(table)
    fine = report.get("fine_tuning")
    if fine:
        err.print("held-out test split" + (" (GENERATED figures)" if fine["synthetic"] else "") + ": " + ", ".join(
            f"{name} mAP50-95 {m['map50_95']:.3f} count error {m['count_mae']:.2f}" for name, m in fine["test"].items()))


def predict(
    paths: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, metavar="PATH", help="Images (JPEG, PNG, WebP) or videos (MP4, AVI, MKV, WebM, MOV).")],
    model: ModelOpt = "person:latest",
    rate: RateOpt = 2.0,
):
    """JSON lines with `count`, `looking` (people facing the camera) and `people` (box, confidence,
    looking): one line per image, one per sampled frame of a video (with `time_s` and track ids).
    A file that cannot be read gets a line with its error, and the command then exits 1."""
    from training.common.store import get
    from training.person import scoring

    with user_errors():
        stored = get(model)
        print_file_results(scoring.predict_files(stored.path, paths, rate), len(paths), stored.tag)


def serve(port: PortOpt = 3000, model: ModelOpt = "person:latest"):
    """Serve the person detector (camera frames, recordings) with BentoML on 127.0.0.1 (Ctrl-C stops it)."""
    from playserve import services

    with user_errors():
        services.exec_serve("person", port=port, tag=model)


COMMANDS = {"data": data, "train": train, "predict": predict, "serve": serve}
