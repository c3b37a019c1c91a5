"""The game-economy generator: seedable, the four abuse types each with its own signature in the
features, and camouflage that really hides them."""

from __future__ import annotations

import numpy as np
import pytest

from training.abuse.serving import data, features


@pytest.fixture(scope="module")
def table():
    population = data.generate(2_000, seed=3, abuse_rate=0.2)
    return features.labelled_table(population.events, population.users)


def test_same_seed_same_events_other_seed_differs():
    a, b, c = (data.generate(200, seed=s) for s in (1, 1, 2))
    assert a.events.equals(b.events) and a.users.equals(b.users)
    assert not a.events.equals(c.events)


def test_events_are_valid_and_within_one_day():
    population = data.generate(300, seed=4, abuse_rate=0.5)
    events = features.check_events(population.events)
    assert set(events["kind"]) == set(data.KINDS)
    assert events["time"].between(0, data.DAY_SECONDS, inclusive="left").all()
    assert set(population.users[data.LABEL]) == {data.NORMAL, *data.ABUSE_TYPES}
    assert set(population.users["archetype"]) == set(data.ARCHETYPES)
    normal = population.users[data.LABEL] == data.NORMAL
    assert (population.users.loc[normal, ["intensity", "camouflage"]] == 0).all().all()


@pytest.mark.parametrize(("abuse", "feature", "higher"), [
    ("craft_macro", "crafts_per_minute", True), ("craft_macro", "craft_gap_cv", False),
    ("duplication", "quick_pickup_share", True), ("exchange", "trade_return", True),
    ("farming", "rewards_per_minute", True), ("farming", "reward_gap_cv", False),
])
def test_each_abuse_type_shows_in_its_features(table, abuse, feature, higher):
    normal = table.loc[table[data.LABEL] == data.NORMAL, feature].median()
    abusers = table.loc[table[data.LABEL] == abuse, feature].median()
    assert (abusers > 2 * normal) if higher else (abusers < 0.6 * normal), (abusers, normal)


def test_camouflage_hides_the_abuse():
    def farmers(camouflage: float):
        population = data.generate(600, seed=5, abuse_rate=0.3, camouflage=camouflage)
        table = features.labelled_table(population.events, population.users)
        return table.loc[table[data.LABEL] == "farming", ["rewards_per_minute", "reward_gap_cv"]].median()

    open_, hidden = farmers(0.0), farmers(0.9)
    assert hidden["rewards_per_minute"] < 0.8 * open_["rewards_per_minute"]   # fewer rewards
    assert hidden["reward_gap_cv"] > 2 * open_["reward_gap_cv"]               # on a less regular clock


def test_rejects_impossible_settings():
    with pytest.raises(ValueError, match="abuse_rate"):
        data.generate(10, abuse_rate=1.5)
    with pytest.raises(ValueError, match="unknown abuse type"):
        data.abuse_day(data.Day(np.random.default_rng(0)), "cheating", 1.0, 0.0)
