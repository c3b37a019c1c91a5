"""The abuse model's commands: `playserve data|train|predict|serve abuse`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from playserve.console import (DataOpt, JsonOpt, PortOpt, RunsDirOpt, err, finish_training, model_option,
                               progress_display, user_errors)

ModelOpt = model_option("abuse")
RedisOpt = Annotated[str, typer.Option("--redis-url", envvar="PLAYSERVE_REDIS_URL", help="The online feature store, redis://:PASSWORD@HOST:PORT/DB (`playserve up` starts one).")]


def data(
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
    from training.abuse.serving import data, features
    from training.common.tables import write_table

    with user_errors(), progress_display(f"simulating {users:,} users"):
        population = data.generate(users, seed, abuse_rate, intensity, camouflage)
        table = features.labelled_table(population.events, population.users)
        write_table(table, out)
        if events:
            write_table(population.events, events)
    print(json.dumps({"out": str(out), "users": len(table), "events": len(population.events),
                      "abusers": population.users[data.LABEL].value_counts().drop(data.NORMAL, errors="ignore").to_dict()}))


def train(
    data_file: Annotated[Optional[Path], typer.Option("--data", help="A numeric feature table, one row per user (and window); "
                                                      "default: generated game-economy behaviour.", dir_okay=False)] = None,
    id_column: Annotated[str, typer.Option("--id", help="Id column (not a feature).")] = "user_id",
    label: Annotated[Optional[str], typer.Option("--label", help="Truth column, used only to evaluate: 0/1, or abuse types with 'none' for normal.")] = None,
    gain: Annotated[Optional[str], typer.Option("--gain", help="Column the reward model predicts from the others (the game's table: gain_total).")] = None,
    users: Annotated[int, typer.Option("--users", min=1_000, help="Users in the generated default.")] = 10_000,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the training rows, per fit.")] = 40,
    review_capacity: Annotated[int, typer.Option("--review-capacity", min=1, help="Users the review team checks: the k of precision at k.")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the generated default, the split and the networks.")] = 0,
    runs_dir: RunsDirOpt = Path("runs"),
    as_json: JsonOpt = False,
):
    """Autoencoder and reward-residual scorer (PyTorch, served as ONNX): held-out ROC-AUC, PR-AUC,
    precision at k and recall per abuse type against an IsolationForest and a rule set; gate, register."""
    from training.abuse import pipeline
    from training.abuse.serving import data, features
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
    return finish_training(outcome, as_json, show_metrics)


def show_metrics(report: dict) -> None:
    test = report["test"]
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


def predict(
    data_file: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="Output table (.csv or .parquet): the id column and score.", dir_okay=False)],
    model: ModelOpt = "abuse:latest",
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


def serve(port: PortOpt = 3000, model: ModelOpt = "abuse:latest",
                redis_url: RedisOpt = "redis://127.0.0.1:6379/0"):
    """Serve the abuse scorer (feature windows; game events into Redis and users scored from it) with
    BentoML on 127.0.0.1 (Ctrl-C stops it). Without Redis, /score works and the event endpoints answer 503."""
    from playserve import local_redis, services

    with user_errors():
        services.exec_serve("abuse", port=port, tag=model, extra={local_redis.ENV: redis_url})


COMMANDS = {"data": data, "train": train, "predict": predict, "serve": serve}
