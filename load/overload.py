"""Overload as a caller sees it: `--concurrency` clients (Debian's `hey`), each sending its next
request as soon as the last is answered, to one model's interactive route, far more than one
replica serves. Per answer status: how many, and how fast (a refusal should come at once, with
Retry-After); and the share of all requests answered 200 within the route's latency objective.

    .venv/bin/python -m load.overload person [--concurrency 90] [--requests 450]

Writes load/results/overload-<model>.md and .json. The request is the benchmark's (load/workloads/)."""

from __future__ import annotations

import argparse
import importlib

import numpy as np

from load import bench, hey
from load.results_file import RESULTS, run_facts, write
from playserve import catalog, services


def figures(run: hey.Run, objective_s: float, sent: int) -> dict:
    """Per status: count, p50 and max seconds to the answer; and what share of `sent` got a 200 in time."""
    latencies, statuses = np.array(run.latencies), np.array(run.statuses)
    by_status = {int(status): {"count": int((statuses == status).sum()),
                               "p50_s": round(float(np.median(latencies[statuses == status])), 3),
                               "max_s": round(float(latencies[statuses == status].max()), 3)} for status in sorted(set(run.statuses))}
    in_time = int(((statuses == 200) & (latencies <= objective_s)).sum())
    return {"sent": sent, "unanswered": sent - len(statuses), "by_status": by_status, "answered_in_time": in_time,
            "share_in_time": round(in_time / sent, 3), "objective_s": objective_s, "seconds": round(run.seconds, 1)}


def render(report: dict) -> str:
    rows = [f"| {status} | {row['count']} | {row['p50_s']:.3f} | {row['max_s']:.3f} |" for status, row in report["by_status"].items()]
    return "\n".join([
        f"# Overload: {report['model']} `{report['endpoint']}`, {report['concurrency']} clients back to back", "",
        f"Written by `{report['command']}` on {report['when']} ({report['machine']}), model {report['tag']}.",
        f"{report['sent']} requests sent; {report['answered_in_time']} ({report['share_in_time']:.0%}) answered 200 within the "
        f"{report['objective_s']:g} s objective; {report['unanswered']} got no answer (hey does not record headers: that every 503 "
        "carries Retry-After and the error envelope is asserted by tests/service/test_person_http.py).", "",
        "| status | answers | p50 s to the answer | slowest s |", "|---:|---:|---:|---:|", *rows, ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=bench.benchmarked())
    parser.add_argument("--concurrency", type=bench.positive, default=90)
    parser.add_argument("--requests", type=bench.positive, default=450)
    parser.add_argument("--results", type=str, default=str(RESULTS))
    args = parser.parse_args(argv)
    tag, workload = importlib.import_module(f"load.workloads.{args.model}").workload(f"{args.model}:latest")
    process, url = bench.start_service(args.model, str(tag), batching=False)
    try:
        bench.http(url, workload, 2, 10)  # warm
        run = bench.http(url, workload, args.concurrency, args.requests)
    finally:
        services.stop(process)
    sent = hey.sent(args.requests, args.concurrency)
    report = {"model": args.model, "endpoint": workload.endpoint, "concurrency": args.concurrency, "tag": str(tag),
              **figures(run, catalog.spec(args.model).latency_objective_s, sent)}
    write(f"overload-{args.model}", report | run_facts(f"python -m load.overload {args.model} --concurrency {args.concurrency} "
                                                        f"--requests {args.requests}"), render, args.results)


if __name__ == "__main__":
    main()
