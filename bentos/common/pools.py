"""Threads by kind of work, so one kind cannot starve another.

BentoML runs every sync endpoint and every adaptive batch on one pool of `threads` (1 by default):
a 10,000-user /events request held abuse's /score for 19 s, and an emotion report held live
/stream frames for 69 s. Endpoints that do long or blocking work are async and hand it to their own
pool here: `bulk` (the spec's non-interactive routes; as many threads as a pod admits bulk
requests), `store` (calls to the feature store, which can hang), `decode` (image decoding of the
async handlers, kept off the event loop so /livez always answers), `model` (an image model's
inference: one call per core, while the next requests decode on the `decode` threads) and
`answer` (the fast path's larger JSON requests, bentos/common/fastpath.py: two, so one's model
call, which lets the interpreter go, overlaps the other's validation)."""

from __future__ import annotations

import functools
import sys

import anyio
import anyio.from_thread
import anyio.to_thread

from bentos.common import limits

SWITCH_INTERVAL_S = 0.001
THREADS = {"bulk": limits.BULK_SLOTS, "store": 4, "decode": 4, "model": 2, "answer": 2}
_limiters: dict[str, anyio.CapacityLimiter] = {}


async def run(pool: str, func, *args, **kwargs):
    """func(*args, **kwargs) on a thread of `pool`, waiting for one if all are busy."""
    if pool not in _limiters:
        _limiters[pool] = anyio.CapacityLimiter(THREADS[pool])
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs), limiter=_limiters[pool])


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
