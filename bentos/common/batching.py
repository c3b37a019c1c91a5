"""Whether a service's batchable endpoints batch: on unless PLAYSERVE_ADAPTIVE_BATCHING=0.

Off exists to measure what adaptive batching buys (load/bench.py, mode (c)) and as a lever in an
incident where the batcher itself is suspected; it is read once, when the service starts."""

from __future__ import annotations

import os

ENV = "PLAYSERVE_ADAPTIVE_BATCHING"


def enabled() -> bool:
    return os.environ.get(ENV, "1") != "0"
