"""A pool's door: it learns what a call takes and refuses, at once, a request whose call would end
past its latency objective for the wait for a thread, counting the calls of requests it has
admitted from the door on (they decode first)."""

from __future__ import annotations

import asyncio
import time


from bentos.common import pools


def test_the_door_refuses_only_a_queue_that_cannot_be_served_in_time():
    load = pools.LOADS["model"]
    load.queued, load.reserved, load.cost_s = 0, 0, 0.0

    async def request(frames: int, objective_s: float = 1.0) -> None:
        with pools.admitted("model", objective_s, calls=frames):
            await asyncio.sleep(0.01)  # decoding, before its first model call
            for _ in range(frames):
                await pools.run("model", time.sleep, 0.05)

    asyncio.run(request(3))
    assert (load.queued, load.reserved) == (0, 0) and 0.05 <= load.cost_s < 0.5  # learnt from the calls
    load.cost_s = 0.05

    async def burst(count: int) -> list:
        return await asyncio.gather(*(request(1, objective_s=1.01) for _ in range(count)), return_exceptions=True)

    # 100 one-frame requests at once: each admitted one counts from the door, so after 39 the
    # queue is 39 x 0.05 s / 2 threads = 0.975 s, and a call of 0.05 s more ends past a 1.01 s objective
    outcomes = asyncio.run(burst(100))
    refused = [o for o in outcomes if isinstance(o, pools.Overloaded)]
    assert len(refused) == 100 - 39 and "overloaded: 39 model calls are queued, about 1.0 s of work for 2 threads (more than 1.0 s)" in str(refused[0])
    assert (load.queued, load.reserved) == (0, 0)
    answer = refused[0].response()
    assert answer.status_code == 503 and int(answer.headers["retry-after"]) >= 1
