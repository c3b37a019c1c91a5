"""Request body limits per endpoint: a body over its endpoint's limit is a 413 before it is
parsed or spooled to disk (uploads would otherwise fill the pod's scratch volume first).

A declared Content-Length over the limit is refused at once; a chunked body is counted as it
arrives and refused when it passes the limit."""

from __future__ import annotations

import json
import os

from training.common.contract import quantity_bytes

MIB = 1024 * 1024
MULTIPART_SLACK = MIB  # form boundaries, part headers and small fields beside the files
DEFAULT_LIMIT = MIB  # any route not named (docs, health, unknown paths)
# Requests answered at once per pod beyond which one more is a 429 at once instead of queuing
# without bound (health and metrics are exempt; see bentos/common/traffic.py); above the 32 clients
# the benchmarks drive, and the autoscaler adds pods well before it. Queued work is bounded as well:
# spend's and abuse's batchers shed (503) what they predict would wait longer than their
# max_latency_ms; the image models' queues for their model threads end at the timeout (504).
MAX_CONCURRENCY = 64
# Request bytes a pod holds at once beside the limits per request: what fits in memory of JSON
# (parsed, a body takes several times its size; 64 MiB is 2 full spend or abuse requests), and
# what the scratch volume leaves beside the Prometheus multiprocess files and BentoML's own.
JSON_IN_FLIGHT = 64 * MIB
SCRATCH_HEADROOM = 256 * MIB
BULK_SLOTS = 2  # bulk requests (the spec's non-interactive routes) running at once per pod
CONCURRENCY_ENV, TIMEOUT_ENV = "PLAYSERVE_MAX_CONCURRENCY", "PLAYSERVE_TIMEOUT_S"  # per deployment, e.g. a bigger pod


def traffic(timeout_s: int) -> dict:
    """A service's traffic settings for BentoML: past the timeout a request is answered 504 (the
    environment overrides it). Concurrency is bounded by bentos/common/traffic.py, not by BentoML."""
    return {"timeout": float(os.environ.get(TIMEOUT_ENV, timeout_s))}


def max_concurrency() -> int:
    return int(os.environ.get(CONCURRENCY_ENV, MAX_CONCURRENCY))


def in_flight_bytes(scratch: str, body_limits: dict[str, int], workers: int = 1) -> dict[str, int]:
    """One worker process's share of its pod's budgets of request bytes in flight: uploads fill the
    pod's scratch volume (`scratch`, the spec's emptyDir size) but for SCRATCH_HEADROOM, JSON bodies
    are held in memory (JSON_IN_FLIGHT). The largest accepted body must fit either: a service that
    could never accept one refuses to start."""
    budgets = {"disk": (quantity_bytes(scratch) - SCRATCH_HEADROOM) // workers, "memory": JSON_IN_FLIGHT // workers}
    largest = max(body_limits.values())
    if largest > budgets["disk"]:
        raise ValueError(f"a {largest:,}-byte request does not fit the {scratch} scratch volume: raise the spec's scratch")
    return budgets


def worker_slots(slots: int, workers: int) -> int:
    """One worker process's share of a pod's slots (the kernel spreads connections over them)."""
    return max(1, slots // workers)


def uploads_limit(files: int, bytes_per_file: int) -> int:
    """The largest multipart body holding `files` files of up to `bytes_per_file` each."""
    return files * bytes_per_file + MULTIPART_SLACK


def too_large(size: int, limit: int, endpoint: str) -> dict:
    return {"error": f"request body: {size:,} bytes is over the {limit:,}-byte limit of /{endpoint}"}


class BodyLimit:
    """ASGI middleware; `limits` maps an endpoint (path without its leading slash) to bytes."""

    def __init__(self, app, limits: dict[str, int], default: int = DEFAULT_LIMIT):
        self.app = app
        self.limits = limits
        self.default = default

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        endpoint = scope["path"].strip("/")
        limit = self.limits.get(endpoint, self.default)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await respond(send, 413, too_large(int(declared), limit, endpoint))
        received, refused = 0, False

        async def counted():
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await respond(send, 413, too_large(received, limit, endpoint))
                    return {"type": "http.disconnect"}  # the app stops reading and answers no one
            return message

        async def unless_refused(message):
            if not refused:
                await send(message)

        await self.app(scope, counted, unless_refused)


async def respond(send, status: int, body: dict, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """A JSON answer sent straight from a middleware."""
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), *headers]})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
