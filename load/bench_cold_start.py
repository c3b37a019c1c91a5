"""Cold start: seconds from launching a model's server to its first 200 from /readyz, in the
project environment (`bentoml serve`, as `playserve serve` and `up` start it) and in the model's
serving image (`podman run`, read-only root as in the manifests).

    .venv/bin/python -m load.bench_cold_start [--models spend abuse] [--runs 3]

Each model's registered latest version; its image is built first (not timed; `playserve build`).
Every run starts each model in both places, so a busy moment of this shared machine falls on all
of them. Writes load/results/cold-start.md and .json.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from load.bench import feature_store, positive
from load.bench_images import cold_start as image_cold_start, keys_for_the_container
from load.results_file import run_facts, write
from playserve import catalog, images, services
from playserve.image_warm_up import seconds_to_ready
from training.common.store import get

TARGET_S = 5.0
PLACES = ("project environment", "image")


def launch_to_ready(model: str, tag: str, timeout: float = 120) -> float:
    port = services.free_port()
    started = time.monotonic()
    process = subprocess.Popen(services.serve_command(model, port), env=services.serve_env(model, tag),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seconds = seconds_to_ready(f"http://127.0.0.1:{port}/readyz", started, lambda: process.poll() is None, timeout)
        if seconds is None:
            raise SystemExit(f"{model} was not ready in {timeout} s (exit code {process.poll()})")
        return seconds
    finally:
        services.stop(process)


def built_image(model: str, tag: str) -> str:
    spec = catalog.spec(model)
    return images.build(model, tag, spec.version_env, spec.service).name


def measure(models: list[str], runs: int) -> dict[str, dict[str, list[float]]]:
    tags = {model: str(get(f"{model}:latest").tag) for model in models}
    built = {model: built_image(model, tags[model]) for model in models}
    starts = {model: {place: [] for place in PLACES} for model in models}
    with contextlib.ExitStack() as stack:
        keys = keys_for_the_container(Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="playserve-bench-keys-"))))
        for model in models:
            stack.enter_context(feature_store(model))
        for _ in range(runs):
            for model in models:
                starts[model]["project environment"].append(launch_to_ready(model, tags[model]))
                starts[model]["image"].append(image_cold_start(built[model], keys))
    return starts


def render(report: dict) -> str:
    rows = "\n".join(f"| {model} | {place} | {statistics.median(s):.1f} | {' / '.join(f'{x:.1f}' for x in s)} | "
                     f"{'met' if statistics.median(s) <= report['target_s'] else 'MISSED'} |"
                     for model, places in report["runs_s"].items() for place, s in places.items())
    return f"""# Cold start

Measured {report['when']} on {report['machine']} with `{report['command']}`.
From launch to the first 200 from `/readyz`: `bentoml serve` in the project environment (supervisor
and workers, as `playserve serve` starts it), and `podman run` of the model's serving image with a
read-only root as in the manifests. Each run starts every model in both places in turn. Target:
ready in {report['target_s']:.0f} s or less.

| model | where | median s | runs s | target |
|---|---|---|---|---|
{rows}

Image sizes and the serving image against a naive one: [images.md](images.md).
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["spend", "abuse"], choices=catalog.names())
    parser.add_argument("--runs", type=positive, default=3)
    args = parser.parse_args(argv)
    command = f"python -m load.bench_cold_start --models {' '.join(args.models)} --runs {args.runs}"
    write("cold-start", {**run_facts(command), "target_s": TARGET_S, "runs_s": measure(args.models, args.runs)}, render)


if __name__ == "__main__":
    main()
