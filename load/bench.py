"""One benchmark harness for every model, in one run: (a) the bare model in process, (b) the
service with adaptive batching, (c) the service with batching off, and the serving floor (one
record echoed by BentoML and by plain uvicorn, load/floor.py), each at several numbers of
concurrent clients; throughput, p50/p99 latency, errors and the ratios (b)/(a), (b)/(c) and (b)/floor.

    .venv/bin/python -m load.bench MODEL [--requests N] [--model-tag TAG]   # a model with load/workloads/MODEL.py

Writes load/results/bench-<model>.md and .json (or into --results). Every request is what the
model's callers send one at a time (spend: one player at login; wallhack: one screenshot;
emotion: one webcam frame, plus the time to report on a 10-minute session video; person: one ad
camera frame, plus the real-photo comparison against HOG; abuse: one user's window, plus users
scored in 100-window requests and events ingested per second into a local Redis).
HTTP load comes from Debian's `hey` (load/hey.py), a native client on this machine's cores beside
the server, as a sidecar's would be; it sends one body, so every client sends the workload's one
request and (a) calls the model on that request's input. (a), (b) and the floor take turns, in rounds
at each level, so that the machine's noise (it is shared) falls on both sides of their ratios. (a) has no client and no HTTP. For a
model that batches (person, abuse), (a) at level c is one call on c inputs: the batch c clients'
requests can at best be merged into. A service without adaptive batching (emotion, wallhack) has no (c)."""

from __future__ import annotations

import argparse
import importlib
import itertools
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from load import floor, hey
from load.results_file import RESULTS, run_facts, write
from playserve import catalog, services
from playserve.api_keys import client_key

CONCURRENCY = (1, 8, 32)
REQUESTS = 1_500  # per mode and concurrency level
WARM_UP = 200  # requests before measuring; never more than a measured row (a short run stays short)
ROUNDS = 5  # turns (b) and the floor take at each level
SEED = 42


@dataclass
class Workload:
    endpoint: str
    body: bytes  # the request every client sends
    bare: Callable[[int], object]  # the model in process on n copies of the request's input
    content_type: str = "application/json"
    batched: bool = False  # (a) at level c: one call on c inputs (else c threads, one input each)
    requests: int = REQUESTS
    day_volume: int = 0  # the caller's stated volume a day, to set one replica's capacity against
    adaptive: bool = True  # the service batches across requests, so (c) batching off is a comparison
    webcam_fps: float = 0  # live streams send this many frames a second: how many one replica keeps up with
    # more figures, measured against the running service (its URL); their "lines" go into the report as they are
    extra: Callable[[str], dict] | None = None


def bare(workload: Workload, concurrency: int, total: int) -> hey.Run:
    """The model called directly on `total` inputs: by `concurrency` threads one input at a time,
    or for a batched workload by one thread `concurrency` inputs at a time. Latency is per call;
    throughput counts answered inputs (as for HTTP, where a shed request is fast and no capacity)."""
    threads, per_call = (1, concurrency) if workload.batched else (concurrency, 1)
    latencies, errors, counter = [], 0, itertools.count(0, per_call)

    def worker() -> None:
        nonlocal errors
        while next(counter) < total:
            sent = time.perf_counter()
            try:
                workload.bare(per_call)
            except Exception:  # noqa: BLE001 - a failed call is counted, as a 5xx would be
                errors += 1
            latencies.append(time.perf_counter() - sent)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    start = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return hey.Run(concurrency, len(latencies) * per_call, (len(latencies) - errors) * per_call,
                   time.perf_counter() - start, tuple(latencies))


def http(url: str, workload: Workload, concurrency: int, total: int) -> hey.Run:
    """`concurrency` clients (hey's connections), each sending its next request when the last is answered."""
    return hey.run(url + workload.endpoint, workload.body, workload.content_type, concurrency, total, {"X-API-Key": client_key()})


def rounds(requests: int, concurrency: int) -> int:
    """How many turns (b) and the floor take at one level: ROUNDS, fewer when a turn would send less
    than one request per connection."""
    return max(1, min(ROUNDS, requests // concurrency))


def paired_sent(requests: int, concurrency: int) -> int:
    """What a row measured in turns sends."""
    turns = rounds(requests, concurrency)
    return turns * hey.sent(requests // turns, concurrency)


def in_turns(targets: dict[str, Callable[[int, int], hey.Run]], levels: tuple[int, ...], requests: int) -> dict[str, list[dict]]:
    """Each target's figures at each level (name -> one row per level): the level's `requests` split
    into rounds in which every target runs once, in turn, so a slow minute of a shared machine falls
    on all of them alike and their ratios stay fair."""
    rows: dict[str, list[dict]] = {name: [] for name in targets}
    for level in levels:
        turns = rounds(requests, level)
        runs: dict[str, list[hey.Run]] = {name: [] for name in targets}
        for _ in range(turns):
            for name, target in targets.items():
                runs[name].append(target(level, requests // turns))
        for name in targets:
            rows[name].append(hey.figures(*runs[name]))
    return rows


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


def batcher_calls(metrics: str) -> dict:
    """Calls of the model the adaptive batcher made, and their mean batch size, from /metrics' text."""
    total = lambda suffix: sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()  # noqa: E731
                               if line.startswith(f"bentoml_service_adaptive_batch_size_{suffix}"))
    calls = total("count")
    return {"calls": calls, "mean_size": total("sum") / calls if calls else 0.0}


def served(model: str, tag: str, workload: Workload, batching: bool, levels: tuple[int, ...], requests: int,
           extra: dict | None = None, floors: dict[str, str] | None = None,
           alongside: dict[str, Callable[[int, int], hey.Run]] | None = None) -> tuple[list[dict], dict, dict[str, list[dict]]]:
    """Each concurrency level against one service (taking turns with the floor's servers `floors`,
    kind -> URL, and the targets `alongside`, name -> target, if given), the batcher's calls over the
    run and the other targets' rows; then the workload's extra figures into `extra`."""
    process, url = start_service(model, tag, batching)
    try:
        http(url, workload, 4, min(WARM_UP, requests))
        targets = {"service": lambda c, n: http(url, workload, c, n),
                   **{kind: (lambda c, n, floor_url=floor_url: floor.post(floor_url, c, n)) for kind, floor_url in (floors or {}).items()},
                   **(alongside or {})}
        rows = in_turns(targets, levels, requests)
        batches = batcher_calls(httpx.get(f"{url}/metrics", timeout=10).text)
        if extra is not None and workload.extra:
            extra.update(workload.extra(url))
        return rows.pop("service"), batches, rows
    finally:
        services.stop(process)


def benchmarked() -> list[str]:
    """The models with a workload: load/workloads/<model>.py for a model of the catalog."""
    return [name for name in catalog.names() if (Path(__file__).parent / "workloads" / f"{name}.py").is_file()]


def measure(model: str, tag: str, requests: int | None, levels: tuple[int, ...] = CONCURRENCY) -> dict:
    """Every mode at every level, `requests` per row (default: the workload's); the floor at the same
    levels and counts, taking turns with (b)."""
    tag, workload = importlib.import_module(f"load.workloads.{model}").workload(tag)
    requests = requests or workload.requests
    bare(workload, 1, min(WARM_UP // 10 if workload.batched else WARM_UP, requests))
    extra: dict = {}
    batches: dict = {}
    with floor.running(min(WARM_UP, requests)) as floor_urls:
        # (a) takes its turns with (b) and the floor too: on a shared machine a bare phase measured
        # apart once ran 1.7x faster than the service phase after it, and the ratio said so
        batching, batches["batching"], others = served(model, tag, workload, True, levels, requests, extra, floor_urls,
                                                       alongside={"bare": lambda c, n: bare(workload, c, n)})
    modes = {"bare": others.pop("bare"), "batching": batching}
    floors = others
    if workload.adaptive:
        modes["no_batching"], batches["no_batching"], _ = served(model, tag, workload, False, levels, requests)
    ratios = [ratio_row(a, b, c, [rows[i] for rows in floors.values()])
              for i, (a, b, c) in enumerate(zip(modes["bare"], modes["batching"], modes.get("no_batching", [None] * len(levels))))]
    best = {mode: max(r["requests_per_s"] for r in results) for mode, results in modes.items()}
    capacity = {"best_bare_per_s": best["bare"], "best_served_per_s": best["batching"],
                "served_over_bare": best["batching"] / best["bare"], "replica_per_day": best["batching"] * 86_400,
                "day_volume": workload.day_volume, "webcam_fps": workload.webcam_fps}
    return {"model": tag, "endpoint": workload.endpoint, "requests": requests, "batched": workload.batched,
            "adaptive": workload.adaptive, "modes": modes, "batches": batches, "floor": floors, "ratios": ratios,
            "capacity": capacity, "extra": extra}


def ratio_row(a: dict, b: dict, c: dict | None, floors: list[dict]) -> dict:
    """Throughput ratios at one concurrency: (b) served against (a) bare, (c) unbatched and each floor kind."""
    row = {"concurrency": a["concurrency"], "batching_over_bare": b["requests_per_s"] / a["requests_per_s"]}
    if c:
        row["batching_over_no_batching"] = b["requests_per_s"] / c["requests_per_s"]
    return row | {f"batching_over_{kind}": b["requests_per_s"] / f["requests_per_s"] for kind, f in zip(floor.KINDS, floors)}


MODE_NAMES = {"bare": "(a) bare model, in process", "batching": "(b) service, adaptive batching",
              "no_batching": "(c) service, batching off"}
UNBATCHED_NAMES = {**MODE_NAMES, "batching": "(b) service (no adaptive batching)"}


def render(report: dict) -> str:
    names = MODE_NAMES if report["adaptive"] else UNBATCHED_NAMES
    rows = [f"| {names[mode]} | {r['concurrency']} | {r['requests']:,} | {r['errors']} | {r['requests_per_s']:,.1f} "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |" for mode, results in report["modes"].items() for r in results]
    columns = ["bare", *(["no_batching"] if report["adaptive"] else []), *floor.KINDS]
    headers = {"bare": "(b)/(a)", "no_batching": "(b)/(c)", **{kind: f"(b)/{floor.SHORT_NAMES[kind]}" for kind in floor.KINDS}}
    ratio_header = ["| concurrent clients | " + " | ".join(f"{headers[c]} throughput" for c in columns) + " |",
                    "|---|" + "---|" * len(columns)]
    ratios = [f"| {r['concurrency']} | " + " | ".join(f"{r[f'batching_over_{c}']:.2f}" for c in columns) + " |" for r in report["ratios"]]
    batcher = [f"Adaptive batcher over the run: {names[mode]} called the model {b['calls']:,.0f} times, mean batch {b['mean_size']:.1f}."
               for mode, b in report.get("batches", {}).items() if report["adaptive"]]
    c = report["capacity"]
    batched = ("For (a), concurrent clients = inputs per call (one thread), and latency is per call." if report["batched"] else "")
    volume = (f" against the stated {c['day_volume']:,} a day: {c['replica_per_day'] / c['day_volume']:.0f}x"
              if c["day_volume"] else "")
    webcams = (f" At {c['webcam_fps']:g} sampled frames a second per webcam, one replica keeps up with "
               f"{c['best_served_per_s'] / c['webcam_fps']:.0f} live sessions." if c["webcam_fps"] else "")
    video = [*report["extra"]["lines"], ""] if report["extra"] else []
    return "\n".join([
        f"# Benchmark: {report['model']}",
        "",
        f"Measured {report['when']} on {report['machine']} with `{report['command']}`.",
        f"One request = one call of `{report['endpoint']}` as callers send it; {report['requests']:,} requests per row.",
        "Load from `hey` on the machine's cores beside the server; (a) has neither client nor HTTP.", batched,
        "",
        "| mode | concurrent clients | requests | errors | answered/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "The floor, in the same run: one record echoed, no model (load/floor.py).",
        "",
        *floor.table(report["floor"]),
        "",
        *ratio_header,
        *ratios,
        "",
        *batcher,
        "",
        f"Best throughput: bare {c['best_bare_per_s']:,.1f}/s, served {c['best_served_per_s']:,.1f}/s, served/bare "
        f"{c['served_over_bare']:.2f}. One replica on these cores (client included) sustains "
        f"{c['replica_per_day']:,.0f} requests a day{volume}.{webcams}",
        "",
        *video,
    ])


@contextmanager
def feature_store(model: str) -> Iterator[None]:
    """A local Redis for the run if the model's spec needs one (the abuse scorer's online features),
    which its servers find through the environment they inherit (services.serve_env)."""
    if "redis" not in catalog.spec(model).components:
        yield
        return
    from playserve import local_redis

    with tempfile.TemporaryDirectory() as directory, local_redis.running(Path(directory), services.free_port()) as url:
        os.environ[local_redis.ENV] = url
        try:
            yield
        finally:
            del os.environ[local_redis.ENV]


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: at least 1 expected")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=benchmarked())
    parser.add_argument("--model-tag", dest="tag", default=None, help="model version (default: <model>:latest)")
    parser.add_argument("--requests", type=positive, default=None, help="requests per mode and concurrency level (default: the model's)")
    parser.add_argument("--concurrency", type=positive, nargs="+", default=list(CONCURRENCY), help="numbers of concurrent clients")
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory for the results files")
    args = parser.parse_args(argv)
    with feature_store(args.model):
        report = measure(args.model, args.tag or f"{args.model}:latest", args.requests, tuple(args.concurrency))
    command = f"python -m load.bench {args.model}" + (f" --requests {args.requests}" if args.requests else "") \
        + (f" --concurrency {' '.join(map(str, args.concurrency))}" if tuple(args.concurrency) != CONCURRENCY else "")
    write(f"bench-{args.model}", report | run_facts(command), render, args.results)


if __name__ == "__main__":
    main()
