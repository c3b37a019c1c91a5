"""The spend model's commands: `playserve data|train|predict|serve spend` and `playserve nudge-effect`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from playserve.console import (DataOpt, JsonOpt, PortOpt, RunsDirOpt, err, finish_training, model_option,
                               progress_display, user_errors)

ModelOpt = model_option("spend")


def data(
    out: Annotated[Path, typer.Option("--out", help="Output table (.csv or .parquet).", dir_okay=False)],
    source: Annotated[str, typer.Option("--source", help="synthetic: a generated population; cdnow: the real CDNOW purchase log "
                                        "as monthly snapshots (train it with --id customer_id --target spend_next_30d).")] = "synthetic",
    users: Annotated[Optional[int], typer.Option("--users", min=1, help="Number of users [default: 750,000].")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    truth: Annotated[Optional[Path], typer.Option("--truth", help="Also write each user's injected nudge effect here.")] = None,
):
    """Synthetic game-economy population with a control / nudged split and a known nudge effect, or a real purchase log."""
    from training.common.tables import write_table
    from training.spend import cdnow, data

    if source not in ("synthetic", "cdnow"):
        raise typer.BadParameter(f"expected synthetic or cdnow, got {source!r}", param_hint="--source")
    if source == "cdnow":
        with user_errors(), progress_display("reading the CDNOW purchase log"):
            frame = cdnow.table()
            write_table(frame, out)
        print(json.dumps({"out": str(out), "rows": len(frame), "customers": int(frame[cdnow.ID].nunique()),
                          "non_payer_share": round(float((frame[cdnow.TARGET] == 0).mean()), 4)}))
        return
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


def train(
    data_file: Annotated[Optional[Path], typer.Option("--data", help="Training table; default: a synthetic population.", dir_okay=False)] = None,
    target: Annotated[str, typer.Option("--target", help="Target column: spend over the next 30 days.")] = "spend_30d",
    id_column: Annotated[str, typer.Option("--id", help="User id column (not a feature).")] = "user_id",
    group: Annotated[str, typer.Option("--group", help="Group column; only rows equal to --control are used.")] = "group",
    control: Annotated[str, typer.Option("--control", help="Value of --group marking un-nudged users.")] = "control",
    users: Annotated[Optional[int], typer.Option("--users", min=1_000, help="Users in the synthetic default [default: 750,000].")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the synthetic default and the split.")] = 0,
    runs_dir: RunsDirOpt = Path("runs"),
    as_json: JsonOpt = False,
):
    """Train the spend model on the control group (hurdles and single stages, the best on validation), gate it against baselines, register it."""
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
    return finish_training(outcome, as_json, show_metrics)


def show_metrics(report: dict) -> None:
    from training.common.evidence import describe

    table = Table(title="held-out metrics (test split, control group)")
    for column in ("model", "MAE", "RMSE", "MAPE+1000", "total ratio"):
        table.add_column(column, justify="right" if column != "model" else "left")
    rows = {f"{report['chosen']['label']} (this model)": report["metrics"], **report["baselines"]}
    for name, m in rows.items():
        table.add_row(name, f"{m['mae']:,.0f}", f"{m['rmse']:,.0f}", f"{m['mape_1000']:.2%}", f"{m['total_ratio']:.3f}")
    err.print(table)
    m = report["metrics"]
    err.print(f"payer classifier at {m['payer_threshold']:.3f}: recall {m['payer_recall']:.3f}, precision {m['payer_precision']:.3f}, "
              f"ROC-AUC {m['payer_roc_auc']:.3f}")
    for group, margins in report["margins"].items():
        for name, margin in margins.items():
            err.print(f"margin over {group[:-1]} {name}: {describe(margin)}")


def predict(
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


def serve(port: PortOpt = 3000, model: ModelOpt = "spend:latest"):
    """Serve the spend model with BentoML on 127.0.0.1 (Ctrl-C stops it)."""
    from playserve import services

    with user_errors():
        services.exec_serve("spend", port=port, tag=model)


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


COMMANDS = {"data": data, "train": train, "predict": predict, "serve": serve}
EXTRA_COMMANDS = {"nudge-effect": nudge_effect}  # top-level: `playserve nudge-effect`
