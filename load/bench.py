"""One benchmark harness for every model, in one run: (a) the bare model in process, (b) the
service with adaptive batching, (c) the service with batching off, each at several numbers of
concurrent clients; throughput, p50/p99 latency, errors and the ratios (b)/(a) and (b)/(c).

    .venv/bin/python -m load.bench spend [--requests 1500] [--model spend:latest]

Writes load/results/bench-<model>.md and .json (or into --results). Every request is what the
model's callers send one at a time (spend: one player at login). Clients run on this machine's
cores beside the server, as they would beside a sidecar; (a) has no client and no HTTP."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import orjson

from load.results_file import RESULTS, run_facts, write
from playserve import services

CONCURRENCY = (1, 8, 32)
REQUESTS = 1_500  # per mode and concurrency level
WARM_UP = 200
SEED = 42


@dataclass
class Workload:
    endpoint: str
    bodies: list[bytes]  # request bodies, used in turn
    bare: Callable[[int], object]  # the model on request i's input, decoded, in process


def spend_workload(tag: str) -> tuple[str, Workload]:
    from training.spend import data
    from training.spend.scoring import load

    stored, model = load(tag)
    frame = data.generate(2_000, seed=SEED).frame.drop(columns=[data.TARGET, data.GROUP])
    records = orjson.loads(frame.to_json(orient="records"))
    rows = [frame.iloc[[i]] for i in range(len(frame))]
    return stored.tag, Workload("/predict", [orjson.dumps({"users": [r]}) for r in records],
                                lambda i: model.predict(rows[i % len(rows)]))


WORKLOADS = {"spend": spend_workload}


def summary(latencies: list[float], errors: int, seconds: float, concurrency: int) -> dict:
    return {"concurrency": concurrency, "requests": len(latencies), "errors": errors,
            "requests_per_s": len(latencies) / seconds,
            "p50_ms": float(np.percentile(latencies, 50) * 1000), "p99_ms": float(np.percentile(latencies, 99) * 1000)}


def bare(workload: Workload, concurrency: int, total: int) -> dict:
    """`concurrency` threads calling the model directly, `total` calls in all."""
    latencies, errors, counter = [], 0, itertools.count()

    def worker() -> None:
        nonlocal errors
        while (i := next(counter)) < total:
            sent = time.perf_counter()
            try:
                workload.bare(i)
            except Exception:  # noqa: BLE001 - a failed call is counted, as a 5xx would be
                errors += 1
            latencies.append(time.perf_counter() - sent)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summary(latencies, errors, time.perf_counter() - start, concurrency)


async def http(url: str, workload: Workload, concurrency: int, total: int) -> dict:
    """`concurrency` clients, each sending its next request when the last is answered."""
    latencies, errors, counter = [], 0, itertools.count()

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while (i := next(counter)) < total:
            sent = time.perf_counter()
            try:
                response = await client.post(workload.endpoint, content=workload.bodies[i % len(workload.bodies)],
                                             headers={"content-type": "application/json"})
                errors += response.status_code != 200
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - sent)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        return summary(latencies, errors, time.perf_counter() - start, concurrency)


def start_service(model: str, tag: str, batching: bool) -> tuple[subprocess.Popen, str]:
    port = services.free_port()
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{model}-", suffix=".log", delete=False)
    process = subprocess.Popen(services.serve_command(model, port), env=services.serve_env(model, tag, batching=batching),
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    if services.wait_until_ok(f"{url}/readyz", 120, alive=lambda: process.poll() is None):
        return process, url
    process.kill()
    sys.exit(f"{model} service did not become ready; log: {log.name}")


def served(model: str, tag: str, workload: Workload, batching: bool, requests: int) -> list[dict]:
    process, url = start_service(model, tag, batching)
    try:
        asyncio.run(http(url, workload, 4, WARM_UP))
        return [asyncio.run(http(url, workload, c, requests)) for c in CONCURRENCY]
    finally:
        services.stop(process)


def measure(model: str, tag: str, requests: int) -> dict:
    tag, workload = WORKLOADS[model](tag)
    bare(workload, 1, WARM_UP)
    modes = {"bare": [bare(workload, c, requests) for c in CONCURRENCY],
             "batching": served(model, tag, workload, True, requests),
             "no_batching": served(model, tag, workload, False, requests)}
    ratios = [{"concurrency": a["concurrency"],
               "batching_over_bare": b["requests_per_s"] / a["requests_per_s"],
               "batching_over_no_batching": b["requests_per_s"] / c["requests_per_s"]}
              for a, b, c in zip(modes["bare"], modes["batching"], modes["no_batching"])]
    return {"model": tag, "endpoint": workload.endpoint, "requests": requests, "modes": modes, "ratios": ratios}


MODE_NAMES = {"bare": "(a) bare model, in process", "batching": "(b) service, adaptive batching",
              "no_batching": "(c) service, batching off"}


def render(report: dict) -> str:
    rows = [f"| {MODE_NAMES[mode]} | {r['concurrency']} | {r['requests']:,} | {r['errors']} | {r['requests_per_s']:,.0f} "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |" for mode, results in report["modes"].items() for r in results]
    ratios = [f"| {r['concurrency']} | {r['batching_over_bare']:.2f} | {r['batching_over_no_batching']:.2f} |" for r in report["ratios"]]
    return "\n".join([
        f"# Benchmark: {report['model']}",
        "",
        f"Measured {report['when']} on {report['machine']} with `{report['command']}`.",
        f"One request = one call of `{report['endpoint']}` as callers send it; {report['requests']:,} requests per row.",
        "Clients share the machine's cores with the server; (a) has neither client nor HTTP.",
        "",
        "| mode | concurrent clients | requests | errors | requests/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "| concurrent clients | (b)/(a) throughput | (b)/(c) throughput |",
        "|---|---|---|",
        *ratios,
        "",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(WORKLOADS))
    parser.add_argument("--model-tag", dest="tag", default=None, help="model version (default: <model>:latest)")
    parser.add_argument("--requests", type=int, default=REQUESTS, help="requests per mode and concurrency level")
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory for the results files")
    args = parser.parse_args(argv)
    report = measure(args.model, args.tag or f"{args.model}:latest", args.requests)
    command = f"python -m load.bench {args.model}" + (f" --requests {args.requests}" if args.requests != REQUESTS else "")
    write(f"bench-{args.model}", report | run_facts(command), render, args.results)


if __name__ == "__main__":
    main()
