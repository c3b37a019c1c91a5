"""Window features: the event-by-event increments the online store adds up give exactly the batch
aggregates, regularity and quick pickups mean what they say, and bad events are named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.abuse.serving import data, features
from training.abuse.evaluate import is_abuse, ranking_metrics
from training.abuse.pipeline import columns


def fold(events: pd.DataFrame) -> pd.DataFrame:
    """AGGREGATES by adding each event's increments in arrival order, as the online store does."""
    sums, last = {}, {}
    for user, time, kind, value, gain in events[data.EVENT_COLUMNS].itertuples(index=False):
        key = (user, features.window_of(time))
        row = sums.setdefault(key, dict.fromkeys(features.AGGREGATES, 0.0))
        for field, amount in features.increments(kind, value, gain, last.setdefault(key, {}), time).items():
            row[field] += amount
        last[key][kind] = time
    frame = pd.DataFrame.from_dict(sums, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=[data.ID, "window"])
    return frame[features.AGGREGATES]


def test_event_increments_add_up_to_the_batch_aggregates():
    events = data.generate(150, seed=8, abuse_rate=0.4).events
    events = pd.concat([events, events.assign(time=events["time"] + features.WINDOW_SECONDS)])  # a second day
    batch = features.aggregate(events)
    online = fold(events.sort_values([data.ID, "time"], kind="stable")).loc[batch.index]
    assert len(batch) == 300 and np.allclose(online.to_numpy(), batch.to_numpy(), rtol=1e-9, atol=1e-6)
    assert np.allclose(features.features(online).to_numpy(), features.features(batch).to_numpy(), rtol=1e-9, atol=1e-9)


def test_gap_regularity_separates_a_script_from_a_person():
    rng = np.random.default_rng(0)
    clock, person = np.full(200, 30.0), rng.exponential(30.0, 200)
    cv = features.gap_cv([200, 200, 1], [clock.sum(), person.sum(), 5.0], [(clock ** 2).sum(), (person ** 2).sum(), 25.0])
    assert cv[0] < 1e-6 and 0.85 < cv[1] < 1.15 and cv[2] == 1.0  # one gap says nothing


def test_quick_pickups_follow_the_users_own_drops():
    events = pd.DataFrame({data.ID: ["a", "a", "a", "b", "a"], "time": [100.0, 130.0, 400.0, 110.0, 150.0],
                           "kind": ["drop", "pickup", "pickup", "pickup", "pickup"], "value": 1.0, "gain": 0.0})
    table = features.feature_table(events).set_index(data.ID)
    assert table.loc["a", "quick_pickup_share"] == 2 / 4 and table.loc["b", "quick_pickup_share"] == 0.0


@pytest.mark.parametrize(("change", "field"), [
    (lambda e: e.drop(columns="gain"), "gain"), (lambda e: e.assign(value=np.nan), "value"),
    (lambda e: e.assign(kind="teleport"), "kind"), (lambda e: e.assign(time=-1.0), "time"),
    (lambda e: e.assign(gain="lots"), "gain"),
])
def test_bad_events_name_the_field(change, field):
    events = pd.DataFrame({data.ID: ["a"], "time": [1.0], "kind": ["craft"], "value": [2.0], "gain": [0.5]})
    with pytest.raises(features.InputError) as error:
        features.aggregate(change(events))
    assert error.value.field == field and str(error.value).startswith(f"{field}: ")


def test_ranking_metrics_precision_and_recall_per_type_at_k():
    types = np.array(["none", "farming", "none", "exchange", "farming", "none"])
    score = np.array([0.1, 0.9, 0.8, 0.7, 0.2, 0.0])
    metrics = ranking_metrics(is_abuse(pd.Series(types)), score, types, k=3)
    assert metrics["precision_at_k"] == 2 / 3 and metrics["recall_at_k"] == {"exchange": 1.0, "farming": 0.5}
    assert metrics["roc_auc"] == pytest.approx(7 / 9)


def test_labels_read_as_booleans_numbers_or_type_names():
    assert is_abuse(pd.Series([True, False])).tolist() == [True, False]
    assert is_abuse(pd.Series([0, 1, 1])).tolist() == [False, True, True]
    assert is_abuse(pd.Series(["none", "farming", "", "Normal"])).tolist() == [False, True, False, False]


def test_the_game_table_gets_a_reward_model_a_generic_table_only_with_a_gain_column():
    game = pd.DataFrame(0.0, index=range(3), columns=features.FEATURES).assign(user_id=["a", "b", "c"], abuse="none")
    assert columns(game, "user_id", "abuse").gain == features.GAIN
    generic = pd.DataFrame({"id": [1, 2], "x": [1.0, 2.0], "y": [3.0, 4.0], "label": [0, 1]})
    assert columns(generic, "id", "label").gain is None and columns(generic, "id", "label").features == ["x", "y"]
    assert columns(generic, "id", None, gain="y").context == ["x", "label"]
    with pytest.raises(features.InputError, match="^row: no such column"):
        columns(generic, "row", None)
