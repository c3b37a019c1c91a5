"""HTTP load from Debian's `hey` (Go), so the client's Python does not take the server's cores:
`concurrency` connections, each sending its next request when the last is answered.

hey sends one body; its CSV output has a row per answered request (latency, status, start offset),
and requests that got no answer at all (refused, reset, timed out) have no row."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

import numpy as np

TIMEOUT_S = 60


@dataclass(frozen=True)
class Run:
    """One hey run: what it sent, what came back 200, how long it took, every answer's latency (s)
    and status (in the same order)."""
    concurrency: int
    requests: int
    ok: int
    seconds: float
    latencies: tuple[float, ...]
    statuses: tuple[int, ...] = ()


def command() -> str:
    found = shutil.which("hey")
    if found is None:
        raise SystemExit("hey is not installed: run ci/setup.sh (Debian package hey)")
    return found


def run(url: str, body: bytes, content_type: str, concurrency: int, requests: int, headers: dict[str, str]) -> Run:
    requests = sent(requests, concurrency)
    with tempfile.NamedTemporaryFile(prefix="hey-body-") as file:
        file.write(body)
        file.flush()
        argv = [command(), "-n", str(requests), "-c", str(concurrency), "-m", "POST", "-T", content_type, "-D", file.name,
                "-t", str(TIMEOUT_S), "-o", "csv", *(arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")), url]
        output = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=TIMEOUT_S * requests / concurrency + 60).stdout
    return answers(list(csv.DictReader(io.StringIO(output))), requests, concurrency)


def post(url: str, body: bytes, content_type: str, concurrency: int, requests: int, headers: dict[str, str]) -> dict:
    """The load's figures (see `figures`)."""
    return figures(run(url, body, content_type, concurrency, requests, headers))


def sent(requests: int, concurrency: int) -> int:
    """What hey sends when asked for `requests`: the same number on each connection, at least one."""
    return max(requests // concurrency, 1) * concurrency


def answers(rows: list[dict], requests: int, concurrency: int) -> Run:
    """From hey's CSV rows (response-time and offset in seconds, status-code)."""
    return Run(concurrency, requests, sum(row["status-code"] == "200" for row in rows),
               max((float(row["offset"]) + float(row["response-time"]) for row in rows), default=1.0),
               tuple(float(row["response-time"]) for row in rows), tuple(int(row["status-code"]) for row in rows))


def figures(*runs: Run) -> dict:
    """Runs at one concurrency taken as one: requests (sent), errors (not 200, or no answer),
    requests_per_s (answered 200 per second of the runs), p50_ms and p99_ms (of every answered request)."""
    latencies = np.array([latency for r in runs for latency in r.latencies] or [0.0])
    ok, requests = sum(r.ok for r in runs), sum(r.requests for r in runs)
    return {"concurrency": runs[0].concurrency, "requests": requests, "errors": requests - ok,
            "requests_per_s": ok / sum(r.seconds for r in runs),
            "p50_ms": float(np.percentile(latencies, 50) * 1000), "p99_ms": float(np.percentile(latencies, 99) * 1000)}
