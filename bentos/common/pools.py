"""Threads by kind of work, so one kind cannot starve another.

BentoML runs every sync endpoint and every adaptive batch on one pool of `threads` (1 by default):
a 10,000-user /events request held abuse's /score for 19 s, and an emotion report held live
/stream frames for 69 s. Endpoints that do long or blocking work are async and hand it to their own
pool here: `bulk` (the spec's non-interactive routes; as many threads as a pod admits bulk
requests), `store` (calls to the feature store, which can hang), `decode` (image decoding of the
async handlers, kept off the event loop so /livez always answers), `model` (an image model's
inference: one call per core, while the next requests decode on the `decode` threads) and
`answer` (the fast path's larger JSON requests, bentos/common/fastpath.py: two, so one's model
call, which lets the interpreter go, overlaps the other's validation). Each pool knows its queue
and what a call takes, so a request it could not serve in time is refused at its door (`admitted`)."""

from __future__ import annotations

import functools
import math
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import anyio
import anyio.from_thread
import anyio.to_thread

from bentos.common import limits

SWITCH_INTERVAL_S = 0.001
THREADS = {"bulk": limits.BULK_SLOTS, "store": 4, "decode": 4, "model": 2, "answer": 2}
COST_WEIGHT = 0.2  # of the newest call in a pool's moving average of call durations
_limiters: dict[str, anyio.CapacityLimiter] = {}


@dataclass
class Load:
    """A pool's calls: waiting for a thread or running (`queued`), still to come from the requests
    its door admitted (`reserved`), and what a call takes (a moving average, seconds)."""
    queued: int = 0
    reserved: int = 0
    cost_s: float = 0.0

    def wait_s(self, threads: int) -> float:
        return (self.queued + self.reserved) * self.cost_s / threads

    def timed(self, call):
        start = time.perf_counter()
        try:
            return call()
        finally:
            took = time.perf_counter() - start
            self.cost_s = took if self.cost_s == 0.0 else (1 - COST_WEIGHT) * self.cost_s + COST_WEIGHT * took


@dataclass
class Ticket:
    """An admitted request's calls of a pool not yet made."""
    pool: str
    left: int


LOADS: dict[str, Load] = defaultdict(Load)
_ticket: ContextVar[Ticket | None] = ContextVar("pool_ticket", default=None)


async def run(pool: str, func, *args, **kwargs):
    """func(*args, **kwargs) on a thread of `pool`, waiting for one if all are busy."""
    if pool not in _limiters:
        _limiters[pool] = anyio.CapacityLimiter(THREADS[pool])
    load, ticket = LOADS[pool], _ticket.get()
    if ticket is not None and ticket.pool == pool and ticket.left:  # one of its reserved calls, now queued
        ticket.left -= 1
        load.reserved -= 1
    load.queued += 1
    try:
        return await anyio.to_thread.run_sync(functools.partial(load.timed, functools.partial(func, *args, **kwargs)),
                                              limiter=_limiters[pool])
    finally:
        load.queued -= 1


def refusal(pool: str, objective_s: float) -> Overloaded | None:
    """Overloaded when a call of `pool`, after the wait for one of its threads, would end past `objective_s`."""
    load = LOADS[pool]
    budget_s = max(objective_s - load.cost_s, objective_s / 4)  # a call slower than the objective still leaves some queue
    if (wait := load.wait_s(THREADS[pool])) <= budget_s:
        return None
    return Overloaded(f"overloaded: {load.queued + load.reserved} {pool} calls are queued, about {wait:.1f} s of work for "
                      f"{THREADS[pool]} threads (more than {budget_s:.1f} s); retry later or on another replica",
                      retry_after_s=math.ceil(wait - budget_s))


class Overloaded(Exception):
    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)

    def response(self):
        """A 503 with the reason and Retry-After (BentoML hides a 5xx exception's message, and logs
        a traceback for each: a burst of refusals is not a fault)."""
        from starlette.responses import JSONResponse

        return JSONResponse({"error": str(self)}, status_code=503, headers={"Retry-After": str(self.retry_after_s)})


@contextmanager
def admitted(pool: str, objective_s: float, calls: int = 1):
    """The door of a pool, around a request that will make `calls` calls of it: one whose calls
    would wait for a thread so long that a call of its own would end past its route's latency
    objective is refused at once (Overloaded: its `response()`, a 503 with Retry-After), not after
    seconds in the queue; the caller can try another replica or later, and the requests admitted
    are answered in time. An admitted request's calls count as queued from the door on (it
    decodes first), so a burst that arrives at once is measured whole."""
    if refused := refusal(pool, objective_s):
        raise refused
    load = LOADS[pool]
    ticket = Ticket(pool, calls)
    load.reserved += calls
    token = _ticket.set(ticket)
    try:
        yield
    finally:
        load.reserved -= ticket.left
        _ticket.reset(token)


def run_from_thread(pool: str, func, *args):
    """`run` from a thread of another pool, waiting for its answer: a bulk request's steps that
    must take their turn with the interactive requests' (an image model's inference)."""
    return anyio.from_thread.run(run, pool, func, *args)


def hand_over_the_interpreter_often() -> None:
    """A thread running Python holds the GIL until another has waited `sys.getswitchinterval()`
    (5 ms by default), and an interactive request needs it at each of its hops (event loop, its
    thread, back). With two 10,000-event /events batches building their Redis commands, one-window
    /score calls took up to 0.55 s (p95 0.3 s) at 5 ms; at 1 ms, at most 0.18 s."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
