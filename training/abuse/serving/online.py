"""The online feature store: each user's window AGGREGATES in a Redis hash, updated event by event
with the batch path's own `increments`, and read back through the same `features` (the payments
fraud team's pattern, DOMAIN.md section 5).

Per user (its id length-prefixed, so no id can reach into another user's keys: `latest`, `a:b`,
`:` and unicode ids included):

    abuse:w:{len}:{user}:{window}   hash: the AGGREGATES fields plus `last:{kind}`, the time of
                                    the window's last event of each kind
    abuse:l:{len}:{user}            the user's latest window
    abuse:s:{len}:{user}            sorted set of the user's windows, newest MAX_USER_WINDOWS kept
    abuse:e:{len}:{user}:{window}   set of the window's event ids: an event sent again with its
                                    id (a client's retry after a timeout) is counted once

A batch is applied in one WATCH/MULTI transaction over its users' indexes, which every write of a
user's keys touches (read `last`, add the increments, write the new `last`), retried whole if
another writer got there first: concurrent ingests lose nothing, and a batch that fails (a full
store, a lost connection) has written nothing, so its retry counts nothing twice. Windows expire
after KEEP_SECONDS.
"""

from __future__ import annotations

from typing import NamedTuple

from training.abuse.serving.data import ID
from training.abuse.serving.features import AGGREGATES, InputError, check_events, features, increments, window_of
from training.common.lazy import lazy

pd = lazy("pandas")
redis = lazy("redis")

PREFIX = "abuse"
KEEP_SECONDS = 3 * 86_400   # wall-clock lifetime of a window's hash: the day, and two to score it late
MAX_USER_WINDOWS = 7        # windows kept per user: a week of days, newest first
LAST = "last:"
EVENT_ID = "event_id"


class Ingested(NamedTuple):
    events: int       # counted now
    duplicates: int   # already counted (by event id), or repeated in the batch
    users: int


def user_part(user: str) -> str:
    return f"{len(user)}:{user}"


def key(user: str, window: int) -> str:
    return f"{PREFIX}:w:{user_part(user)}:{window}"


def seen_key(user: str, window: int) -> str:
    return f"{PREFIX}:e:{user_part(user)}:{window}"


def latest_key(user: str) -> str:
    return f"{PREFIX}:l:{user_part(user)}"


def windows_key(user: str) -> str:
    return f"{PREFIX}:s:{user_part(user)}"


class OnlineStore:
    def __init__(self, client: redis.Redis):
        self.client = client

    @classmethod
    def from_url(cls, url: str, password: str | None = None) -> OnlineStore:
        """`password`, when given, is used instead of one in the URL (the cluster's comes from a
        Secret's file). A store that does not answer within a second is an error at once, never
        retried here (redis-py 8 retries a timed-out call three times by default): callers get a
        503 they can retry instead of a request that hangs."""
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        options = {"password": password} if password else {}
        return cls(redis.Redis.from_url(url, decode_responses=True, socket_timeout=1, socket_connect_timeout=1,
                                        retry=Retry(NoBackoff(), 0), **options))

    def ingest(self, events: pd.DataFrame) -> Ingested:
        """Add a batch of events (any users, any order of users; each user's in time order), all or
        nothing. A user's events may span at most MAX_USER_WINDOWS windows. An event with an
        `event_id` that its user's window has already counted (or that comes twice in the batch)
        is a duplicate, counted once."""
        ids = events[EVENT_ID] if EVENT_ID in events.columns else pd.Series(None, index=events.index, dtype=object)
        events = check_events(events)
        events[EVENT_ID] = ids.where(ids.notna(), None)
        repeated = events[EVENT_ID].notna() & events.duplicated([ID, EVENT_ID])
        events = events[~repeated]
        events["window"] = window_of(events["time"].to_numpy())
        spans = events.groupby(ID)["window"].nunique()
        if (spans > MAX_USER_WINDOWS).any():
            user = spans.idxmax()
            raise InputError("time", f"the events of {user!r} span {spans.max()} days; at most {MAX_USER_WINDOWS} per user are kept")
        # Plain tuples, one pass: a DataFrame per (user, window) cost ~1 ms each, and a 10,000-user
        # batch's objects made the collector stall every thread for up to 0.4 s at a time.
        groups: dict[tuple[str, int], list[tuple]] = {}
        for user, window, *event in events[[ID, "window", "time", "kind", "value", "gain", EVENT_ID]].itertuples(index=False, name=None):
            groups.setdefault((user, int(window)), []).append(event)
        users = sorted({user for user, _ in groups})
        # Every transaction that writes a user's keys also EXPIREs their index, which touches it, so
        # watching the indexes alone sees every concurrent writer; Redis checks each WATCHed key
        # against the whole list (quadratic): 30,000 keys for 10,000 users took seconds.
        seen = self.client.transaction(lambda pipe: self._apply(pipe, groups, users), *map(windows_key, users), value_from_callable=True)
        return Ingested(events=len(events) - seen, duplicates=seen + int(repeated.sum()), users=len(users))

    def _apply(self, pipe: redis.client.Pipeline, groups: dict[tuple[str, int], list[tuple]], users: list[str]) -> int:
        """Writes the batch under WATCH; returns how many of its events were already counted."""
        reads = pipe.pipeline(transaction=False)  # one round trip for every read, still under WATCH
        identified = {window: [e[-1] for e in group if e[-1] is not None] for window, group in groups.items()}
        for user, window in groups:
            reads.hgetall(key(user, window))
        for (user, window), ids in identified.items():
            if ids:
                reads.smismember(seen_key(user, window), ids)
        for user in users:
            reads.get(latest_key(user))
            reads.zrange(windows_key(user), 0, -1)
        stored = reads.execute()
        asked = [window for window, ids in identified.items() if ids]
        hashes, members, per_user = stored[:len(groups)], stored[len(groups):len(groups) + len(asked)], stored[len(groups) + len(asked):]
        known = {window: {i for i, member in zip(identified[window], found) if member} for window, found in zip(asked, members)}
        new = {window: [e for e in group if e[-1] not in known.get(window, ())] for window, group in groups.items()}
        windows: dict[str, list[int]] = {}
        for user, window in groups:
            windows.setdefault(user, []).append(window)
        kept = {user: kept_windows(user, [int(w) for w in per_user[2 * i + 1]], windows[user]) for i, user in enumerate(users)}
        pipe.multi()
        for ((user, window), group), stored_hash in zip(new.items(), hashes):
            if group:
                self._add_window(pipe, user, window, group, stored_hash)
        for i, user in enumerate(users):
            self._index_windows(pipe, user, per_user[2 * i], windows[user], *kept[user])
        return sum(len(ids) for ids in known.values())

    def _add_window(self, pipe, user: str, window: int, group: list[tuple], stored: dict) -> None:
        """`group`: the window's new events as (time, kind, value, gain, event id or None), in time order."""
        name = key(user, window)
        last = {field[len(LAST):]: float(value) for field, value in stored.items() if field.startswith(LAST)}
        added: dict[str, float] = {}
        if ids := [event_id for *_, event_id in group if event_id is not None]:
            pipe.sadd(seen_key(user, window), *ids)
            pipe.expire(seen_key(user, window), KEEP_SECONDS)
        for time, kind, value, gain, _ in group:
            for field, amount in increments(kind, value, gain, last, time).items():
                added[field] = added.get(field, 0.0) + amount
            last[kind] = max(time, last.get(kind, time))
        for field, amount in added.items():
            pipe.hincrbyfloat(name, field, amount)
        pipe.hset(name, mapping={LAST + kind: str(float(time)) for kind, time in last.items()})
        pipe.expire(name, KEEP_SECONDS)

    def _index_windows(self, pipe, user: str, latest: str | None, windows: list[int], keep: list[int], drop: list[int]) -> None:
        """The user's latest window moves forward only; windows past their newest MAX_USER_WINDOWS
        are deleted."""
        newest = max(windows)
        if latest is None or newest >= int(latest):
            pipe.set(latest_key(user), newest, ex=KEEP_SECONDS)
        index = windows_key(user)
        pipe.zadd(index, {str(w): w for w in keep})
        if drop:
            pipe.zrem(index, *map(str, drop))
            pipe.delete(*(name for w in drop for name in (key(user, w), seen_key(user, w))))
        pipe.expire(index, KEEP_SECONDS)

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


def kept_windows(user: str, stored: list[int], new: list[int]) -> tuple[list[int], list[int]]:
    """The user's windows to keep and to delete once `new` are added. An event for a window older
    than all MAX_USER_WINDOWS kept ones would be deleted as it is written: InputError instead, so
    nothing is dropped without the caller knowing."""
    every = sorted(set(stored) | set(new), reverse=True)
    keep, drop = every[:MAX_USER_WINDOWS], every[MAX_USER_WINDOWS:]
    if late := sorted(set(new) & set(drop)):
        raise InputError("time", f"window {late[0]} of {user!r} is older than the {MAX_USER_WINDOWS} days kept for each user")
    return keep, drop
