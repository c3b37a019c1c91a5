"""Per-user, per-window behaviour features, from running aggregates of the event log.

Both paths go through the same two steps: events -> AGGREGATES (sums a store can keep per user and
window: counts, values, gains and the sums that give the regularity of each kind's timing) ->
`features`. Batch training folds a whole log with pandas (`aggregate`); the online store adds each
event's `increments` as it arrives (training/abuse/serving/online.py). Equal aggregates give equal
features, which tests check against a real Redis.
"""

from __future__ import annotations

import numpy as np

from training.abuse.serving.data import ACTIVITIES, DAY_SECONDS, EVENT_COLUMNS, ID, KINDS, LABEL
from training.common.lazy import lazy

pd = lazy("pandas")

WINDOW_SECONDS = DAY_SECONDS   # tumbling windows: a day of play is one row
TIMED = ("craft", "reward", "drop", "sale")  # kinds whose timing regularity is a feature (scripts are regular)
MAX_GAP_SECONDS = 300  # longer gaps are breaks between sessions, not the rhythm of play
QUICK_PICKUP_SECONDS = 60  # a pickup this soon after one's own drop: the duplication exploit's step
AGGREGATES = ([f"n_{k}" for k in KINDS] + [f"value_{k}" for k in KINDS] + [f"gain_{k}" for k in KINDS]
              + [f"{s}_{k}" for k in TIMED for s in ("gaps", "gapsum", "gapsq")] + ["quick_pickups"])
GAIN = "gain_total"
# What the reward model reads to judge a fair gain: time played, money paid and the mix of
# activities, none of which is the gain itself.
CONTEXT = ["play_minutes", "sessions", "payment_total", "payments"] + [f"share_{k}" for k in ACTIVITIES]
FEATURES = CONTEXT + [
    "craft_count", "drop_count", "pickup_count", "sale_count", "trade_count", "reward_count",
    "craft_gain", "sale_gain", "trade_gain", "reward_gain", GAIN, "trade_value", "drop_value", "pickup_value",
    "gain_per_minute", "crafts_per_minute", "rewards_per_minute", "pickups_per_drop", "quick_pickup_share", "trade_return",
] + [f"{k}_gap_cv" for k in TIMED]


class InputError(ValueError):
    """Bad input (an event or a feature row): `field` names the offending field."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field


def window_of(time: float | np.ndarray):
    return np.floor_divide(time, WINDOW_SECONDS).astype(int) if isinstance(time, np.ndarray) else int(time // WINDOW_SECONDS)


def check_events(events: pd.DataFrame) -> pd.DataFrame:
    """The log with typed columns, or InputError naming the first bad column."""
    for column in EVENT_COLUMNS:
        if column not in events.columns:
            raise InputError(column, "missing column")
    out = events[EVENT_COLUMNS].copy()
    out[ID] = out[ID].astype(str)
    for column in ("time", "value", "gain"):
        out[column] = pd.to_numeric(out[column], errors="coerce")
        if not np.isfinite(out[column].to_numpy(float)).all():
            raise InputError(column, "must be a finite number in every event")
    if (out["time"] < 0).any():
        raise InputError("time", "must be seconds since the epoch of the game, not negative")
    unknown = set(out["kind"]) - set(KINDS)
    if unknown:
        raise InputError("kind", f"unknown kinds {sorted(map(str, unknown))[:5]}; expected one of {', '.join(KINDS)}")
    return out


def aggregate(events: pd.DataFrame) -> pd.DataFrame:
    """AGGREGATES per (user, window) of a whole event log (indexed by ID and `window`)."""
    events = check_events(events).sort_values([ID, "time"], kind="stable")
    events["window"] = window_of(events["time"].to_numpy())
    keys = [ID, "window"]
    sums = events.groupby(keys + ["kind"]).agg(n=("time", "size"), value=("value", "sum"), gain=("gain", "sum")).unstack("kind")
    columns = {}
    for stat in ("n", "value", "gain"):
        for kind in KINDS:
            columns[f"{stat}_{kind}"] = sums[(stat, kind)] if (stat, kind) in sums.columns else 0.0
    out = pd.DataFrame(columns, index=sums.index).fillna(0.0)
    timed = events[events["kind"].isin(TIMED)].copy()
    timed["gap"] = timed.groupby(keys + ["kind"])["time"].diff()
    timed = timed[timed["gap"] <= MAX_GAP_SECONDS].assign(gapsq=lambda f: f["gap"] ** 2)
    gaps = timed.groupby(keys + ["kind"]).agg(gaps=("gap", "size"), gapsum=("gap", "sum"), gapsq=("gapsq", "sum")).unstack("kind")
    for stat in ("gaps", "gapsum", "gapsq"):
        for kind in TIMED:
            column = gaps[(stat, kind)] if (stat, kind) in gaps.columns else pd.Series(dtype=float)
            out[f"{stat}_{kind}"] = column.reindex(out.index).fillna(0.0)
    out["quick_pickups"] = quick_pickups(events).reindex(out.index).fillna(0.0)
    return out[AGGREGATES].astype(float)


def quick_pickups(events: pd.DataFrame) -> pd.Series:
    """Per (user, window), pickups within QUICK_PICKUP_SECONDS of the user's last drop before them."""
    drops = events.loc[events["kind"] == "drop", [ID, "window", "time"]].rename(columns={"time": "drop_time"})
    pickups = events.loc[events["kind"] == "pickup", [ID, "window", "time"]]
    paired = pd.merge_asof(pickups.sort_values("time"), drops.sort_values("drop_time"), left_on="time",
                           right_on="drop_time", by=[ID, "window"], allow_exact_matches=True)
    quick = (paired["time"] - paired["drop_time"]) <= QUICK_PICKUP_SECONDS
    return quick.groupby([paired[ID], paired["window"]]).sum().astype(float)


def increments(kind: str, value: float, gain: float, last: dict[str, float], time: float) -> dict[str, float]:
    """What one event adds to its window's AGGREGATES; `last` holds the time of the window's last
    event of each kind so far (the gap sums of TIMED kinds, quick pickups). Events of a user arrive
    in time order in the batch log; online, one that arrives late counts but adds no gap."""
    added = {f"n_{kind}": 1.0, f"value_{kind}": value, f"gain_{kind}": gain}
    gap = time - last[kind] if kind in last else None
    if kind in TIMED and gap is not None and 0 <= gap <= MAX_GAP_SECONDS:  # a late event adds no gap
        added |= {f"gaps_{kind}": 1.0, f"gapsum_{kind}": gap, f"gapsq_{kind}": gap * gap}
    if kind == "pickup" and "drop" in last and 0 <= time - last["drop"] <= QUICK_PICKUP_SECONDS:
        added["quick_pickups"] = 1.0
    return added


def gap_cv(count, total, squares):
    """Coefficient of variation of the gaps between events: ~1 for a person's Poisson-like play,
    near 0 for a script's clock; 1 (uninformative) with fewer than two gaps."""
    count, total, squares = (np.asarray(x, float) for x in (count, total, squares))
    enough = count >= 2
    mean = np.divide(total, count, out=np.ones_like(total), where=enough)
    variance = np.maximum(np.divide(squares, count, out=np.ones_like(total), where=enough) - mean ** 2, 0.0)
    return np.where(enough & (mean > 0), np.sqrt(variance) / np.where(mean > 0, mean, 1.0), 1.0)


def features(aggregates: pd.DataFrame) -> pd.DataFrame:
    """FEATURES from AGGREGATES, row by row (the same index)."""
    a = aggregates
    minutes = a["value_session"]
    activity = sum(a[f"n_{k}"] for k in ACTIVITIES)
    out = pd.DataFrame(index=a.index)
    out["play_minutes"], out["sessions"] = minutes, a["n_session"]
    out["payment_total"], out["payments"] = a["value_payment"], a["n_payment"]
    for kind in ACTIVITIES:
        out[f"share_{kind}"] = a[f"n_{kind}"] / (activity + 1)
    for kind in ACTIVITIES:
        out[f"{kind}_count"] = a[f"n_{kind}"]
    for kind in ("craft", "sale", "trade", "reward"):
        out[f"{kind}_gain"] = a[f"gain_{kind}"]
    out[GAIN] = sum(a[f"gain_{k}"] for k in KINDS)
    for kind in ("trade", "drop", "pickup"):
        out[f"{kind}_value"] = a[f"value_{kind}"]
    out["gain_per_minute"] = (out[GAIN] - a["gain_payment"]) / (minutes + 1)
    out["crafts_per_minute"] = a["n_craft"] / (minutes + 1)
    out["rewards_per_minute"] = a["n_reward"] / (minutes + 1)
    out["pickups_per_drop"] = a["n_pickup"] / (a["n_drop"] + 1)
    out["quick_pickup_share"] = a["quick_pickups"] / (a["n_pickup"] + 1)
    out["trade_return"] = a["gain_trade"] / (a["value_trade"] + 1)
    for kind in TIMED:
        out[f"{kind}_gap_cv"] = gap_cv(a[f"gaps_{kind}"], a[f"gapsum_{kind}"], a[f"gapsq_{kind}"])
    return out[FEATURES].astype(float)


def feature_table(events: pd.DataFrame) -> pd.DataFrame:
    """One row per user and window: ID, `window`, FEATURES."""
    return features(aggregate(events)).reset_index()


def labelled_table(events: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """The generated data set as `playserve data abuse` writes it: one row per user (a day is one
    window), ID, FEATURES and the truth column."""
    table = feature_table(events).drop(columns="window")
    return table.merge(users[[ID, LABEL]], on=ID, how="right").fillna(0.0)
