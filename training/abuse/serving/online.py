"""The online feature store: each user's window AGGREGATES in a Redis hash, updated event by event
with the batch path's own `increments`, and read back through the same `features` (the payments
fraud team's pattern, DOMAIN.md section 5).

One hash per user and window, `abuse:{user}:{window}`: the AGGREGATES fields plus `last:{kind}`,
the time of the window's last event of each kind. A user's events are applied in a WATCH/MULTI
transaction (read `last`, add the increments, write the new `last`), retried if another writer got
there first, so concurrent ingests of one user lose nothing. Windows expire after KEEP_SECONDS.
"""

from __future__ import annotations

import pandas as pd
import redis

from training.abuse.serving.data import ID
from training.abuse.serving.features import AGGREGATES, InputError, check_events, features, increments, window_of

PREFIX = "abuse"
KEEP_SECONDS = 3 * 86_400   # wall-clock lifetime of a window's hash: the day, and two to score it late
LAST = "last:"


def key(user: str, window: int) -> str:
    return f"{PREFIX}:{user}:{window}"


def latest_key(user: str) -> str:
    return f"{PREFIX}:latest:{user}"


class OnlineStore:
    def __init__(self, client: redis.Redis):
        self.client = client

    @classmethod
    def from_url(cls, url: str, password: str | None = None) -> OnlineStore:
        """`password`, when given, is used instead of one in the URL (the cluster's comes from a Secret's file)."""
        options = {"password": password} if password else {}
        return cls(redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, **options))

    def ingest(self, events: pd.DataFrame) -> int:
        """Add a batch of events (any users, any order of users; each user's in time order)."""
        events = check_events(events)
        events["window"] = window_of(events["time"].to_numpy())
        for (user, window), group in events.groupby([ID, "window"], sort=False):
            self.client.transaction(lambda pipe, u=user, w=int(window), g=group: self._apply(pipe, u, w, g), key(user, int(window)))
        return len(events)

    def _apply(self, pipe: redis.client.Pipeline, user: str, window: int, group: pd.DataFrame) -> None:
        name = key(user, window)
        last = {field[len(LAST):]: float(value) for field, value in pipe.hgetall(name).items() if field.startswith(LAST)}
        latest = pipe.get(latest_key(user))
        added: dict[str, float] = {}
        for time, kind, value, gain in group[["time", "kind", "value", "gain"]].itertuples(index=False):
            for field, amount in increments(kind, value, gain, last, time).items():
                added[field] = added.get(field, 0.0) + amount
            last[kind] = max(time, last.get(kind, time))
        pipe.multi()
        for field, amount in added.items():
            pipe.hincrbyfloat(name, field, amount)
        pipe.hset(name, mapping={LAST + kind: str(float(time)) for kind, time in last.items()})
        pipe.expire(name, KEEP_SECONDS)
        if latest is None or window >= int(latest):
            pipe.set(latest_key(user), window, ex=KEEP_SECONDS)

    def latest_window(self, user: str) -> int:
        window = self.client.get(latest_key(user))
        if window is None:
            raise InputError("user_id", f"no events for {user!r} in the last {KEEP_SECONDS // 86_400} days")
        return int(window)

    def aggregates(self, user: str, window: int | None = None) -> pd.DataFrame:
        """One row of AGGREGATES (0 for what the window never saw), indexed by user and window."""
        window = self.latest_window(user) if window is None else window
        stored = self.client.hgetall(key(user, window))
        if not stored:
            raise InputError("window", f"no events for {user!r} in window {window}")
        row = {field: float(stored.get(field, 0.0)) for field in AGGREGATES}
        return pd.DataFrame([row], index=pd.MultiIndex.from_tuples([(user, window)], names=[ID, "window"]))

    def features(self, user: str, window: int | None = None) -> pd.DataFrame:
        return features(self.aggregates(user, window))
