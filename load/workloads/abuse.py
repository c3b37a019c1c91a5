"""The abuse benchmark's workload: one user's window per request, users scored in 100-window requests,
and game events ingested into Redis."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable

import httpx
import numpy as np
import orjson

from load import hey
from load.bench import ROUNDS, SEED, Workload
from playserve.api_keys import client_key


def workload(tag: str) -> tuple[str, Workload]:
    """One user's feature window per request (a generated user); bare: the ONNX scorer on a batch of
    copies of it, as the service calls it. Extra: users scored per second in 100-window requests (a
    nightly job's way), and game events ingested per second into Redis, bare and served."""
    from training.abuse.serving import data, features
    from training.abuse.serving.scorer import Scorer
    from training.common.store import get

    stored = get(tag)
    scorer = Scorer(stored.path)
    names = stored.metadata["columns"]["features"]
    population = data.generate(2_000, seed=SEED)
    table = features.labelled_table(population.events, population.users)
    windows = table[names].to_numpy(np.float32)
    records = orjson.loads(table[[data.ID, *names]].to_json(orient="records"))

    def extra(url: str) -> dict:
        batches = scored_in_batches(url, lambda: scorer.score(windows[:WINDOWS_PER_REQUEST]), records[:WINDOWS_PER_REQUEST])
        events = events_ingested(url, population.events.head(EVENTS))
        return {**batches, **events, "lines": batches["lines"] + events["lines"]}

    return stored.tag, Workload("/score", orjson.dumps({"windows": [records[0]]}), lambda n: scorer.score(windows[[0] * n]),
                                batched=True, extra=extra)


WINDOWS_PER_REQUEST, BATCH_REQUESTS, BATCH_CLIENTS = 100, 300, 8


def scored_in_batches(url: str, bare_batch: Callable[[], object], records: list[dict]) -> dict:
    """Users scored per second when each request carries the same 100 windows: in process, and over
    HTTP in ROUNDS hey runs of BATCH_REQUESTS from 8 clients. Each run opens its connections anew,
    and the kernel spreads them over the service's workers as it happens to: the runs' range shows it."""
    start = time.perf_counter()
    for _ in range(BATCH_REQUESTS):
        bare_batch()
    bare_per_s = BATCH_REQUESTS * WINDOWS_PER_REQUEST / (time.perf_counter() - start)
    body = orjson.dumps({"windows": records})
    runs = [hey.run(f"{url}/score", body, "application/json", BATCH_CLIENTS, BATCH_REQUESTS, {"X-API-Key": client_key()})
            for _ in range(ROUNDS)]
    result = hey.figures(*runs)
    served_per_s = result["requests_per_s"] * WINDOWS_PER_REQUEST
    each = sorted(hey.figures(run)["requests_per_s"] * WINDOWS_PER_REQUEST for run in runs)
    line = (f"Users scored in {WINDOWS_PER_REQUEST}-window requests: **{bare_per_s:,.0f}/s** in process ({BATCH_REQUESTS} calls), "
            f"**{served_per_s:,.0f}/s** through `/score` from {BATCH_CLIENTS} clients ({ROUNDS} runs of {BATCH_REQUESTS} requests, "
            f"{each[0]:,.0f}-{each[-1]:,.0f}/s each; served/bare {served_per_s / bare_per_s:.2f}; {result['errors']} errors, "
            f"p99 {result['p99_ms']:.0f} ms).")
    return {"bare_users_per_s_batched": bare_per_s, "served_users_per_s_batched": served_per_s, "served_users_per_s_runs": each,
            "batched_errors": result["errors"], "lines": [line, ""]}


EVENTS = 20_000  # per mode: a few seconds of ingestion


EVENTS_PER_REQUEST, EVENT_CLIENTS = 500, 4


def events_ingested(url: str, events) -> dict:
    """Events per second into the online store: OnlineStore.ingest in process on the whole log,
    and POST /events in 500-event requests from 4 clients, each mode under its own user ids."""
    from playserve.local_redis import ENV
    from training.abuse.serving.online import OnlineStore

    start = time.perf_counter()
    OnlineStore.from_url(os.environ[ENV]).ingest(events.assign(user_id="bare-" + events["user_id"]))
    bare_per_s = len(events) / (time.perf_counter() - start)
    served = events.assign(user_id="served-" + events["user_id"])
    batches = [orjson.dumps({"events": served.iloc[i:i + EVENTS_PER_REQUEST].to_dict(orient="records")})
               for i in range(0, len(served), EVENTS_PER_REQUEST)]
    result = asyncio.run(posted(f"{url}/events", batches, EVENT_CLIENTS))
    served_per_s = result["requests_per_s"] * EVENTS_PER_REQUEST
    line = (f"Game events into the online feature store (Redis on this machine), {len(events):,} events per mode: "
            f"**{bare_per_s:,.0f}/s** in process (`OnlineStore.ingest`), **{served_per_s:,.0f}/s** through `/events` "
            f"({EVENTS_PER_REQUEST}-event requests from {EVENT_CLIENTS} clients; {result['errors']} errors, p99 {result['p99_ms']:.0f} ms).")
    return {"events": len(events), "bare_events_per_s": bare_per_s, "served_events_per_s": served_per_s,
            "events_errors": result["errors"], "lines": [line]}


async def posted(url: str, bodies: list[bytes], concurrency: int) -> dict:
    """Each body POSTed once by `concurrency` clients: every batch of events is new, which hey (one
    body for every request) cannot send."""
    latencies, errors, counter = [], 0, itertools.count()

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while (i := next(counter)) < len(bodies):
            sent = time.perf_counter()
            try:
                errors += (await client.post(url, content=bodies[i], headers={"content-type": "application/json"})).status_code != 200
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - sent)

    async with httpx.AsyncClient(timeout=60, headers={"X-API-Key": client_key()}) as client:
        start = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return hey.figures(hey.Run(concurrency, len(latencies), len(latencies) - errors, time.perf_counter() - start, tuple(latencies)))
