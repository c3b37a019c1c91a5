import numpy as np
import pytest

from training.spend import data


@pytest.fixture(scope="module")
def pop():
    return data.generate(60_000, seed=11)


def test_same_seed_same_population_other_seed_differs():
    a, b, c = data.generate(2_000, seed=5), data.generate(2_000, seed=5), data.generate(2_000, seed=6)
    assert a.frame.equals(b.frame) and np.array_equal(a.uplift, b.uplift)
    assert not a.frame[data.TARGET].equals(c.frame[data.TARGET])


def test_zero_inflated_heavy_tailed_target(pop):
    spend = pop.frame[data.TARGET]
    assert 0.58 <= (spend == 0).mean() <= 0.64  # the published ~61% non-payers
    payers = spend[spend > 0]
    assert payers.quantile(0.99) > 8 * payers.median()  # a heavy right tail
    assert (spend >= 0).all()


def test_published_feature_families_are_present(pop):
    columns = set(pop.frame.columns)
    expected = {
        "login_count", "play_time_hours", "days_absent", "purchase_count", "purchase_amount",
        "topup_count", "topup_amount", "gender", "age", "avg_item_price", "avg_paid_price",
        "main_item_purchased", "main_item_count", "high_value_item_purchased", "high_value_item_count",
        "shop_visit_count", "shop_visit_days",
    } | {f"item_group_{g}_count" for g in range(1, data.N_ITEM_GROUPS + 1)}
    assert expected <= columns


def test_item_group_counts_partition_the_purchases(pop):
    groups = pop.frame[[f"item_group_{g}_count" for g in range(1, data.N_ITEM_GROUPS + 1)]].sum(axis=1)
    assert (groups == pop.frame["purchase_count"]).all()
    assert (pop.frame[[f"item_group_{g}_count" for g in range(1, 6)]].sum() > 0).all()  # every group is used


def test_missing_values_and_categories(pop):
    assert 0.01 < pop.frame["age"].isna().mean() < 0.05
    assert set(pop.frame["gender"].cat.categories) == {"male", "female", "unknown"}


def test_nudge_split_and_known_heterogeneous_effect(pop):
    frame = pop.frame
    nudged = (frame[data.GROUP] == data.NUDGED).to_numpy()
    assert 0.48 < nudged.mean() < 0.52
    assert (pop.uplift[~nudged] == 0).all()
    assert (pop.uplift[nudged] >= 0).all()
    assert pop.injected_effect > 1_000
    payers = nudged & (frame[data.TARGET].to_numpy() > 0)
    relative = pop.uplift[payers] / frame[data.TARGET].to_numpy()[payers]
    assert relative.std() > 0.02  # the effect varies between users


def test_tiny_population_works():
    assert len(data.generate(1, seed=0).frame) == 1
    with pytest.raises(ValueError):
        data.generate(0)
