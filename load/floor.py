"""The floor a served model is measured against: one record echoed, with no model, served three
ways (load/floor_services.py) and driven by hey at each concurrency of the benchmark:

- `bentoml_api`: a BentoML service with an `@bentoml.api` echo;
- `bentoml_asgi`: the same echo as a Starlette app mounted on a BentoML service (`@bentoml.asgi_app`),
  so BentoML's own middleware (metrics, tracing, access log) without its API layer;
- `asgi`: plain uvicorn with httptools + Starlette + pydantic: Python's ASGI floor.

    .venv/bin/python -m load.floor [--requests N]   # writes load/results/floor.md and .json

load.bench measures it in the same run as each model, for the served/floor ratios."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from load import hey
from load.results_file import RESULTS, run_facts, write
from playserve import services
from playserve.paths import REPO_ROOT

RECORD = {"user_id": "u-1", "age": 31.0, "play_time_hours": 12.5, "login_count": 40.0, "topup_amount": 9.99,
          "level": 17.0, "gender": "female", "platform": "android"}
BODY = orjson.dumps({"records": [RECORD]})
BENTOML = [sys.executable, "-m", "bentoml", "serve", "--working-dir", str(REPO_ROOT), "--host", "127.0.0.1"]
KINDS = {  # name -> (command without the port, its route)
    "bentoml_api": ([*BENTOML, "load.floor_services:EchoApi"], "/echo"),
    "bentoml_asgi": ([*BENTOML, "load.floor_services:EchoAsgi"], "/asgi/echo"),
    "asgi": ([sys.executable, "-m", "uvicorn", "--app-dir", str(REPO_ROOT), "--http", "httptools", "--host", "127.0.0.1",
              "--no-access-log", "load.floor_services:app"], "/echo"),
}
SHORT_NAMES = {"bentoml_api": "api echo", "bentoml_asgi": "mounted echo", "asgi": "uvicorn echo"}
NAMES = {"bentoml_api": "BentoML `@bentoml.api` echo", "bentoml_asgi": "Starlette echo mounted on BentoML (`@bentoml.asgi_app`)",
         "asgi": "uvicorn (httptools) + Starlette + pydantic echo"}


def serve(kind: str):
    """The kind's server as a child process, and its echo's URL, once it answers."""
    command, route = KINDS[kind]
    port = services.free_port()
    env = {**os.environ, "BENTOML_HOME": str(services.server_home())}
    process = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    if not services.wait_until_ok(f"{url}/readyz", 60, alive=lambda: process.poll() is None):
        services.stop(process)
        raise SystemExit(f"the {kind} echo did not become ready")
    return process, url + route


@contextmanager
def running(warm_up: int = 200) -> Iterator[dict[str, str]]:
    """Every kind's server at once, warmed up: kind -> its echo's URL; all stopped on leaving."""
    processes, urls = [], {}
    try:
        for kind in KINDS:
            process, urls[kind] = serve(kind)
            processes.append(process)
            post(urls[kind], 4, warm_up)
        yield urls
    finally:
        for process in processes:
            services.stop(process)


def post(url: str, concurrency: int, requests: int) -> hey.Run:
    return hey.run(url, BODY, "application/json", concurrency, requests, {})


def measure(concurrency: tuple[int, ...], requests: int) -> dict[str, list[dict]]:
    """Each kind's hey figures at each concurrency (kind -> one row per level)."""
    with running(min(200, requests)) as urls:
        return {kind: [hey.figures(post(url, c, requests)) for c in concurrency] for kind, url in urls.items()}


def table(rows: dict[str, list[dict]]) -> list[str]:
    return ["| floor | concurrent clients | requests | errors | answered/s | p50 ms | p99 ms |", "|---|---|---|---|---|---|---|",
            *(f"| {NAMES[kind]} | {r['concurrency']} | {r['requests']:,} | {r['errors']} | {r['requests_per_s']:,.0f} "
              f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |" for kind, results in rows.items() for r in results)]


def render(report: dict) -> str:
    return "\n".join(["# Serving floor: one record echoed, no model", "",
                      f"Measured {report['when']} on {report['machine']} with `{report['command']}`; load from `hey` on the same cores.",
                      "", *table(report["floor"]), ""])


def main(argv: list[str] | None = None) -> None:
    from load.bench import CONCURRENCY, REQUESTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=REQUESTS, help="requests per kind and concurrency level")
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory for the results files")
    args = parser.parse_args(argv)
    command = "python -m load.floor" + (f" --requests {args.requests}" if args.requests != REQUESTS else "")
    write("floor", {"floor": measure(CONCURRENCY, args.requests)} | run_facts(command), render, args.results)


if __name__ == "__main__":
    main()
