"""The abuse benchmark's workload: one user's window per request, users scored in 100-window requests,
and game events ingested into Redis."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

import numpy as np
import orjson

from load.bench import SEED, Workload, http


def workload(tag: str) -> tuple[str, Workload]:
    """One user's feature window per request (generated users); bare: the ONNX scorer on a batch,
    as the service calls it. Extra: users scored per second in 100-window requests (a nightly job's
    way), and game events ingested per second into Redis, bare and served."""
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
    bodies = [orjson.dumps({"windows": [r]}) for r in records]

    def bare_batch(i: int, n: int) -> object:
        return scorer.score(windows[np.arange(i, i + n) % len(windows)])

    def extra(url: str) -> dict:
        batches = scored_in_batches(url, bare_batch, records)
        events = events_ingested(url, population.events.head(EVENTS))
        return {**batches, **events, "lines": batches["lines"] + events["lines"]}

    return stored.tag, Workload("/score", bodies, bare_batch, batched=True, extra=extra)


WINDOWS_PER_REQUEST, BATCH_REQUESTS = 100, 60


def scored_in_batches(url: str, bare_batch: Callable[[int, int], object], records: list[dict]) -> dict:
    """Users scored per second when each request carries 100 windows: in process and over HTTP (4 clients)."""
    start = time.perf_counter()
    for i in range(BATCH_REQUESTS):
        bare_batch(i * WINDOWS_PER_REQUEST, WINDOWS_PER_REQUEST)
    bare_per_s = BATCH_REQUESTS * WINDOWS_PER_REQUEST / (time.perf_counter() - start)
    bodies = [orjson.dumps({"windows": records[i:i + WINDOWS_PER_REQUEST]}) for i in range(0, len(records), WINDOWS_PER_REQUEST)]
    result = asyncio.run(http(url, Workload("/score", bodies, bare_batch), EVENT_CLIENTS, BATCH_REQUESTS))
    served_per_s = result["requests_per_s"] * WINDOWS_PER_REQUEST
    line = (f"Users scored in {WINDOWS_PER_REQUEST}-window requests, {BATCH_REQUESTS} requests per mode: **{bare_per_s:,.0f}/s** in process, "
            f"**{served_per_s:,.0f}/s** through `/score` from {EVENT_CLIENTS} clients (served/bare {served_per_s / bare_per_s:.2f}; "
            f"{result['errors']} errors, p99 {result['p99_ms']:.0f} ms).")
    return {"bare_users_per_s_batched": bare_per_s, "served_users_per_s_batched": served_per_s,
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
    workload = Workload("/events", batches, bare=lambda i, n: None)
    result = asyncio.run(http(url, workload, EVENT_CLIENTS, len(batches)))
    served_per_s = result["requests_per_s"] * EVENTS_PER_REQUEST
    line = (f"Game events into the online feature store (Redis on this machine), {len(events):,} events per mode: "
            f"**{bare_per_s:,.0f}/s** in process (`OnlineStore.ingest`), **{served_per_s:,.0f}/s** through `/events` "
            f"({EVENTS_PER_REQUEST}-event requests from {EVENT_CLIENTS} clients; {result['errors']} errors, p99 {result['p99_ms']:.0f} ms).")
    return {"events": len(events), "bare_events_per_s": bare_per_s, "served_events_per_s": served_per_s,
            "events_errors": result["errors"], "lines": [line]}
