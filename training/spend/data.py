"""Synthetic game-economy population for the spend predictor (DOMAIN.md, section 1).

Each user has hidden traits (engagement, wealth, item taste). The 30-day history window
produces the published feature families; the next 30 days produce the target: top-up
amount, zero for most users, heavy-tailed for payers. Half the users are nudged: their
spend is the counterfactual plus a known, heterogeneous uplift, returned beside the table
so the nudge-effect estimate can be checked against the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

ID = "user_id"
TARGET = "spend_30d"
GROUP = "group"
CONTROL, NUDGED = "control", "nudged"

# The domain's population size and the default everywhere. On much smaller sets the hurdle
# model and the single Tweedie baseline are within noise of each other on RMSE, so the
# quality gate would pass or fail by chance.
DEFAULT_USERS = 750_000
N_ITEMS = 100  # the top 100 items of the cash shop
N_ITEM_GROUPS = 5  # PCA components the items are grouped by
N_TASTES = 4  # hidden item-taste archetypes (cosmetic, power, convenience, gacha)
PCA_SAMPLE = 20_000  # users the item PCA is fitted on
CHUNK = 100_000  # users per block when drawing the user x item matrix
SHOP_SEED = 2026


@dataclass(frozen=True)
class Population:
    frame: pd.DataFrame  # id, group, features, target
    uplift: np.ndarray  # injected nudge effect per user (0 for control)

    @property
    def injected_effect(self) -> float:
        """Average injected effect over the nudged users: the number to recover."""
        nudged = (self.frame[GROUP] == NUDGED).to_numpy()
        return float(self.uplift[nudged].mean())


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@cache
def shop_catalogue() -> dict[str, np.ndarray]:
    """The game's cash shop: the same items, prices and item groups for every population,
    so that a feature such as item_group_2_count means the same thing in every data set."""
    rng = np.random.default_rng(SHOP_SEED)
    popularity = 1.0 / np.arange(1, N_ITEMS + 1) ** 0.8  # Zipf-like: a few items dominate
    taste_affinity = rng.dirichlet(np.full(N_TASTES, 0.3), size=N_ITEMS)  # item -> taste mix
    price = np.round(rng.lognormal(np.log(3_000), 0.9, N_ITEMS), -2)
    shop = {
        "popularity": popularity,
        "affinity": taste_affinity,
        "price": price,
        "is_main": np.arange(N_ITEMS) < 5,  # the five best sellers
        "is_high_value": price >= np.quantile(price, 0.9),
    }
    return shop | {"groups": _item_groups(rng, shop)}


def _item_purchases(
    rng: np.random.Generator, counts: np.ndarray, taste: np.ndarray, shop: dict[str, np.ndarray]
):
    """Draw the user x item purchase matrix block by block and summarise it per user."""
    n = len(counts)
    totals = {k: np.zeros(n) for k in ("list_price", "main", "high_value")}
    group_counts = np.zeros((n, N_ITEM_GROUPS), dtype=np.int32)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        weights = (taste[start:stop] @ shop["affinity"].T) * shop["popularity"]
        weights /= weights.sum(axis=1, keepdims=True)
        block = rng.multinomial(counts[start:stop], weights).astype(np.int32)
        group_counts[start:stop] = block @ shop["groups"]
        totals["list_price"][start:stop] = block @ shop["price"]
        totals["main"][start:stop] = block[:, shop["is_main"]].sum(axis=1)
        totals["high_value"][start:stop] = block[:, shop["is_high_value"]].sum(axis=1)
    return group_counts, totals


def _item_groups(rng: np.random.Generator, shop: dict[str, np.ndarray]) -> np.ndarray:
    """One-hot item -> group: each item joins the PCA component it loads on most.

    The PCA runs on a reference sample of shoppers, so the grouping depends on the shop,
    not on how many users a population has."""
    taste = rng.dirichlet(np.full(N_TASTES, 0.5), size=PCA_SAMPLE)
    weights = (taste @ shop["affinity"].T) * shop["popularity"]
    matrix = rng.multinomial(rng.poisson(3.0, PCA_SAMPLE), weights / weights.sum(axis=1, keepdims=True))
    pca = PCA(n_components=N_ITEM_GROUPS, random_state=0).fit(np.log1p(matrix))
    group_of_item = np.abs(pca.components_).argmax(axis=0)
    return np.eye(N_ITEM_GROUPS, dtype=np.int32)[group_of_item]


def generate(n_users: int, seed: int = 0, nudged_share: float = 0.5) -> Population:
    """A seedable population of ``n_users`` with a control / nudged split."""
    if n_users < 1:
        raise ValueError("n_users must be at least 1")
    rng = np.random.default_rng(seed)
    n = n_users

    # Hidden traits.
    engagement = rng.normal(size=n)
    wealth = rng.normal(size=n)
    taste = rng.dirichlet(np.full(N_TASTES, 0.5), size=n)
    age = np.clip(np.round(14 + rng.gamma(3.0, 6.0, n)), 14, 70)
    gender = rng.choice(np.array(["male", "female", "unknown"]), size=n, p=[0.62, 0.33, 0.05])

    # Activity over the 30-day history window.
    active_days = rng.binomial(30, _sigmoid(0.9 * engagement + 0.4))
    login_count = active_days + rng.poisson(np.exp(0.8 + 0.5 * engagement)) * (active_days > 0)
    play_time_hours = np.round(active_days * rng.gamma(2.0, 0.6 * np.exp(0.3 * engagement)), 1)
    days_absent = 30 - active_days

    # Money in: top-ups (cash) and cash-shop purchases.
    pays_history = rng.random(n) < _sigmoid(-0.9 + 1.1 * wealth + 0.6 * engagement + 0.01 * (age - 30))
    topup_count = pays_history * rng.poisson(np.exp(0.3 + 0.5 * wealth + 0.3 * engagement)) + pays_history
    topup_amount = np.round(topup_count * rng.lognormal(np.log(9_000) + 0.5 * wealth, 0.7), -2)
    purchase_count = rng.poisson(0.3 + 0.8 * topup_count + 0.3 * np.clip(engagement, 0, None) * 3)
    shop_visit_count = rng.poisson(np.exp(0.9 + 0.5 * engagement + 0.4 * wealth)) + purchase_count
    shop_visit_days = np.minimum(np.minimum(shop_visit_count, active_days), 30)

    shop = shop_catalogue()
    group_counts, totals = _item_purchases(rng, purchase_count, taste, shop)
    discount = rng.uniform(0.7, 1.0, n)
    purchase_amount = np.round(totals["list_price"] * discount, -2)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_item_price = np.where(purchase_count > 0, totals["list_price"] / purchase_count, np.nan)
        avg_paid_price = np.where(purchase_count > 0, purchase_amount / purchase_count, np.nan)

    # The next 30 days, as if un-nudged: a payer hurdle, then a heavy-tailed amount.
    payer_logit = (
        -1.25
        + 1.6 * pays_history
        + 0.45 * np.log1p(topup_count)
        + 0.35 * np.log1p(shop_visit_days)
        - 0.06 * days_absent
        + 0.5 * wealth
        + 0.3 * taste[:, 3]  # gacha fans come back
    )
    will_pay = rng.random(n) < _sigmoid(payer_logit)
    amount_mu = (
        np.log(6_000)
        + 0.35 * np.log1p(topup_amount / 1_000)
        + 0.35 * wealth
        + 0.08 * np.log1p(totals["high_value"])
        + 0.5 * taste[:, 1]  # power-item buyers spend more per payment
    )
    amount = rng.lognormal(amount_mu, 0.85)
    counterfactual = np.where(will_pay, amount, 0.0)

    # The nudge: payers top up more, a few non-payers convert; both vary with the user.
    nudged = rng.random(n) < nudged_share
    boost = 0.08 + 0.22 * _sigmoid(0.8 * engagement + 0.5 * np.log1p(shop_visit_days) - 1.5)
    converts = ~will_pay & (rng.random(n) < 0.04 * _sigmoid(engagement + 1.0))
    conversion_amount = rng.lognormal(np.log(5_000), 0.5, n)
    uplift = nudged * (counterfactual * boost + converts * conversion_amount)
    spend = np.round(counterfactual + uplift, -1)
    uplift = spend - np.round(counterfactual, -1)  # exact, after rounding to the currency unit

    frame = pd.DataFrame(
        {
            ID: np.arange(1, n + 1),
            GROUP: np.where(nudged, NUDGED, CONTROL),
            "login_count": login_count,
            "play_time_hours": play_time_hours,
            "days_absent": days_absent,
            "purchase_count": purchase_count,
            "purchase_amount": purchase_amount,
            "topup_count": topup_count,
            "topup_amount": topup_amount,
            "gender": pd.Categorical(gender),
            "age": _with_missing(rng, age, 0.03),  # age is optional at sign-up
            **{f"item_group_{g + 1}_count": group_counts[:, g] for g in range(N_ITEM_GROUPS)},
            "avg_item_price": avg_item_price,
            "avg_paid_price": avg_paid_price,
            "main_item_purchased": (totals["main"] > 0).astype(np.int8),
            "main_item_count": totals["main"],
            "high_value_item_purchased": (totals["high_value"] > 0).astype(np.int8),
            "high_value_item_count": totals["high_value"],
            "shop_visit_count": shop_visit_count,
            "shop_visit_days": shop_visit_days,
            TARGET: spend,
        }
    )
    return Population(frame=frame, uplift=uplift)


def _with_missing(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    values = values.astype(float)
    values[rng.random(len(values)) < share] = np.nan
    return values
