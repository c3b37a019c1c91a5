"""Overload as a caller sees it, on one model's interactive route, far beyond what one replica
serves (Debian's `hey`): one burst of `--concurrency` requests at once (as the issue measured it),
then `--concurrency` clients sending `--requests` back to back, each its next as soon as the last
is answered (retrying at once, as no well-behaved client does: Retry-After says 1-2 s). Per answer
status: how many, and how fast (a refusal should come at once); and how many were answered 200
within the route's latency objective.

    .venv/bin/python -m load.overload person [--concurrency 90] [--requests 450]

Writes load/results/overload-<model>.md and .json. The request is the benchmark's (load/workloads/)."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import numpy as np

from load import bench, hey
from load.results_file import RESULTS, run_facts, write
from playserve import catalog, services


def figures(run: hey.Run, objective_s: float, sent: int) -> dict:
    """Per status: count, p50 and max seconds to the answer; and how many of `sent` got a 200 in time."""
    latencies, statuses = np.array(run.latencies), np.array(run.statuses)
    by_status = {int(status): {"count": int((statuses == status).sum()),
                               "p50_s": round(float(np.median(latencies[statuses == status])), 3),
                               "max_s": round(float(latencies[statuses == status].max()), 3)} for status in sorted(set(run.statuses))}
    in_time = int(((statuses == 200) & (latencies <= objective_s)).sum())
    return {"sent": sent, "unanswered": sent - len(statuses), "by_status": by_status, "answered_in_time": in_time,
            "served_in_time": round(in_time / max(1, int((statuses == 200).sum())), 3), "seconds": round(run.seconds, 1)}


def render(report: dict) -> str:
    lines = [f"# Overload: {report['model']} `{report['endpoint']}`, {report['concurrency']} clients", "",
             f"Written by `{report['command']}` on {report['when']} ({report['machine']}), model {report['tag']}; "
             f"latency objective {report['objective_s']:g} s. hey records no headers: that every 429 and 503 carries "
             "Retry-After and the error envelope is asserted by tests/service/test_person_http.py.", "",
             "| load | sent | status | answers | p50 s to the answer | slowest s |", "|---|---:|---:|---:|---:|---:|"]
    for name, run in report["runs"].items():
        lines += [f"| {name} | {run['sent']} | {status} | {row['count']} | {row['p50_s']:.3f} | {row['max_s']:.3f} |"
                  for status, row in run["by_status"].items()]
    lines += [""] + [f"- {name}: {run['answered_in_time']} answered 200 within the objective ({run['served_in_time']:.0%} of the 200s), "
                     f"{run['unanswered']} unanswered, {run['seconds']} s in all." for name, run in report["runs"].items()]
    return "\n".join(lines + [""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=bench.benchmarked())
    parser.add_argument("--concurrency", type=bench.positive, default=90)
    parser.add_argument("--requests", type=bench.positive, default=450)
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory for the results files")
    args = parser.parse_args(argv)
    tag, workload = importlib.import_module(f"load.workloads.{args.model}").workload(f"{args.model}:latest")
    process, url = bench.start_service(args.model, str(tag), batching=False)
    objective_s = catalog.spec(args.model).latency_objective_s
    loads = {"one burst": args.concurrency, "back to back": args.requests}
    runs = {}
    try:
        bench.http(url, workload, 2, 10)  # warm
        for name, requests in loads.items():
            runs[name] = figures(bench.http(url, workload, args.concurrency, requests), objective_s, hey.sent(requests, args.concurrency))
    finally:
        services.stop(process)
    report = {"model": args.model, "endpoint": workload.endpoint, "concurrency": args.concurrency, "tag": str(tag),
              "objective_s": objective_s, "runs": runs}
    write(f"overload-{args.model}", report | run_facts(f"python -m load.overload {args.model} --concurrency {args.concurrency} "
                                                        f"--requests {args.requests}"), render, args.results)


if __name__ == "__main__":
    main()
