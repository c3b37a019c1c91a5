"""What a pod lets in, whoever sends it: metric labels from a fixed set, a bounded number of requests
and of body bytes in flight, a few slots of their own for bulk routes, and no connection held by a
client that sends slowly or not at all.

BentoML 1.4.39 labels its request metrics with the raw path and holds an in-flight slot while a
body is still arriving; the two patches below (a subclass put where BentoML looks its middleware up,
and a timer on uvicorn's connections) are applied when a service module is imported, in the worker,
before BentoML builds the app."""

from __future__ import annotations

import asyncio
import time

from bentos.common import pools
from bentos.common.limits import respond

UNKNOWN_PATH = "/<unknown>"  # every path no route has, as the metrics and the access log see it
SYSTEM_PATHS = frozenset({"/", "/livez", "/readyz", "/healthz", "/metrics", "/docs.json"})
SYSTEM_PREFIXES = ("/static_content/",)
HEAD_TIMEOUT_S = 10.0   # a connection that has not sent a whole request head by then is closed
BODY_IDLE_S = 10.0      # a body that stops arriving for this long is a 408
BODY_GRACE_S = 5.0      # then a body must keep arriving at MIN_BODY_RATE or it is a 408
MIN_BODY_RATE = 64 * 1024  # bytes/s: a phone on a poor link sends a 20 MB upload in ~5 minutes
RETRY_AFTER_S = 2
IDLE_BODY = f"request body: nothing arrived for {BODY_IDLE_S:.0f} s"


def known_path(path: str, routes) -> bool:
    return path in SYSTEM_PATHS or path in routes or path.startswith(SYSTEM_PREFIXES)


def bound_request_metrics() -> None:
    """BentoML's request metrics (and access log) see every path no route has as UNKNOWN_PATH, so a
    stream of random paths adds no series; such a request is still a 404 (or a 401 without a key)."""
    from bentoml._internal.context import server_context
    from bentoml._internal.server.http import instruments

    base = instruments.RunnerTrafficMetricsMiddleware
    if getattr(base, "bounded", False):
        return

    class BoundedTrafficMetrics(base):
        bounded = True

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http" and not known_path(scope["path"], server_context.service_routes):
                scope = {**scope, "path": UNKNOWN_PATH, "raw_path": UNKNOWN_PATH.encode()}
            await super().__call__(scope, receive, send)

    instruments.RunnerTrafficMetricsMiddleware = BoundedTrafficMetrics


def close_silent_connections(seconds: float = HEAD_TIMEOUT_S) -> None:
    """uvicorn waits for a request head without a time limit (its keep-alive timer starts only after
    a response): a connection that has not sent one within `seconds` is closed."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    protocols = [H11Protocol]
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        protocols.append(HttpToolsProtocol)
    except ImportError:  # httptools is not installed: uvicorn uses h11
        pass
    for protocol in protocols:
        if getattr(protocol, "head_timeout", None):
            continue
        made = protocol.connection_made

        def connection_made(self, transport, made=made):
            made(self, transport)
            self.loop.call_later(self.head_timeout, close_without_request, self)

        protocol.connection_made, protocol.head_timeout = connection_made, seconds


def close_without_request(protocol) -> None:
    if protocol.cycle is None and not protocol.transport.is_closing():
        protocol.transport.close()


async def busy(send, status: int, error: str, retry_after_s: int = RETRY_AFTER_S) -> None:
    await respond(send, status, {"error": error}, ((b"retry-after", str(retry_after_s).encode()),))


class InFlight:
    """ASGI middleware (replacing BentoML's max_concurrency): per pod,

    - `slots` requests are answered at once; a slot is taken when a request's body has fully
      arrived, so clients still sending do not hold the slots of those ready to be answered. One
      more is a 429 with Retry-After.
    - bulk routes (the spec's non-interactive ones) have `bulk_slots` of their own, taken before the
      body is read: one more is a 429 at once, and a report never waits behind live frames.
    - at most `body_bytes["disk"]` of uploads (multipart bodies, written to the pod's scratch
      volume) and `body_bytes["memory"]` of other bodies (JSON, parsed in memory) are in flight: a
      body that does not fit is a 503 with Retry-After, before it is read when its length is declared.
    - a body that stops arriving (BODY_IDLE_S) or arrives slower than MIN_BODY_RATE after
      BODY_GRACE_S is a 408.
    - a route with a door (`doors`: path -> its pool and latency objective) is a 503 with
      Retry-After before its body is read when the pool could not serve one more call in time
      (bentos/common/pools.py): refusals in a burst cost no upload's parsing, so the cores go to
      the requests admitted."""

    def __init__(self, app, pod: Pod, bulk_routes: frozenset[str], doors: dict[str, tuple[str, float]] | None = None):
        self.app, self.pod, self.bulk_routes, self.doors = app, pod, bulk_routes, doors or {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in SYSTEM_PATHS or scope["path"].startswith(SYSTEM_PREFIXES):
            return await self.app(scope, receive, send)
        pod = self.pod
        bulk = scope["path"] in self.bulk_routes
        if bulk and pod.bulk >= pod.bulk_slots:
            return await busy(send, 429, f"Too many requests: {pod.bulk_slots} bulk requests of this pod are running; retry later")
        if (door := self.doors.get(scope["path"])) and (refused := pools.refusal(*door)):
            return await busy(send, 503, str(refused), refused.retry_after_s)
        headers = dict(scope["headers"])
        budget = pod.budgets["disk" if headers.get(b"content-type", b"").startswith(b"multipart/") else "memory"]
        declared = headers.get(b"content-length", b"0")
        reserved = int(declared) if declared.isdigit() else 0
        if not budget.fits(reserved):
            return await busy(send, 503, f"the pod is receiving {budget.used:,} bytes of requests already; retry later")
        request = Admission(pod, budget, receive, send, reserved)
        pod.bulk += bulk
        try:
            await self.app(scope, request.receive, request.send)
        finally:
            pod.bulk -= bulk
            request.release()


class Pod:
    """What one pod is answering and receiving: `slots` requests answered at once, `bulk_slots` of
    bulk routes, and the body bytes in flight per kind ("disk", "memory"). Shared by InFlight and
    the fast path (bentos/common/fastpath.py), so each sees the other's requests."""

    def __init__(self, slots: int, bulk_slots: int, body_bytes: dict[str, int]):
        self.slots, self.bulk_slots = slots, bulk_slots
        self.budgets = {kind: Budget(limit) for kind, limit in body_bytes.items()}
        self.answering = self.bulk = 0


async def next_message(receive) -> dict | None:
    """The request's next message, or None if nothing arrived for BODY_IDLE_S (a 408)."""
    try:
        async with asyncio.timeout(BODY_IDLE_S):  # not wait_for: it makes a task per message (~10 us a request)
            return await receive()
    except TimeoutError:
        return None


class Budget:
    def __init__(self, limit: int):
        self.limit, self.used = limit, 0

    def fits(self, size: int) -> bool:
        return self.used + size <= self.limit


class Admission:
    """One request's share of its pod: the body bytes it holds and, once its body is in, a slot."""

    def __init__(self, pod: Pod, budget: Budget, receive, send, reserved: int):
        self.pod, self.budget, self._receive, self._send = pod, budget, receive, send
        self.reserved, self.received, self.started = reserved, 0, time.monotonic()
        budget.used += reserved
        self.answering = self.refused = self.complete = False

    async def receive(self):
        if self.complete or self.refused:
            return await self._receive()
        message = await next_message(self._receive)
        if message is None:
            return await self.refuse(408, IDLE_BODY)
        if message["type"] != "http.request":
            return message
        self.received += len(message.get("body", b""))
        if self.received > self.reserved:  # chunked, or more than declared
            self.budget.used += self.received - self.reserved
            self.reserved = self.received
            if self.budget.used > self.budget.limit:
                return await self.refuse(503, "the pod is receiving as many request bytes as it can hold; retry later")
        elapsed = time.monotonic() - self.started
        if message.get("more_body") and elapsed > BODY_GRACE_S and self.received < MIN_BODY_RATE * (elapsed - BODY_GRACE_S):
            return await self.refuse(408, f"request body: {self.received:,} bytes in {elapsed:.0f} s is under the minimum rate "
                                          f"of {MIN_BODY_RATE // 1024} KiB/s")
        if not message.get("more_body"):
            self.complete = True
            if self.pod.answering >= self.pod.slots:
                return await self.refuse(429, f"Too many requests: {self.pod.slots} are being answered; retry later")
            self.pod.answering += 1
            self.answering = True
        return message

    async def refuse(self, status: int, error: str):
        self.refused = True
        await (busy(self._send, status, error) if status != 408 else respond(self._send, status, {"error": error}))
        return {"type": "http.disconnect"}  # the app stops reading and its answer goes nowhere

    async def send(self, message):
        if self.refused:
            return
        if message["type"] == "http.response.start" and message["status"] in (429, 503):
            headers = list(message.get("headers", []))
            if not any(name.lower() == b"retry-after" for name, _ in headers):  # the endpoint's own overload answers
                message = {**message, "headers": [*headers, (b"retry-after", str(RETRY_AFTER_S).encode())]}
        await self._send(message)

    def release(self) -> None:
        self.budget.used -= self.reserved
        self.pod.answering -= self.answering
