"""What turning TensorFlow's oneDNN off costs (training.common.keras_runtime does, since oneDNN's
AVX-512 1x1 backward-weights kernel crashes fine-tuning): fer's expression model fine-tuned one
batch at a time, and scoring faces with it (the fine-tuning's evaluation and the export parity
check), with oneDNN off, on with its AVX2 kernels only, and on with every kernel this CPU has.

    .venv/bin/python -m load.bench_keras [--rounds 3] [--steps 20]

Each figure is the median over rounds; in a round each setting runs once, in its own process and
in turn, so the settings share the machine's noise. Writes load/results/bench-keras.md and .json.
Serving is not affected: the emotion service runs the exported model under ONNX Runtime."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from load.results_file import run_facts, write
from training.common.cpu_check import outcome

SETTINGS = {
    "oneDNN off (the project's default)": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "oneDNN on, AVX2 kernels": {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "oneDNN on, every kernel": {"TF_ENABLE_ONEDNN_OPTS": "1"},
}
BATCH = 32
FACES = 1024


def fine_tuning_step_seconds(steps: int) -> float:
    from training.emotion import export, train

    rng = np.random.default_rng(0)
    model = train.compile_for_fine_tuning(export.load(), train.TrainConfig().learning_rate)
    faces, labels = rng.uniform(-1, 1, (BATCH, 64, 64, 1)).astype(np.float32), rng.integers(0, 7, BATCH)
    for _ in range(2):  # graph tracing and kernel creation
        model.train_on_batch(faces, labels)
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(faces, labels)
    return (time.perf_counter() - started) / steps


def faces_per_second() -> float:
    from training.emotion import export

    model = export.load()
    faces = np.random.default_rng(1).integers(0, 256, (FACES, 64, 64), dtype=np.uint8)
    export.keras_probabilities(model, faces[:256])
    started = time.perf_counter()
    export.keras_probabilities(model, faces)
    return FACES / (time.perf_counter() - started)


def trial(workload: str, settings: dict, steps: int) -> float | str:
    """One workload in a fresh process with the settings; its figure, or how the process died."""
    env = {k: v for k, v in os.environ.items() if k not in {"TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA"}} | settings
    process = subprocess.run([sys.executable, "-m", "load.bench_keras", "--trial", workload, "--steps", str(steps)],
                             capture_output=True, text=True, env=env)
    result = outcome(process.returncode, process.stdout, process.stderr)
    return result["value"] if process.returncode == 0 else result["error"].split(":")[0]


def median_or_failure(values: list) -> float | str:
    numbers = [v for v in values if isinstance(v, float)]
    return statistics.median(numbers) if len(numbers) == len(values) else next(v for v in values if isinstance(v, str))


def measure(rounds: int, steps: int) -> dict:
    seen = {(name, workload): [] for name in SETTINGS for workload in ("step", "faces")}
    for _ in range(rounds):
        for name, settings in SETTINGS.items():
            for workload in ("step", "faces"):
                seen[name, workload].append(trial(workload, settings, steps))
    rows = {name: {"fine_tuning_step_s": median_or_failure(seen[name, "step"]),
                   "faces_per_s": median_or_failure(seen[name, "faces"])} for name in SETTINGS}
    baseline = rows["oneDNN off (the project's default)"]
    for row in rows.values():
        row["step_time_vs_off"] = _ratio(row["fine_tuning_step_s"], baseline["fine_tuning_step_s"])
        row["faces_per_s_vs_off"] = _ratio(row["faces_per_s"], baseline["faces_per_s"])
    return rows


def _ratio(value, reference):
    return value / reference if isinstance(value, float) and isinstance(reference, float) else None


def _cell(value, form: str) -> str:
    return format(value, form) if isinstance(value, float) else (value or "-")


def render(report: dict) -> str:
    lines = [f"# Keras with and without oneDNN ({report['run']['when']})", "",
             f"{report['run']['machine']}; CPU: {report['cpu']}; {report['rounds']} rounds, medians; "
             f"fine-tuning: fer's model, batch {BATCH}, {report['steps']} steps after 2 warm-up steps; "
             f"scoring: {FACES} random 64x64 faces through `export.keras_probabilities`. Command: `{report['run']['command']}`", "",
             "| setting | s per fine-tuning step | x off | faces/s scored | x off |", "|---|---|---|---|---|"]
    for name, row in report["rows"].items():
        lines.append(f"| {name} | {_cell(row['fine_tuning_step_s'], '.3f')} | {_cell(row['step_time_vs_off'], '.2f')} "
                     f"| {_cell(row['faces_per_s'], ',.0f')} | {_cell(row['faces_per_s_vs_off'], '.2f')} |")
    return "\n".join(lines) + "\n"


def cpu_model() -> str:
    first_cpu = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    fields = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in first_cpu.splitlines())}
    model, flags = fields.get("model name", "unknown"), fields.get("flags", "").split()
    extensions = [flag for flag in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if flag in flags]
    return f"{model} ({', '.join(extensions)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--trial", choices=["step", "faces"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trial:
        value = fine_tuning_step_seconds(args.steps) if args.trial == "step" else faces_per_second()
        print(json.dumps({"value": value}))
        return
    report = {"run": run_facts(f"python -m load.bench_keras --rounds {args.rounds} --steps {args.steps}"),
              "cpu": cpu_model(), "rounds": args.rounds, "steps": args.steps, "rows": measure(args.rounds, args.steps)}
    write("bench-keras", report, render)


if __name__ == "__main__":
    main()
