"""The online feature store against a real Redis: events ingested in batches, as a game's event
stream sends them, give the same features as batch training computes from the whole log."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import redis

from training.abuse.serving import data, features
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
