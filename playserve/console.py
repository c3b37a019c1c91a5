"""What every command shares: the error console, the exit codes, progress, common options and how a
training run ends (the one quality-gate check)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

err = Console(stderr=True, soft_wrap=True)  # soft wrap: piped output keeps long lines whole

GATE_FAILED = 3  # exit code of a training run the quality gate refused

DataOpt = Annotated[Path, typer.Option("--data", help="CSV or Parquet table.", dir_okay=False)]
PortOpt = Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")]
RunsDirOpt = Annotated[Path, typer.Option("--runs-dir", help="Where the run's model card and metrics go.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
RateOpt = Annotated[float, typer.Option("--rate", min=0.01, max=10, help="Video frames analysed per second.")]


def model_option(name: str):
    """The --model option of a model's commands: which registered version to use."""
    return Annotated[str, typer.Option("--model", help=f"Model tag: {name}:latest or {name}:<version>.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@contextmanager
def progress_display(title: str):
    """Yields the callback long-running work reports its steps to. In a terminal: a spinner with the
    current step and the time elapsed. Elsewhere (a log, CI) one line per step with the time elapsed
    when it began: a spinner's updates never reach a file, only its last state."""
    if not err.is_terminal:
        started = time.monotonic()
        report = lambda stage: err.print(f"{title}: {stage}  {timedelta(seconds=round(time.monotonic() - started))}", highlight=False)  # noqa: E731
        report("started")
        yield report
        report("done")
        return
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


def finish_training(outcome, as_json: bool, show: Callable[[dict], None]):
    """How every `playserve train <model>` ends: the report (JSON, or the model's own tables),
    then the gate's verdict — exit 3 naming each failure, or the registered tag. Returns the
    outcome (a `training.common.store.TrainOutcome`) for callers such as `up`."""
    if as_json:
        print(json.dumps(outcome.report))
    else:
        show(outcome.report)
        err.print(f"model card and metrics: {outcome.run_dir}")
    if not outcome.passed:
        raise fail("quality gate failed, nothing registered: " + "; ".join(outcome.gate_failures), code=GATE_FAILED)
    err.print(f"[green]registered[/] {outcome.model.tag}")
    return outcome


def print_file_results(results: Iterable[dict], files: int, tag: str) -> None:
    """One JSON line per result; a file that could not be read has an `error` and makes the exit code 1."""
    failed = 0
    for result in results:
        failed += "error" in result
        print(json.dumps(result), flush=True)
    err.print(f"analysed {files - failed:,} of {files:,} files with {tag}")
    if failed:
        raise typer.Exit(1)
