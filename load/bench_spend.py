"""Spend bulk benchmark: 750,000 users in process vs through the HTTP batch endpoint and the
Parquet upload, measured in one run. Single-record requests at several concurrency levels, with
and without adaptive batching, are load/bench.py's (python -m load.bench spend).

    .venv/bin/python -m load.bench_spend [--users 750000] [--model spend:latest]

Writes load/results/spend.md and spend.json. Client and server share this machine's cores,
so HTTP figures include the client's JSON work, as a real batch job's would.
"""

from __future__ import annotations

import argparse
import io
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import orjson

from load.bench import start_service
from load.results_file import run_facts, write
from playserve import services
from playserve.api_keys import client_key
from training.spend import data
from training.spend.scoring import load

CHUNK = 10_000  # users per HTTP batch request
IN_FLIGHT = 2  # batch requests in flight, so client encoding overlaps server work
SEED = 42


def percentile_ms(latencies: list[float], q: float) -> float:
    return float(np.percentile(latencies, q) * 1000)


def in_process(model, frame) -> dict:
    start = time.perf_counter()
    model.predict(frame)
    seconds = time.perf_counter() - start
    return {"users": len(frame), "seconds": seconds, "users_per_s": len(frame) / seconds}


def http_batch(url: str, records: list[dict]) -> dict:
    """All users through POST /predict in CHUNK-sized requests, IN_FLIGHT at a time."""
    client = httpx.Client(timeout=120, headers={"X-API-Key": client_key()})

    def post(start: int) -> tuple[int, float]:
        sent = time.perf_counter()
        body = orjson.dumps({"users": records[start : start + CHUNK]})
        response = client.post(f"{url}/predict", content=body, headers={"content-type": "application/json"})
        answered = len(orjson.loads(response.content)) if response.status_code == 200 else 0
        return answered, time.perf_counter() - sent

    start = time.perf_counter()
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        results = list(pool.map(post, range(0, len(records), CHUNK)))
    seconds = time.perf_counter() - start
    answered = sum(n for n, _ in results)
    latencies = [s for _, s in results]
    return {
        "users": answered, "errors": len(records) - answered, "seconds": seconds, "users_per_s": answered / seconds,
        "requests": len(results), "p50_ms": percentile_ms(latencies, 50), "p99_ms": percentile_ms(latencies, 99),
    }


def http_table(url: str, frame) -> dict:
    """All users in one Parquet upload to POST /predict_table (client encoding included)."""
    start = time.perf_counter()
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    response = httpx.post(f"{url}/predict_table", files={"table": ("users.parquet", buffer.getvalue())}, headers={"X-API-Key": client_key()},
                          timeout=300)
    answered = len(orjson.loads(response.content)["expected_spend"]) if response.status_code == 200 else 0
    seconds = time.perf_counter() - start
    return {"users": answered, "errors": len(frame) - answered, "seconds": seconds, "users_per_s": answered / seconds,
            "requests": 1, "p50_ms": seconds * 1000, "p99_ms": seconds * 1000}


def verdict(row: dict) -> str:
    met = row["seconds"] < 30 and row["errors"] == 0 and row["users"] >= 750_000
    return f"**{'met' if met else 'NOT met'}** ({row['seconds']:.1f} s)"


def render(report: dict) -> str:
    ip, hb, ht = report["in_process"], report["http_batch"], report["http_table"]
    lines = [
        "# Spend benchmark",
        "",
        f"Measured {report['when']} on {report['machine']} with `{report['command']}`; model `{report['model']}`.",
        "Synthetic users (seed 42). Client and server share the machine's cores.",
        "",
        f"## {ip['users']:,} users: in process vs HTTP batch endpoint (same run)",
        "",
        "| path | users | errors | seconds | users/s | request p50 ms | request p99 ms |",
        "|---|---|---|---|---|---|---|",
        f"| in process (`SpendModel.predict` on a DataFrame) | {ip['users']:,} | 0 | {ip['seconds']:.2f} | {ip['users_per_s']:,.0f} | | |",
        f"| HTTP `POST /predict`, {CHUNK:,} users/request, {IN_FLIGHT} in flight | {hb['users']:,} | {hb['errors']} | {hb['seconds']:.2f} | {hb['users_per_s']:,.0f} | {hb['p50_ms']:.0f} | {hb['p99_ms']:.0f} |",
        f"| HTTP `POST /predict_table`, one Parquet upload | {ht['users']:,} | {ht['errors']} | {ht['seconds']:.2f} | {ht['users_per_s']:,.0f} | {ht['p50_ms']:.0f} | {ht['p99_ms']:.0f} |",
        "",
        f"HTTP / in-process throughput ratio: JSON records **{report['http_over_in_process']:.3f}**, "
        f"Parquet upload **{report['table_over_in_process']:.3f}**. "
        f"Target, 750,000 users through the service in under 30 s: JSON records {verdict(hb)}, Parquet upload {verdict(ht)}.",
        "",
        "Single-record requests: [bench-spend.md](bench-spend.md) (`python -m load.bench spend`).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=data.DEFAULT_USERS)
    parser.add_argument("--model", default="spend:latest")
    args = parser.parse_args()

    stored, model = load(args.model)
    frame = data.generate(args.users, seed=SEED).frame.drop(columns=[data.TARGET, data.GROUP])
    records = orjson.loads(frame.to_json(orient="records"))
    process, url = start_service("spend", stored.tag, batching=True)
    try:
        http_batch(url, records[:CHUNK * IN_FLIGHT])  # warm-up
        report = {"in_process": in_process(model, frame), "http_batch": http_batch(url, records), "http_table": http_table(url, frame)}
    finally:
        services.stop(process)
    report |= {
        "model": stored.tag,
        "http_over_in_process": report["http_batch"]["users_per_s"] / report["in_process"]["users_per_s"],
        "table_over_in_process": report["http_table"]["users_per_s"] / report["in_process"]["users_per_s"],
        **run_facts("python -m load.bench_spend" + (f" --users {args.users}" if args.users != data.DEFAULT_USERS else "")),
    }
    write("spend", report, render)


if __name__ == "__main__":
    main()
