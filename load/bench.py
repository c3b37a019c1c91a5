"""One benchmark harness for every model, in one run: (a) the bare model in process, (b) the
service with adaptive batching, (c) the service with batching off, each at several numbers of
concurrent clients; throughput, p50/p99 latency, errors and the ratios (b)/(a) and (b)/(c).

    .venv/bin/python -m load.bench spend|wallhack|emotion|person|abuse [--requests N] [--model-tag TAG]

Writes load/results/bench-<model>.md and .json (or into --results). Every request is what the
model's callers send one at a time (spend: one player at login; wallhack: one screenshot;
emotion: one webcam frame, plus the time to report on a 10-minute session video; person: one ad
camera frame, plus the real-photo comparison against HOG; abuse: one user's window, plus users
scored in 100-window requests and events ingested per second into a local Redis).
Clients run on this machine's cores beside the server, as they would beside a sidecar; (a) has
no client and no HTTP. For a model that batches (wallhack), (a) at level c is one call on c
inputs: the batch c clients' requests can at best be merged into. A service without adaptive
batching (emotion) has no (c)."""

from __future__ import annotations

import argparse
import asyncio
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
import numpy as np
import orjson

from load.results_file import RESULTS, run_facts, write
from playserve import services
from playserve.api_keys import client_key

CONCURRENCY = (1, 8, 32)
REQUESTS = 1_500  # per mode and concurrency level
WARM_UP = 200  # requests before measuring; never more than a measured row (a short run stays short)
SEED = 42


@dataclass
class Workload:
    endpoint: str
    bodies: list[bytes]  # request bodies, used in turn
    bare: Callable[[int, int], object]  # the model in process on n requests' inputs from request i
    content_type: str = "application/json"
    batched: bool = False  # (a) at level c: one call on c inputs (else c threads, one input each)
    requests: int = REQUESTS
    day_volume: int = 0  # the caller's stated volume a day, to set one replica's capacity against
    adaptive: bool = True  # the service batches across requests, so (c) batching off is a comparison
    webcam_fps: float = 0  # live streams send this many frames a second: how many one replica keeps up with
    # more figures, measured against the running service (its URL); their "lines" go into the report as they are
    extra: Callable[[str], dict] | None = None


def spend_workload(tag: str) -> tuple[str, Workload]:
    from training.spend import data
    from training.spend.scoring import load

    stored, model = load(tag)
    frame = data.generate(2_000, seed=SEED).frame.drop(columns=[data.TARGET, data.GROUP])
    records = orjson.loads(frame.to_json(orient="records"))
    rows = [frame.iloc[[i]] for i in range(len(frame))]
    return stored.tag, Workload("/predict", [orjson.dumps({"users": [r]}) for r in records],
                                lambda i, _: model.predict(rows[i % len(rows)]))


def wallhack_workload(tag: str) -> tuple[str, Workload]:
    """One generated screenshot per request (every size, format and quality the generator draws);
    bare: decode, letterbox and ONNX Runtime on a batch, as the service does them."""
    from training.common.store import get
    from training.wallhack import data
    from training.wallhack.serving import onnx_model, preprocess

    stored = get(tag)
    session = onnx_model.session(stored.path / onnx_model.ONNX_FILE)
    images = [data.sample(SEED, i).image for i in range(64)]
    content_type = "multipart/form-data; boundary=playserve-bench"  # httpx encodes with the boundary given
    bodies = [httpx.Request("POST", "/predict", files=[("images", (f"shot{i}.jpg", image))], headers={"content-type": content_type}).read()
              for i, image in enumerate(images)]

    def bare_batch(i: int, n: int) -> np.ndarray:
        batch = [images[(i + k) % len(images)] for k in range(n)]
        return onnx_model.probability(onnx_model.logits(session, preprocess.model_input(batch)))

    return stored.tag, Workload("/predict", bodies, bare_batch, content_type=content_type,
                                batched=True, requests=600, day_volume=500_000)


def emotion_workload(tag: str) -> tuple[str, Workload]:
    """One webcam frame per request (real photos: the astronaut, the cameraman, an empty scene,
    as 640x480 JPEGs, slightly shifted); bare: decode, detect, crop and classify in process, as
    the service does. Extra: the JSON report on a 10-minute session video, bare and served."""
    import cv2

    from training.common.images import decode
    from training.common.store import get
    from training.emotion.serving.analysis import Analyser
    from training.emotion.real_faces import photos

    stored = get(tag)
    analyser = Analyser(stored.path)
    scenes = [cv2.resize(p.rgb, (480, 480)) for p in photos() if p.name in ("astronaut", "camera", "coffee")]

    def webcam_frame(i: int) -> bytes:  # 640x480, each a few pixels on from the last
        scene = np.roll(scenes[i % len(scenes)], 3 * i, axis=1)
        return cv2.imencode(".jpg", cv2.copyMakeBorder(scene, 0, 0, 80, 80, cv2.BORDER_REPLICATE)[..., ::-1])[1].tobytes()

    frames = [webcam_frame(i) for i in range(48)]
    content_type = "multipart/form-data; boundary=playserve-bench"
    bodies = [httpx.Request("POST", "/predict", files=[("images", ("frame.jpg", frame))], headers={"content-type": content_type}).read()
              for frame in frames]
    return stored.tag, Workload("/predict", bodies, lambda i, _: analyser.faces(np.asarray(decode(frames[i % len(frames)]))),
                                content_type=content_type, requests=600, adaptive=False, webcam_fps=2.0,
                                extra=lambda url: session_video_report(analyser, url))


SESSION_MINUTES = 10


def session_video_report(analyser, url: str) -> dict:
    """Seconds to report on a 10-minute session video (480x480, 15 frames/s, MP4) at the default
    sampled rate: in process, then through the running service's /report."""
    from training.common import video
    from training.emotion import sample_video
    from training.emotion.serving import session

    with tempfile.TemporaryDirectory() as tmp:
        path = sample_video.write(Path(tmp) / "session.mp4", SESSION_MINUTES * 60, fps=15, size=480)
        size = path.stat().st_size
        start = time.perf_counter()
        frames = session.report(analyser, path, video.DEFAULT_RATE)["summary"]["sampled_frames"]
        bare_s = time.perf_counter() - start
        start = time.perf_counter()
        with path.open("rb") as upload:
            response = httpx.post(f"{url}/report", files={"video": ("session.mp4", upload)}, headers={"X-API-Key": client_key()}, timeout=900)
        served_s = time.perf_counter() - start
    response.raise_for_status()
    line = (f"Session report: a {SESSION_MINUTES}-minute video ({size / 1e6:.0f} MB MP4, 480x480 at 15 frames/s) at "
            f"{video.DEFAULT_RATE:g} frames/s ({frames:,} frames analysed): **{bare_s:.1f} s** in process, **{served_s:.1f} s** "
            f"through `/report` (upload included), {frames / served_s:.1f} analysed frames/s.")
    return {"video_minutes": SESSION_MINUTES, "video_bytes": size, "sample_rate": video.DEFAULT_RATE, "sampled_frames": frames,
            "bare_report_s": bare_s, "served_report_s": served_s, "served_frames_per_s": frames / served_s, "lines": [line]}


def person_workload(tag: str) -> tuple[str, Workload]:
    """One 640x480 camera frame per request (real photos: bus.jpg, zidane.jpg, an empty scene,
    slightly shifted); bare: decode, letterbox, ONNX Runtime on a batch, NMS and the attention
    check, as the service does them. Extra: people found and milliseconds per photo against
    OpenCV's HOG on the real photos (the comparison DOMAIN.md's team made)."""
    import cv2

    from training.common.images import decode
    from training.common.sample_video import fit
    from training.common.store import get
    from training.person import photos
    from training.person.serving.audience import Audience

    stored = get(tag)
    audience = Audience(stored.path)
    scenes = [fit(photos.load(name), 640, 480) for name in ("bus", "zidane", "coffee")]
    frames = [cv2.imencode(".jpg", np.roll(scenes[i % 3], 2 * i, axis=1)[..., ::-1])[1].tobytes() for i in range(48)]
    content_type = "multipart/form-data; boundary=playserve-bench"
    bodies = [httpx.Request("POST", "/predict", files=[("images", ("frame.jpg", frame))], headers={"content-type": content_type}).read()
              for frame in frames]

    def bare_batch(i: int, n: int) -> list:
        return audience.frames([np.asarray(decode(frames[(i + k) % len(frames)])) for k in range(n)])

    return stored.tag, Workload("/predict", bodies, bare_batch, content_type=content_type, batched=True, requests=300,
                                webcam_fps=1 / 3, extra=lambda _: people_against_hog(stored))


def people_against_hog(stored) -> dict:
    """The registered model's real-photo comparison (measured when it was trained, in one run)."""
    real = stored.metadata["real_photos"]
    rows = [f"| {r['photo']} | {r['people']} | {r['yolo']} | {r['hog']} | {r['yolo_ms']:.0f} | {r['hog_ms']:.0f} |" for r in real["photos"]]
    yolo, hog = real["summary"]["yolo"], real["summary"]["hog"]
    totals = (f"| **all {real['images']} photos** | {real['people']} | {yolo['people_found']} found, {yolo['false_people']} false | "
              f"{hog['people_found']} found, {hog['false_people']} false | {yolo['ms_per_image']:.0f} | {hog['ms_per_image']:.0f} |")
    return {**real, "lines": ["People found per real photo, YOLO (this model, ONNX Runtime) against OpenCV's HOG pedestrian detector, "
                              "with milliseconds per photo (from the model's registration run):", "",
                              "| photo | people | YOLO | HOG | YOLO ms | HOG ms |", "|---|---|---|---|---|---|", *rows, totals]}


def abuse_workload(tag: str) -> tuple[str, Workload]:
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


WORKLOADS = {"spend": spend_workload, "wallhack": wallhack_workload, "emotion": emotion_workload, "person": person_workload,
             "abuse": abuse_workload}


def summary(latencies: list[float], errors: int, seconds: float, concurrency: int, per_call: int = 1) -> dict:
    # throughput counts answered requests: a shed request (503) is fast and must not look like capacity
    return {"concurrency": concurrency, "requests": len(latencies) * per_call, "errors": errors,
            "requests_per_s": (len(latencies) - errors) * per_call / seconds,
            "p50_ms": float(np.percentile(latencies, 50) * 1000), "p99_ms": float(np.percentile(latencies, 99) * 1000)}


def bare(workload: Workload, concurrency: int, total: int) -> dict:
    """The model called directly on `total` inputs: by `concurrency` threads one input at a time,
    or for a batched workload by one thread `concurrency` inputs at a time. Latency is per call."""
    threads, per_call = (1, concurrency) if workload.batched else (concurrency, 1)
    latencies, errors, counter = [], 0, itertools.count(0, per_call)

    def worker() -> None:
        nonlocal errors
        while (i := next(counter)) < total:
            sent = time.perf_counter()
            try:
                workload.bare(i, per_call)
            except Exception:  # noqa: BLE001 - a failed call is counted, as a 5xx would be
                errors += 1
            latencies.append(time.perf_counter() - sent)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    start = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return summary(latencies, errors, time.perf_counter() - start, concurrency, per_call)


async def http(url: str, workload: Workload, concurrency: int, total: int) -> dict:
    """`concurrency` clients, each sending its next request when the last is answered."""
    latencies, errors, counter = [], 0, itertools.count()

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while (i := next(counter)) < total:
            sent = time.perf_counter()
            try:
                response = await client.post(workload.endpoint, content=workload.bodies[i % len(workload.bodies)],
                                             headers={"content-type": workload.content_type})
                errors += response.status_code != 200
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - sent)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits, headers={"X-API-Key": client_key()}) as client:
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


def batcher_calls(metrics: str) -> dict:
    """Calls of the model the adaptive batcher made, and their mean batch size, from /metrics' text."""
    total = lambda suffix: sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()  # noqa: E731
                               if line.startswith(f"bentoml_service_adaptive_batch_size_{suffix}"))
    calls = total("count")
    return {"calls": calls, "mean_size": total("sum") / calls if calls else 0.0}


def served(model: str, tag: str, workload: Workload, batching: bool, requests: int, extra: dict | None = None) -> tuple[list[dict], dict]:
    """Each concurrency level against a fresh service, and the batcher's calls over the run; then
    the workload's extra figures into `extra`."""
    process, url = start_service(model, tag, batching)
    try:
        asyncio.run(http(url, workload, 4, min(WARM_UP, requests)))
        results = [asyncio.run(http(url, workload, c, requests)) for c in CONCURRENCY]
        batches = batcher_calls(httpx.get(f"{url}/metrics", timeout=10).text)
        if extra is not None and workload.extra:
            extra.update(workload.extra(url))
        return results, batches
    finally:
        services.stop(process)


def measure(model: str, tag: str, requests: int | None) -> dict:
    tag, workload = WORKLOADS[model](tag)
    requests = requests or workload.requests
    bare(workload, 1, min(WARM_UP // 10 if workload.batched else WARM_UP, requests))
    extra: dict = {}
    modes, batches = {"bare": [bare(workload, c, requests) for c in CONCURRENCY]}, {}
    modes["batching"], batches["batching"] = served(model, tag, workload, True, requests, extra)
    if workload.adaptive:
        modes["no_batching"], batches["no_batching"] = served(model, tag, workload, False, requests)
    ratios = [{"concurrency": a["concurrency"], "batching_over_bare": b["requests_per_s"] / a["requests_per_s"],
               **({"batching_over_no_batching": b["requests_per_s"] / c["requests_per_s"]} if c else {})}
              for a, b, c in zip(modes["bare"], modes["batching"], modes.get("no_batching", [None] * len(CONCURRENCY)))]
    best = {mode: max(r["requests_per_s"] for r in results) for mode, results in modes.items()}
    capacity = {"best_bare_per_s": best["bare"], "best_served_per_s": best["batching"],
                "served_over_bare": best["batching"] / best["bare"], "replica_per_day": best["batching"] * 86_400,
                "day_volume": workload.day_volume, "webcam_fps": workload.webcam_fps}
    return {"model": tag, "endpoint": workload.endpoint, "requests": requests, "batched": workload.batched,
            "adaptive": workload.adaptive, "modes": modes, "batches": batches, "ratios": ratios, "capacity": capacity, "extra": extra}


MODE_NAMES = {"bare": "(a) bare model, in process", "batching": "(b) service, adaptive batching",
              "no_batching": "(c) service, batching off"}
UNBATCHED_NAMES = {**MODE_NAMES, "batching": "(b) service (no adaptive batching)"}


def render(report: dict) -> str:
    names = MODE_NAMES if report["adaptive"] else UNBATCHED_NAMES
    rows = [f"| {names[mode]} | {r['concurrency']} | {r['requests']:,} | {r['errors']} | {r['requests_per_s']:,.1f} "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |" for mode, results in report["modes"].items() for r in results]
    ratio_header = ["| concurrent clients | (b)/(a) throughput | (b)/(c) throughput |", "|---|---|---|"] if report["adaptive"] \
        else ["| concurrent clients | (b)/(a) throughput |", "|---|---|"]
    ratios = [f"| {r['concurrency']} | {r['batching_over_bare']:.2f} |" + (f" {r['batching_over_no_batching']:.2f} |" if report["adaptive"] else "")
              for r in report["ratios"]]
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
        "Clients share the machine's cores with the server; (a) has neither client nor HTTP.", batched,
        "",
        "| mode | concurrent clients | requests | errors | answered/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
        *rows,
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
    """The abuse scorer's Redis: a local one for the run, which its servers find through the
    environment they inherit (services.serve_env)."""
    if model != "abuse":
        yield
        return
    from playserve import local_redis

    with tempfile.TemporaryDirectory() as directory, local_redis.running(Path(directory), services.free_port()) as url:
        os.environ[local_redis.ENV] = url
        try:
            yield
        finally:
            del os.environ[local_redis.ENV]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(WORKLOADS))
    parser.add_argument("--model-tag", dest="tag", default=None, help="model version (default: <model>:latest)")
    parser.add_argument("--requests", type=int, default=None, help="requests per mode and concurrency level (default: the model's)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory for the results files")
    args = parser.parse_args(argv)
    with feature_store(args.model):
        report = measure(args.model, args.tag or f"{args.model}:latest", args.requests)
    command = f"python -m load.bench {args.model}" + (f" --requests {args.requests}" if args.requests else "")
    write(f"bench-{args.model}", report | run_facts(command), render, args.results)


if __name__ == "__main__":
    main()
