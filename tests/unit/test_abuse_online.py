"""The online feature store against a real Redis: events ingested in batches, as a game's event
stream sends them, give the same features as batch training computes from the whole log."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import redis

from training.abuse.serving import data, features
from training.abuse.serving import online
from training.abuse.serving.online import OnlineStore


@pytest.fixture()
def store(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    return OnlineStore(client)


def stream(events: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    """The log in global time order, cut into batches: users interleave, each user's stay in order."""
    ordered = events.sort_values("time", kind="stable").reset_index(drop=True)
    return [ordered.iloc[i:i + size] for i in range(0, len(ordered), size)]


def test_streamed_events_give_the_batch_features(store):
    population = data.generate(120, seed=9, abuse_rate=0.3)
    for batch in stream(population.events, 700):
        store.ingest(batch)
    batch_features = features.feature_table(population.events).set_index(data.ID)
    for user in population.users[data.ID]:
        online = store.features(user).iloc[0]
        assert np.allclose(online.to_numpy(), batch_features.loc[user, features.FEATURES].to_numpy(float), rtol=1e-9, atol=1e-9), user


def test_concurrent_ingests_of_one_user_lose_nothing(store):
    events = pd.DataFrame({data.ID: "u1", "time": np.arange(400.0) * 1000, "kind": "reward", "value": 0.0, "gain": 1.0})
    threads = [threading.Thread(target=store.ingest, args=(events.iloc[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row = store.features("u1", 0).iloc[0]
    assert row["reward_count"] == 87 and row["reward_gain"] == 87.0  # 87 events fall in day 0 (0-86,000 s)
    assert store.latest_window("u1") == 4


def test_unknown_users_and_bad_events_are_named(store):
    with pytest.raises(features.InputError, match="^user_id: no events for 'ghost'"):
        store.features("ghost")
    bad = pd.DataFrame({data.ID: ["u"], "time": [1.0], "kind": ["craft"], "value": [float("nan")], "gain": [0.0]})
    with pytest.raises(features.InputError, match="^value: "):
        store.ingest(bad)
    assert store.client.dbsize() == 0  # nothing half-written


def test_the_store_needs_its_password_which_never_shows_in_print(redis_url):
    from playserve.local_redis import masked

    password = redis.connection.parse_url(redis_url)["password"]
    without = redis_url.replace(f":{password}@", "")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(without).ping()
    assert OnlineStore.from_url(without, password).client.ping()  # the password given apart, as in the cluster
    assert password not in masked(redis_url) and masked(redis_url).startswith("redis://:***@127.0.0.1:")


def rewards(user: str, count: int, gain: float = 1.0, start: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({data.ID: user, "time": start + np.arange(count) * 10.0, "kind": "reward", "value": 0.0, "gain": gain})


def test_no_user_id_reaches_another_users_keys(store):
    """Ids that look like the store's own key parts: before, `latest` wrote into every user's
    latest-window pointer (WRONGTYPE errors, 503s for three days)."""
    ids = ["u1", "latest", "latest:u1", ":", "u1:0", "w", "l:2:u1", "x" * 128, "игрок-😀"]
    for index, user in enumerate(ids):
        store.ingest(rewards(user, index + 1, gain=float(index + 1), start=86_400.0 * (index % 3)))
    for index, user in enumerate(ids):
        row = store.features(user).iloc[0]
        assert (row["reward_count"], row["reward_gain"]) == (index + 1, (index + 1) ** 2), user
        assert store.latest_window(user) == index % 3, user


def test_a_batch_the_store_refuses_writes_nothing_so_its_retry_counts_once(store):
    store.ingest(rewards("before", 3))
    keys = store.client.dbsize()
    used = int(store.client.info("memory")["used_memory"])
    batch = pd.concat([rewards(f"user-{i}", 20) for i in range(2000)])
    store.client.config_set("maxmemory", str(used + 200_000))  # room for a part of the batch only
    try:
        with pytest.raises(redis.exceptions.OutOfMemoryError, match="maxmemory"):
            store.ingest(batch)
        assert store.client.dbsize() == keys  # none of the batch's users was written
    finally:
        store.client.config_set("maxmemory", "0")
    store.ingest(batch)  # the retry the 503's Retry-After invites
    assert store.features("user-1999").iloc[0]["reward_count"] == 20 and store.features("user-0").iloc[0]["reward_count"] == 20


def test_a_user_keeps_a_bounded_number_of_windows(store):
    day = 86_400.0
    with pytest.raises(features.InputError, match=r"^time: the events of 'spread' span 8 days; at most 7"):
        store.ingest(pd.concat([rewards("spread", 1, start=d * day) for d in range(8)]))
    assert store.client.dbsize() == 0
    for d in range(10):  # ten days, one batch a day
        store.ingest(rewards("player", 2, start=d * day))
    kept = sorted(int(w) for w in store.client.zrange(online.windows_key("player"), 0, -1))
    assert kept == list(range(3, 10)) and store.latest_window("player") == 9
    assert store.client.exists(online.key("player", 2)) == 0 and store.client.exists(online.key("player", 3)) == 1
    with pytest.raises(features.InputError, match="window 1 of 'player' is older than the 7 days kept"):
        store.ingest(rewards("player", 1, start=1 * day))  # would be deleted as it was written


def test_events_sent_again_with_their_ids_are_counted_once(store):
    """A retry after a timeout re-sends a batch the store may already have counted: with event ids
    the user's window counts each event once, also when a retry overlaps a new batch, when two
    retries race, and when a batch holds an id twice; events without ids are counted as sent."""
    batch = rewards("retrier", 20, gain=5.0).assign(event_id=[f"e{i}" for i in range(20)])
    assert store.ingest(batch) == online.Ingested(events=20, duplicates=0, users=1)
    assert store.ingest(batch) == online.Ingested(events=0, duplicates=20, users=1)
    overlapping = rewards("retrier", 30, gain=5.0).assign(event_id=[f"e{i}" for i in range(30)])
    assert store.ingest(overlapping) == online.Ingested(events=10, duplicates=20, users=1)
    threads = [threading.Thread(target=store.ingest, args=(overlapping,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    twice = pd.concat([rewards("twice", 2).assign(event_id=["a", "b"]), rewards("twice", 1).assign(event_id=["a"])])
    assert store.ingest(twice) == online.Ingested(events=2, duplicates=1, users=1)
    row = store.features("retrier").iloc[0]
    assert (row["reward_count"], row["reward_gain"]) == (30, 150.0)
    store.ingest(rewards("anonymous", 3))
    store.ingest(rewards("anonymous", 3))
    assert store.features("anonymous").iloc[0]["reward_count"] == 6
